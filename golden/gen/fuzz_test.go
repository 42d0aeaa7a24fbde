package gen_test

import (
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/golden/gen/fuzzconds"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
)

// FuzzInterpVsCompiled feeds fuzzed records through every random condition
// of goldentest.FuzzConfig, interpreted and compiled, and requires the same
// keep/drop decision and the same error.
func FuzzInterpVsCompiled(f *testing.F) {
	p, errs := compiler.Compile("fuzzconds.yaml", []byte(goldentest.FuzzConfig()), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	env := runtime.Env{Now: goldentest.Clock, Stdout: io.Discard, Stderr: io.Discard}
	interp, err := compiler.Interpret(p, env)
	if err != nil {
		f.Fatal(err)
	}
	compiled, err := fuzzconds.Spec.Build(env, func(string) (string, bool) { return "", false })
	if err != nil {
		f.Fatal(err)
	}
	if len(interp) != len(compiled) || len(interp) != goldentest.FuzzConditionCount {
		f.Fatalf("%d interpreted and %d compiled pipelines, want %d", len(interp), len(compiled), goldentest.FuzzConditionCount)
	}
	for _, seed := range []struct {
		id       string
		value    int64
		ratio    float64
		active   bool
		category string
		nulls    uint8
	}{
		{"0123456789abcdef", 500, 0.5, true, "A", 0},
		{"", 0, 0, false, "", 0},
		{"7", -1, math.Copysign(0, -1), true, "é", 0},
		{"ab", 999, math.NaN(), false, "B", 0},
		{"ff", 3, math.Inf(1), true, "C", 0b00010},
		{"x", 16, 1e300, false, "D", 0b11111},
		{"A", math.MaxInt64, -1e-9, true, "A", 0b00101},
	} {
		f.Add(seed.id, seed.value, seed.ratio, seed.active, seed.category, seed.nulls)
	}
	schema := interp[0].Source.(runtime.Schemaed).Schema()
	f.Fuzz(func(t *testing.T, id string, value int64, ratio float64, active bool, category string, nulls uint8) {
		row := goldentest.FuzzRow(id, value, ratio, active, category, nulls)
		for i := range interp {
			a := runtime.Record{Schema: schema, After: append([]runtime.Value(nil), row...)}
			b := runtime.Record{Schema: schema, After: append([]runtime.Value(nil), row...)}
			ka, ea := interp[i].Program.Process(&a)
			kb, eb := compiled[i].Program.Process(&b)
			if ka != kb || fmt.Sprint(ea) != fmt.Sprint(eb) {
				t.Errorf("%s (%s): interpreter keep=%v err=%v, compiled keep=%v err=%v on row %v",
					interp[i].Name, p.Pipelines[i].Stages[0].Cond.Source, ka, ea, kb, eb, row)
			}
		}
	})
}
