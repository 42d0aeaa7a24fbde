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

// FuzzInterpVsCompiled feeds fuzzed records through every pipeline of
// goldentest.FuzzConfig — random conditions, and every mask strategy on
// every field, alone, after a remove and under a `when` — interpreted and
// compiled, and requires the same keep/drop decision, the same error and
// the same after and before rows. Bits 5-7 of nulls remove a field (the
// absent marker) from the rows first.
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
	if len(interp) != len(compiled) || len(interp) != goldentest.FuzzPipelineCount {
		f.Fatalf("%d interpreted and %d compiled pipelines, want %d", len(interp), len(compiled), goldentest.FuzzPipelineCount)
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
		{"absent", 5, 2.5, true, "Z", 0b10100000},
		{"absent-null", -5, 0, false, "", 0b11100010},
	} {
		f.Add(seed.id, seed.value, seed.ratio, seed.active, seed.category, seed.nulls)
	}
	schema := interp[0].Source.(runtime.Schemaed).Schema()
	f.Fuzz(func(t *testing.T, id string, value int64, ratio float64, active bool, category string, nulls uint8) {
		row := goldentest.FuzzRow(id, value, ratio, active, category, nulls)
		if a := nulls >> 5; a != 0 {
			row[int(a)%len(row)] = runtime.Absent()
		}
		before := append([]runtime.Value(nil), row...)
		if len(before) > 0 {
			before[0] = runtime.String("old-" + id)
		}
		for i := range interp {
			a := runtime.Record{Schema: schema, After: append([]runtime.Value(nil), row...), Before: append([]runtime.Value(nil), before...)}
			b := runtime.Record{Schema: schema, After: append([]runtime.Value(nil), row...), Before: append([]runtime.Value(nil), before...)}
			ka, ea := interp[i].Program.Process(&a)
			kb, eb := compiled[i].Program.Process(&b)
			if ka != kb || fmt.Sprint(ea) != fmt.Sprint(eb) || rowText(a.After) != rowText(b.After) || rowText(a.Before) != rowText(b.Before) {
				t.Errorf("%s: interpreter keep=%v err=%v after=%s before=%s, compiled keep=%v err=%v after=%s before=%s on row %s",
					interp[i].Name, ka, ea, rowText(a.After), rowText(a.Before), kb, eb, rowText(b.After), rowText(b.Before), rowText(row))
			}
		}
	})
}

// rowText renders a row with each value's kind, so that an absent value
// and a null one differ.
func rowText(row []runtime.Value) string {
	var out []byte
	for _, v := range row {
		out = append(out, v.Kind().String()...)
		out = append(out, ':')
		out = runtime.AppendJSON(out, v)
		out = append(out, ' ')
	}
	return string(out)
}
