package ops_test

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/exprcond"
	"github.com/rivven/rivven-connect/stdlib/ops"
)

var (
	null   = runtime.Null()
	absent = runtime.Absent()
	nan    = runtime.Float(math.NaN())
	inf    = runtime.Float(math.Inf(1))
	tru    = runtime.Bool(true)
	fls    = runtime.Bool(false)
)

func i(n int64) runtime.Value   { return runtime.Int(n) }
func f(x float64) runtime.Value { return runtime.Float(x) }
func s(x string) runtime.Value  { return runtime.String(x) }
func arr(vs ...runtime.Value) runtime.Value {
	return runtime.ArrayValue(vs)
}

// obj builds an object from alternating keys and values.
func obj(kv ...any) runtime.Value {
	o := runtime.NewObject(len(kv) / 2)
	for j := 0; j < len(kv); j += 2 {
		o.Set(kv[j].(string), kv[j+1].(runtime.Value))
	}
	return runtime.ObjectValue(o)
}

func show(v runtime.Value) string {
	if v.Kind() == runtime.KindAbsent {
		return "<absent>"
	}
	return v.Kind().String() + " " + string(runtime.AppendJSON(nil, v))
}

// same reports whether two results are the same kind and value (NaN equal
// to NaN, -0 distinct from 0, so float results are checked bit for bit).
func same(a, b runtime.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	if a.Kind() == runtime.KindFloat {
		x, y := a.AsFloat(), b.AsFloat()
		return math.Float64bits(x) == math.Float64bits(y) || (math.IsNaN(x) && math.IsNaN(y))
	}
	return a.Equal(b)
}

func TestEqual(t *testing.T) {
	shared := obj("a", nan)
	tests := []struct {
		a, b runtime.Value
		want bool
	}{
		{i(1), i(1), true},
		{i(1), i(2), false},
		{i(1), f(1), true}, // across int and float
		{f(1), i(1), true},
		{i(math.MaxInt64), i(math.MaxInt64 - 1), false}, // not via float64
		{f(0.5), f(0.5), true},
		{f(0), f(math.Copysign(0, -1)), true},
		{nan, nan, false},
		{inf, inf, true},
		{s("a"), s("a"), true},
		{s("a"), s("A"), false},
		{s("1"), i(1), false}, // different kinds
		{tru, tru, true},
		{tru, fls, false},
		{tru, i(1), false},
		{null, null, true},
		{null, absent, true},
		{absent, absent, true},
		{null, i(0), false},
		{s(""), null, false},
		{fls, null, false},
		{arr(i(1), s("x")), arr(f(1), s("x")), true}, // arrays use ==
		{arr(i(1)), arr(i(1), i(2)), false},
		{arr(nan), arr(nan), false},
		{arr(), arr(), true},
		{arr(), obj(), false},
		{obj("a", i(1)), obj("a", i(1)), true},
		{obj("a", i(1), "b", s("x")), obj("b", s("x"), "a", i(1)), true}, // key order does not matter
		{obj("a", i(1)), obj("a", f(1)), false},                          // DeepEqual inside objects: kinds strict
		{obj("a", arr(i(1))), obj("a", arr(f(1))), false},
		{obj("a", nan), obj("a", nan), false}, // two objects with NaN
		{shared, shared, true},                // the same object, as expr's same map
		{obj("a", i(1), "b", absent), obj("a", i(1)), true},
		{obj("a", absent), obj("b", absent), true},
		{obj("a", null), obj(), false},
		{obj("a", null), obj("a", absent), false},
		{obj("a", null), obj("a", null), true},
		{obj("a", obj("b", i(2))), obj("a", obj("b", i(2))), true},
		{obj("a", obj("b", i(2))), obj("a", obj("b", i(3))), false},
		{obj(), null, false},
	}
	for _, tt := range tests {
		if got := ops.Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", show(tt.a), show(tt.b), got, tt.want)
		}
		if got := ops.Equal(tt.b, tt.a); got != tt.want {
			t.Errorf("Equal(%s, %s) = %v, want %v (not symmetric)", show(tt.b), show(tt.a), got, tt.want)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		op      string
		a, b    runtime.Value
		want    bool
		wantErr string
	}{
		{"<", i(1), i(2), true, ""},
		{"<=", i(2), i(2), true, ""},
		{">", i(2), i(2), false, ""},
		{">=", i(3), i(2), true, ""},
		{"<", i(math.MaxInt64 - 1), i(math.MaxInt64), true, ""}, // exact, not via float64
		{"<", i(1), f(1.5), true, ""},
		{">", f(2.5), i(2), true, ""},
		{">=", i(2), f(2), true, ""},
		{"<", nan, f(1), false, ""},
		{">=", nan, nan, false, ""},
		{"<=", i(1), nan, false, ""},
		{"<", f(math.Inf(-1)), i(math.MinInt64), true, ""},
		{"<", s("a"), s("b"), true, ""},
		{"<", s("B"), s("a"), true, ""}, // bytewise
		{">=", s("é"), s("z"), true, ""},
		{"<=", s(""), s(""), true, ""},
		{"<", null, i(1), false, "invalid operation: null < int"},
		{">", i(1), null, false, "invalid operation: int > null"},
		{">", absent, f(1), false, "invalid operation: null > float"},
		{"<", s("1"), i(2), false, "invalid operation: string < int"},
		{"<", tru, fls, false, "invalid operation: bool < bool"},
		{"<", arr(), arr(), false, "invalid operation: array < array"},
		{"<>", i(1), i(2), false, `unknown comparison "<>"`},
	}
	for _, tt := range tests {
		got, err := ops.Compare(tt.op, tt.a, tt.b)
		if !errIs(err, tt.wantErr) || got != tt.want {
			t.Errorf("Compare(%q, %s, %s) = %v, %v; want %v, %q", tt.op, show(tt.a), show(tt.b), got, err, tt.want, tt.wantErr)
		}
	}
}

func errIs(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && err.Error() == want
}

var point1, point2 = 0.1, 0.2 // variables: float64 arithmetic, not exact constants

func TestArith(t *testing.T) {
	tests := []struct {
		op      string
		a, b    runtime.Value
		want    runtime.Value
		wantErr string
	}{
		{"+", i(2), i(3), i(5), ""},
		{"-", i(2), i(3), i(-1), ""},
		{"*", i(4), i(3), i(12), ""},
		{"/", i(7), i(2), f(3.5), ""}, // int / int is a float
		{"/", i(6), i(3), f(2), ""},
		{"/", i(1), i(0), inf, ""},
		{"/", i(0), i(0), nan, ""},
		{"%", i(7), i(3), i(1), ""},
		{"%", i(-7), i(3), i(-1), ""}, // Go's truncated remainder
		{"%", i(math.MinInt64), i(-1), i(0), ""},
		{"%", i(7), i(0), null, "integer divide by zero"},
		{"+", i(math.MaxInt64), i(1), i(math.MinInt64), ""}, // wraps
		{"*", i(math.MaxInt64), i(2), i(-2), ""},
		{"+", i(1), f(0.5), f(1.5), ""}, // int and float mix into float
		{"-", f(0.5), i(1), f(-0.5), ""},
		{"*", f(2), i(3), f(6), ""},
		{"/", f(1), i(4), f(0.25), ""},
		{"+", f(0.1), f(0.2), f(point1 + point2), ""},
		{"+", nan, i(1), nan, ""},
		{"-", inf, inf, nan, ""},
		{"%", f(7), i(2), null, "invalid operation: float % int"},
		{"%", i(7), f(2), null, "invalid operation: int % float"},
		{"+", s("ab"), s("cd"), s("abcd"), ""},
		{"+", s("é"), s(""), s("é"), ""},
		{"-", s("ab"), s("b"), null, "invalid operation: string - string"},
		{"+", s("a"), i(1), null, "invalid operation: string + int"},
		{"+", null, i(1), null, "invalid operation: null + int"},
		{"*", f(1), null, null, "invalid operation: float * null"},
		{"+", absent, absent, null, "invalid operation: null + null"},
		{"+", tru, i(1), null, "invalid operation: bool + int"},
		{"**", i(2), i(3), null, `unknown operator "**"`},
		{"**", f(2), i(3), null, `unknown operator "**"`},
	}
	for _, tt := range tests {
		got, err := ops.Arith(tt.op, tt.a, tt.b)
		if !errIs(err, tt.wantErr) {
			t.Errorf("Arith(%q, %s, %s) error = %v, want %q", tt.op, show(tt.a), show(tt.b), err, tt.wantErr)
			continue
		}
		if err == nil && !same(got, tt.want) {
			t.Errorf("Arith(%q, %s, %s) = %s, want %s", tt.op, show(tt.a), show(tt.b), show(got), show(tt.want))
		}
	}
	if _, err := ops.Arith("%", i(1), i(0)); !errors.Is(err, ops.ErrDivideByZero) {
		t.Errorf("int %% 0: error %v is not ErrDivideByZero", err)
	}
}

func TestNegate(t *testing.T) {
	tests := []struct {
		a, want runtime.Value
		wantErr string
	}{
		{i(3), i(-3), ""},
		{i(math.MinInt64), i(math.MinInt64), ""}, // wraps
		{f(2.5), f(-2.5), ""},
		{f(0), f(math.Copysign(0, -1)), ""},
		{nan, nan, ""},
		{null, null, "invalid operation: -null"},
		{absent, null, "invalid operation: -null"},
		{s("1"), null, "invalid operation: -string"},
		{tru, null, "invalid operation: -bool"},
	}
	for _, tt := range tests {
		got, err := ops.Negate(tt.a)
		if !errIs(err, tt.wantErr) || (err == nil && !same(got, tt.want)) {
			t.Errorf("Negate(%s) = %s, %v; want %s, %q", show(tt.a), show(got), err, show(tt.want), tt.wantErr)
		}
	}
}

func TestTruth(t *testing.T) {
	for _, tt := range []struct {
		a       runtime.Value
		want    bool
		wantErr string
	}{
		{tru, true, ""},
		{fls, false, ""},
		{null, false, "expected bool, got null"},
		{absent, false, "expected bool, got null"},
		{i(1), false, "expected bool, got int"},
		{s("true"), false, "expected bool, got string"},
	} {
		got, err := ops.Truth(tt.a)
		if got != tt.want || !errIs(err, tt.wantErr) {
			t.Errorf("Truth(%s) = %v, %v; want %v, %q", show(tt.a), got, err, tt.want, tt.wantErr)
		}
	}
}

func TestStringOp(t *testing.T) {
	tests := []struct {
		op      string
		a, b    runtime.Value
		want    bool
		wantErr string
	}{
		{"contains", s("héllo"), s("él"), true, ""},
		{"contains", s("hello"), s(""), true, ""},
		{"contains", s(""), s("a"), false, ""},
		{"startsWith", s("héllo"), s("hé"), true, ""},
		{"startsWith", s("héllo"), s("é"), false, ""},
		{"endsWith", s("héllo"), s("lo"), true, ""},
		{"endsWith", s("a"), s("ba"), false, ""},
		// A null on either side is false, not an error, as in expr.
		{"contains", null, s("a"), false, ""},
		{"startsWith", s("a"), null, false, ""},
		{"endsWith", absent, absent, false, ""},
		{"contains", null, i(1), false, ""},
		{"contains", i(12), s("1"), false, "invalid operation: int contains string"},
		{"startsWith", s("a"), tru, false, "invalid operation: string startsWith bool"},
		{"endsWith", arr(s("a")), s("a"), false, "invalid operation: array endsWith string"},
		{"has", s("a"), s("a"), false, `unknown string operator "has"`},
		{"has", null, s("a"), false, `unknown string operator "has"`},
	}
	for _, tt := range tests {
		got, err := ops.StringOp(tt.op, tt.a, tt.b)
		if got != tt.want || !errIs(err, tt.wantErr) {
			t.Errorf("StringOp(%q, %s, %s) = %v, %v; want %v, %q", tt.op, show(tt.a), show(tt.b), got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMatches(t *testing.T) {
	re := regexp.MustCompile(`^h.llo$`)
	for _, tt := range []struct {
		a       runtime.Value
		want    bool
		wantErr string
	}{
		{s("hello"), true, ""},
		{s("héllo"), true, ""}, // . is a rune
		{s("hello!"), false, ""},
		{null, false, ""}, // null matches nothing, as in expr
		{absent, false, ""},
		{i(1), false, "invalid operation: int matches string"},
		{obj(), false, "invalid operation: object matches string"},
	} {
		got, err := ops.Matches(tt.a, re)
		if got != tt.want || !errIs(err, tt.wantErr) {
			t.Errorf("Matches(%s) = %v, %v; want %v, %q", show(tt.a), got, err, tt.want, tt.wantErr)
		}
	}
}

func TestIn(t *testing.T) {
	set := []runtime.Value{i(1), s("a"), null, f(2.5)}
	for _, tt := range []struct {
		a    runtime.Value
		set  []runtime.Value
		want bool
	}{
		{i(1), set, true},
		{f(1), set, true}, // numbers across kinds
		{i(2), set, false},
		{f(2.5), set, true},
		{s("a"), set, true},
		{s("b"), set, false},
		{null, set, true},
		{absent, set, true},
		{null, []runtime.Value{s("")}, false},
		{nan, []runtime.Value{nan}, false},
		{i(1), nil, false},
		{tru, []runtime.Value{i(1)}, false},
		{arr(i(1)), []runtime.Value{arr(f(1))}, true},
	} {
		if got := ops.In(tt.a, tt.set); got != tt.want {
			t.Errorf("In(%s, %d values) = %v, want %v", show(tt.a), len(tt.set), got, tt.want)
		}
	}
}

func TestLen(t *testing.T) {
	for _, tt := range []struct {
		a       runtime.Value
		want    int64
		wantErr string
	}{
		{s(""), 0, ""},
		{s("abc"), 3, ""},
		{s("héllo"), 5, ""}, // runes, as expr's len
		{s("日本"), 2, ""},
		{arr(), 0, ""},
		{arr(null, i(1)), 2, ""},
		{obj(), 0, ""},
		{obj("a", i(1), "b", null), 2, ""},
		{obj("a", i(1), "b", absent), 1, ""}, // a removed key does not count
		{null, 0, "invalid argument for len (type null)"},
		{absent, 0, "invalid argument for len (type null)"},
		{i(12), 0, "invalid argument for len (type int)"},
		{tru, 0, "invalid argument for len (type bool)"},
	} {
		got, err := ops.Len(tt.a)
		if !errIs(err, tt.wantErr) || (err == nil && !same(got, i(tt.want))) {
			t.Errorf("Len(%s) = %s, %v; want %d, %q", show(tt.a), show(got), err, tt.want, tt.wantErr)
		}
	}
}

func TestMember(t *testing.T) {
	o := obj("a", i(1), "gone", absent, "n", null, "o", obj("b", s("x")))
	for _, tt := range []struct {
		a       runtime.Value
		key     string
		want    runtime.Value
		wantErr string
	}{
		{o, "a", i(1), ""},
		{o, "missing", null, ""},
		{o, "gone", null, ""}, // removed: null, never the absent marker
		{o, "n", null, ""},
		{o, "o", obj("b", s("x")), ""},
		{null, "a", null, "cannot read .a of null"}, // as expr: no member of nil
		{absent, "a", null, "cannot read .a of null"},
		{s("abc"), "a", null, "cannot read .a of string"},
		{arr(i(1)), "a", null, "cannot read .a of array"},
		{i(1), "a", null, "cannot read .a of int"},
	} {
		got, err := ops.Member(tt.a, tt.key)
		if !errIs(err, tt.wantErr) || (err == nil && (!got.Equal(tt.want) || got.Kind() != tt.want.Kind())) {
			t.Errorf("Member(%s, %q) = %s, %v; want %s, %q", show(tt.a), tt.key, show(got), err, show(tt.want), tt.wantErr)
		}
	}
}

// TestAgainstExpr runs every binary operator of the package on every pair
// of a set of sample values and checks the result, and whether there is an
// error, against expr-lang's VM evaluating `a OP b` on the same values.
func TestAgainstExpr(t *testing.T) {
	vals := []runtime.Value{
		null, absent, tru, fls, i(0), i(1), i(-7), i(3), i(math.MaxInt64), f(0), f(1), f(2.5), f(-0.5),
		nan, inf, s(""), s("a"), s("héllo"), s("é"), arr(), arr(i(1), f(2)), arr(nan),
		obj(), obj("a", i(1)), obj("a", f(1)), obj("a", i(1), "x", absent), obj("a", nan),
	}
	type binop struct {
		op  string
		run func(a, b runtime.Value) (runtime.Value, error)
	}
	var binops []binop
	for _, op := range []string{"<", "<=", ">", ">="} {
		binops = append(binops, binop{op, func(a, b runtime.Value) (runtime.Value, error) {
			ok, err := ops.Compare(op, a, b)
			return runtime.Bool(ok), err
		}})
	}
	for _, op := range []string{"+", "-", "*", "/", "%"} {
		binops = append(binops, binop{op, func(a, b runtime.Value) (runtime.Value, error) { return ops.Arith(op, a, b) }})
	}
	for _, op := range []string{"contains", "startsWith", "endsWith"} {
		binops = append(binops, binop{op, func(a, b runtime.Value) (runtime.Value, error) {
			ok, err := ops.StringOp(op, a, b)
			return runtime.Bool(ok), err
		}})
	}
	binops = append(binops,
		binop{"==", func(a, b runtime.Value) (runtime.Value, error) { return runtime.Bool(ops.Equal(a, b)), nil }},
		binop{"!=", func(a, b runtime.Value) (runtime.Value, error) { return runtime.Bool(!ops.Equal(a, b)), nil }},
	)
	checked := 0
	for _, bo := range binops {
		prog, err := expr.Compile("a "+bo.op+" b", expr.Optimize(false))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range vals {
			for _, b := range vals {
				if a.Kind() == runtime.KindObject && a.AsObject() == b.AsObject() {
					// One object on both sides is one map to expr only
					// when both sides read the same field (x == x); here
					// they are two conversions. TestEqual covers it.
					continue
				}
				got, gotErr := bo.run(a, b)
				out, wantErr := expr.Run(prog, map[string]any{"a": exprcond.ToGo(a), "b": exprcond.ToGo(b)})
				checked++
				if (gotErr != nil) != (wantErr != nil) {
					t.Errorf("%s %s %s: ops error %v, expr error %v", show(a), bo.op, show(b), gotErr, wantErr)
					continue
				}
				if gotErr != nil {
					continue
				}
				if want := fromGo(out); !same(got, want) {
					t.Errorf("%s %s %s = %s, expr says %s", show(a), bo.op, show(b), show(got), show(want))
				}
			}
		}
	}
	// Unary operators and len.
	for _, a := range vals {
		for _, u := range []struct {
			code string
			run  func(runtime.Value) (runtime.Value, error)
		}{
			{"-a", ops.Negate},
			{"len(a)", ops.Len},
			{"a.k", func(v runtime.Value) (runtime.Value, error) { return ops.Member(v, "k") }},
			{"a.a", func(v runtime.Value) (runtime.Value, error) { return ops.Member(v, "a") }},
			{`a matches "^h"`, func(v runtime.Value) (runtime.Value, error) {
				ok, err := ops.Matches(v, regexp.MustCompile("^h"))
				return runtime.Bool(ok), err
			}},
			{`a in [1, "a", nil]`, func(v runtime.Value) (runtime.Value, error) {
				return runtime.Bool(ops.In(v, []runtime.Value{i(1), s("a"), null})), nil
			}},
		} {
			out, wantErr := expr.Eval(u.code, map[string]any{"a": exprcond.ToGo(a)})
			got, gotErr := u.run(a)
			checked++
			if (gotErr != nil) != (wantErr != nil) {
				t.Errorf("%s with a = %s: ops error %v, expr error %v", u.code, show(a), gotErr, wantErr)
				continue
			}
			if gotErr == nil && !same(got, fromGo(out)) {
				t.Errorf("%s with a = %s: ops %s, expr %s", u.code, show(a), show(got), show(fromGo(out)))
			}
		}
	}
	if checked < 4000 {
		t.Errorf("only %d cases checked", checked)
	}
}

// fromGo converts an expr result back to a Value.
func fromGo(x any) runtime.Value {
	switch x := x.(type) {
	case nil:
		return null
	case bool:
		return runtime.Bool(x)
	case int:
		return i(int64(x))
	case float64:
		return f(x)
	case string:
		return s(x)
	case []any:
		out := make([]runtime.Value, len(x))
		for j, e := range x {
			out[j] = fromGo(e)
		}
		return arr(out...)
	case map[string]any:
		o := runtime.NewObject(len(x))
		for k, v := range x {
			o.Set(k, fromGo(v))
		}
		return runtime.ObjectValue(o)
	}
	panic(fmt.Sprintf("fromGo: %T", x))
}

func TestMessagesNameKinds(t *testing.T) {
	_, err := ops.Arith("+", s("a"), obj())
	if err == nil || !strings.Contains(err.Error(), "string + object") {
		t.Errorf("Arith error %v does not name both kinds", err)
	}
}
