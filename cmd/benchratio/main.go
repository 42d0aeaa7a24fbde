// Command benchratio reads `go test -bench` output on stdin, echoes it, and
// prints, for every benchmark group with a "baseline" sub-benchmark, the
// ratio of each other sub-benchmark to the baseline measured in the same
// run (and records/s where one op is one record).
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
)

var line = regexp.MustCompile(`^(Benchmark[^\s/]+)/([^\s]+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*?\s([\d.]+) allocs/op)?`)

type result struct {
	ns, allocs float64
}

func main() {
	groups := map[string]map[string]result{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		text := sc.Text()
		fmt.Println(text)
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		allocs, _ := strconv.ParseFloat(m[4], 64)
		if groups[m[1]] == nil {
			groups[m[1]] = map[string]result{}
			order = append(order, m[1])
		}
		groups[m[1]][m[2]] = result{ns, allocs}
	}
	fmt.Println("\nratios against the baseline of the same run (lower is faster):")
	for _, g := range order {
		base, ok := groups[g]["baseline"]
		if !ok {
			continue
		}
		var names []string
		for n := range groups[g] {
			if n != "baseline" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			r := groups[g][n]
			fmt.Printf("  %-28s %10.1f ns/op  %6.0f allocs/op  %7.0f k ops/s  = %.2fx baseline (%.1f ns/op, %.0f k ops/s)\n",
				g+"/"+n, r.ns, r.allocs, 1e6/r.ns, r.ns/base.ns, base.ns, 1e6/base.ns)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}
