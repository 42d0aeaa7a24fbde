// Command benchratio reads `go test -bench` output on stdin, echoes it, and
// prints, for every benchmark group with a "baseline" sub-benchmark, the
// ratio of each other sub-benchmark to the baseline measured in the same
// run (and records/s where one op is one record).
//
// A group is a benchmark name without its last element: the results of
// BenchmarkX/baseline and BenchmarkX/fast compare with each other, those of
// BenchmarkY/contended/baseline and BenchmarkY/contended/fast too. When a
// benchmark ran more than once (-count), its k-th result compares with the
// k-th result of its baseline (measured just before it) and the median
// ratio is printed with the spread. When the results report cpu-ns/op or
// cpu-ns/row (the CPU time of the process doing the work), it is printed
// for both sides.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var line = regexp.MustCompile(`^(Benchmark\S*?)/([^\s/]+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

// metric is one "value unit" pair after ns/op.
var metric = regexp.MustCompile(`([\d.]+) (\S+)`)

type result struct {
	ns, allocs, cpu float64 // cpu: ns of CPU per op; -1 when not reported
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	groups := map[string]map[string][]result{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		text := sc.Text()
		fmt.Fprintln(out, text)
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		r := result{cpu: -1}
		r.ns, _ = strconv.ParseFloat(m[3], 64)
		for _, mm := range metric.FindAllStringSubmatch(m[4], -1) {
			v, _ := strconv.ParseFloat(mm[1], 64)
			switch mm[2] {
			case "allocs/op":
				r.allocs = v
			case "cpu-ns/op", "cpu-ns/row":
				r.cpu = v
			}
		}
		if groups[m[1]] == nil {
			groups[m[1]] = map[string][]result{}
			order = append(order, m[1])
		}
		groups[m[1]][m[2]] = append(groups[m[1]][m[2]], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nratios against the baseline of the same run (lower is faster):")
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
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintln(out, compare(g+"/"+n, groups[g][n], base))
		}
	}
	return nil
}

// compare words the results runs of one benchmark against those of its
// baseline: the median run (by ratio), and the spread of the ratios when
// there were several.
func compare(name string, runs, base []result) string {
	type pair struct {
		r, b  result
		ratio float64
	}
	var ps []pair
	for i, r := range runs {
		b := base[min(i, len(base)-1)]
		ps = append(ps, pair{r, b, r.ns / b.ns})
	}
	slices.SortStableFunc(ps, func(x, y pair) int {
		switch {
		case x.ratio < y.ratio:
			return -1
		case x.ratio > y.ratio:
			return 1
		}
		return 0
	})
	med := ps[len(ps)/2]
	var sb strings.Builder
	fmt.Fprintf(&sb, "  %-36s %10.1f ns/op  %6.0f allocs/op  %7.0f k ops/s  = %.2fx baseline (%.1f ns/op, %.0f k ops/s)",
		name, med.r.ns, med.r.allocs, 1e6/med.r.ns, med.ratio, med.b.ns, 1e6/med.b.ns)
	fmt.Fprintf(&sb, ", %.0f%% of its throughput", 100/med.ratio)
	if len(ps) > 1 {
		fmt.Fprintf(&sb, " [median of %d runs; %.0f%%–%.0f%%]", len(ps), 100/ps[len(ps)-1].ratio, 100/ps[0].ratio)
	}
	if med.r.cpu >= 0 && med.b.cpu >= 0 {
		fmt.Fprintf(&sb, "; CPU/op %.0f ns vs %.0f ns", med.r.cpu, med.b.cpu)
	}
	return sb.String()
}
