package main

import (
	"strings"
	"testing"
)

func TestRatiosPerGroupAndRun(t *testing.T) {
	in := `goos: linux
BenchmarkInterp/baseline-2   1000   100.0 ns/op   10 B/op   2 allocs/op
BenchmarkInterp/fused-2      1000    50.0 ns/op   10 B/op   1 allocs/op
BenchmarkDrain/idle/baseline-2      100   1000 ns/op   500 cpu-ns/row   1000000 rows/s
BenchmarkDrain/idle/rivven-2        100    800 ns/op   300 cpu-ns/row   1250000 rows/s
BenchmarkDrain/contended/baseline-2 100   1000 ns/op   400 cpu-ns/row
BenchmarkDrain/contended/rivven-2   100   2000 ns/op   900 cpu-ns/row
BenchmarkDrain/idle/baseline-2      100   2000 ns/op   500 cpu-ns/row
BenchmarkDrain/idle/rivven-2        100   1000 ns/op   250 cpu-ns/row
BenchmarkDrain/contended/baseline-2 100   1000 ns/op   400 cpu-ns/row
BenchmarkDrain/contended/rivven-2   100   1000 ns/op   450 cpu-ns/row
BenchmarkDrain/idle/baseline-2      100   1000 ns/op   500 cpu-ns/row
BenchmarkDrain/idle/rivven-2        100   1250 ns/op   350 cpu-ns/row
BenchmarkDrain/contended/baseline-2 100   1000 ns/op   400 cpu-ns/row
BenchmarkDrain/contended/rivven-2   100   1100 ns/op   440 cpu-ns/row
PASS
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.HasPrefix(got, in) {
		t.Errorf("the input is not echoed first:\n%s", got)
	}
	for _, want := range []string{
		"BenchmarkInterp/fused ", "= 0.50x baseline (100.0 ns/op, 10000 k ops/s), 200% of its throughput\n",
		// The k-th run compares with the k-th baseline: ratios 0.8, 0.5,
		// 1.25; the median is 0.8.
		"BenchmarkDrain/idle/rivven ", "= 0.80x baseline (1000.0 ns/op, 1000 k ops/s), 125% of its throughput [median of 3 runs; 80%–200%]; CPU/op 300 ns vs 500 ns\n",
		"BenchmarkDrain/contended/rivven ", "= 1.10x baseline (1000.0 ns/op, 1000 k ops/s), 91% of its throughput [median of 3 runs; 50%–100%]; CPU/op 440 ns vs 400 ns\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "BenchmarkDrain/idle/baseline ") || strings.Contains(got, "BenchmarkDrain/rivven") {
		t.Errorf("a baseline is compared with itself, or groups are mixed:\n%s", got)
	}
}
