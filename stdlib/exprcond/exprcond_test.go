package exprcond_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/exprcond"
)

func obj(kv ...any) runtime.Value {
	o := runtime.NewObject(len(kv) / 2)
	for j := 0; j < len(kv); j += 2 {
		o.Set(kv[j].(string), kv[j+1].(runtime.Value))
	}
	return runtime.ObjectValue(o)
}

func TestToGo(t *testing.T) {
	nested := obj("a", runtime.Int(1), "gone", runtime.Absent(), "o", obj("b", runtime.String("x")),
		"arr", runtime.ArrayValue([]runtime.Value{runtime.Null(), runtime.Absent(), runtime.Float(1.5)}))
	tests := []struct {
		v    runtime.Value
		want any
	}{
		{runtime.Null(), nil},
		{runtime.Absent(), nil},
		{runtime.Bool(true), true},
		{runtime.Int(-3), -3}, // int, not int64: expr's arithmetic is on int
		{runtime.Int(math.MaxInt64), math.MaxInt64},
		{runtime.Float(2.5), 2.5},
		{runtime.String("héllo"), "héllo"},
		{runtime.ArrayValue(nil), []any{}},
		{runtime.ArrayValue([]runtime.Value{runtime.Int(1), runtime.String("a")}), []any{1, "a"}},
		{obj(), map[string]any{}},
		{nested, map[string]any{ // removed keys are left out; in arrays they are nil
			"a":   1,
			"o":   map[string]any{"b": "x"},
			"arr": []any{nil, nil, 1.5},
		}},
	}
	for _, tt := range tests {
		got := exprcond.ToGo(tt.v)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ToGo(%s) = %#v, want %#v", runtime.AppendJSON(nil, tt.v), got, tt.want)
		}
	}
	if _, ok := exprcond.ToGo(runtime.Int(1)).(int); !ok {
		t.Errorf("ToGo(int) is %T, want int", exprcond.ToGo(runtime.Int(1)))
	}
	if f := exprcond.ToGo(runtime.Float(math.NaN())).(float64); !math.IsNaN(f) {
		t.Errorf("ToGo(NaN) = %v", f)
	}
}

func TestEval(t *testing.T) {
	// Fields are read by their schema index; the condition sees only
	// those it names.
	fields := []exprcond.Field{{Name: "status", Index: 0}, {Name: "meta", Index: 2}, {Name: "n", Index: 3}}
	row := func(status string, meta runtime.Value, n runtime.Value) []runtime.Value {
		return []runtime.Value{runtime.String(status), runtime.String("ignored"), meta, n}
	}
	meta := obj("region", runtime.String("eu-west"), "tier", runtime.Int(2),
		"tags", runtime.ArrayValue([]runtime.Value{runtime.String("a"), runtime.String("b")}),
		"deep", obj("x", obj("y", runtime.Float(1.5))), "gone", runtime.Absent())
	tests := []struct {
		src     string
		row     []runtime.Value
		want    bool
		wantErr string
	}{
		{`upper(status) == "NEW"`, row("new", meta, runtime.Int(1)), true, ""},
		{`meta.region startsWith "eu" && meta.tier > 1`, row("x", meta, runtime.Int(1)), true, ""},
		{`meta.deep.x.y == 1.5`, row("x", meta, runtime.Int(1)), true, ""},
		{`"b" in meta.tags`, row("x", meta, runtime.Int(1)), true, ""},
		{`len(meta) == 4`, row("x", meta, runtime.Int(1)), true, ""}, // the removed key is not there
		{`meta.gone == nil`, row("x", meta, runtime.Int(1)), true, ""},
		{`meta?.region == nil`, row("x", runtime.Null(), runtime.Int(1)), true, ""},
		{`meta.region == nil`, row("x", runtime.Null(), runtime.Int(1)), false, "cannot fetch region from <nil>"},
		{`n > 0`, row("x", meta, runtime.Null()), false, "invalid operation"},
		{`n + 0.5 == 1.5`, row("x", meta, runtime.Int(1)), true, ""}, // int and float mix
		{`n / 2 == 0.5`, row("x", meta, runtime.Int(1)), true, ""},
		{`n % 0 == 0`, row("x", meta, runtime.Int(1)), false, "integer divide by zero"},
		{`n`, row("x", meta, runtime.Null()), false, ""}, // the final cast makes nil false
		{`n`, row("x", meta, runtime.Int(1)), false, "bool(int)"},
		{`meta`, row("x", meta, runtime.Int(1)), false, "bool(map"},
		{`n in ["", "a"]`, row("x", meta, runtime.Null()), false, ""},                 // see TestNoOptimizer
		{`n in ["", "a"]`, row("x", meta, runtime.Int(1)), false, ""},                 // idem
		{`n > 1 || true`, row("x", meta, runtime.Null()), false, "invalid operation"}, // idem
	}
	for _, tt := range tests {
		p, err := exprcond.Compile(tt.src, fields)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.src, err)
		}
		for range 2 { // a Program is reused record after record
			got, err := p.Eval(tt.row)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Eval(%q) = %v, %v; want an error containing %q", tt.src, got, err, tt.wantErr)
				}
				continue
			}
			if err != nil || got != tt.want {
				t.Errorf("Eval(%q) = %v, %v; want %v", tt.src, got, err, tt.want)
			}
		}
	}
}

// TestEvalReusesEnvironment checks that a value from one record never leaks
// into the next.
func TestEvalReusesEnvironment(t *testing.T) {
	p, err := exprcond.Compile(`x == nil`, []exprcond.Field{{Name: "x", Index: 0}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		v    runtime.Value
		want bool
	}{{runtime.Int(1), false}, {runtime.Null(), true}, {runtime.String("a"), false}, {runtime.Absent(), true}} {
		got, err := p.Eval([]runtime.Value{tt.v})
		if err != nil || got != tt.want {
			t.Errorf("x = %s: Eval = %v, %v; want %v", runtime.AppendJSON(nil, tt.v), got, err, tt.want)
		}
	}
}

func TestCompileError(t *testing.T) {
	_, err := exprcond.Compile(`x >`, nil)
	if err == nil || !strings.Contains(err.Error(), `condition "x >"`) {
		t.Errorf("Compile error %v does not quote the condition", err)
	}
	if _, err := exprcond.Compile(`1 + 1`, nil); err == nil {
		t.Errorf("Compile accepted a condition whose result is an int")
	}
}

// TestNoOptimizer is the regression test for running fallback conditions
// with expr's optimizer on: its set lookup for `in` a list of strings found
// "" for a null (and failed for an int), and its folding of `|| true` hid
// the error of the left operand, where the same condition lowered (and expr
// without the optimizer) says false, false and error.
func TestNoOptimizer(t *testing.T) {
	for _, tt := range []struct {
		src string
		x   any
	}{
		{`x in ["", "a"]`, nil},
		{`x in ["", "a"]`, 1},
		{`x > 1 || true`, nil},
	} {
		optimized, err := expr.Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		out, err := expr.Run(optimized, map[string]any{"x": tt.x})
		t.Logf("optimized expr on %q with x = %v: %v, %v (the quirk)", tt.src, tt.x, out, err)
		if out == false && err == nil {
			t.Logf("expr's optimizer no longer changes %q; TestNoOptimizer may be retired", tt.src)
		}
		p, err := exprcond.Compile(tt.src, []exprcond.Field{{Name: "x", Index: 0}})
		if err != nil {
			t.Fatal(err)
		}
		var v runtime.Value
		switch x := tt.x.(type) {
		case int:
			v = runtime.Int(int64(x))
		}
		got, err := p.Eval([]runtime.Value{v})
		wantErr := strings.Contains(tt.src, ">")
		if got || (err != nil) != wantErr {
			t.Errorf("exprcond on %q with x = %v: %v, %v; want false and error=%v", tt.src, tt.x, got, err, wantErr)
		}
	}
}
