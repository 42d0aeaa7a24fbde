// Package ops implements the operators of filter and mask conditions on
// runtime values, with expr-lang's semantics: ints and floats compare and
// add across kinds, `/` always yields a float, `%` needs ints, strings order
// bytewise, ordering or arithmetic on null is an error, and so is reading a
// member of null; contains, startsWith, endsWith and matches are false on
// null.
//
// Both back ends call these functions (the interpreter through closures,
// generated code directly), so a condition means the same under both. All
// functions are pure and safe for concurrent use.
package ops

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
)

// ErrDivideByZero is returned by integer % and / by zero.
var ErrDivideByZero = errors.New("integer divide by zero")

func invalid(op string, a, b runtime.Value) error {
	return fmt.Errorf("invalid operation: %s %s %s", kind(a), op, kind(b))
}

// kind names v's kind for messages; a removed field reads as null.
func kind(v runtime.Value) runtime.Kind {
	if v.Kind() == runtime.KindAbsent {
		return runtime.KindNull
	}
	return v.Kind()
}

func numeric(v runtime.Value) bool {
	return v.Kind() == runtime.KindInt || v.Kind() == runtime.KindFloat
}

// Equal is ==, as expr-lang's VM computes it on the Go form of the values
// (see exprcond.ToGo): numbers compare by value across int and float (NaN
// equals nothing), null equals only null, values of different kinds are
// unequal, and arrays compare element by element with these rules.
//
// Objects compare as reflect.DeepEqual compares Go maps, which is what
// expr-lang does: the same object is equal to itself (even holding NaN);
// otherwise the keys must match (absent values do not count as keys) and the
// values be deeply equal, strictly by kind: inside an object, int 1 and float
// 1.0 differ and NaN differs from itself.
func Equal(a, b runtime.Value) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull()
	}
	switch {
	case a.Kind() == runtime.KindInt && b.Kind() == runtime.KindInt:
		return a.AsInt() == b.AsInt()
	case numeric(a) && numeric(b):
		return a.AsFloat() == b.AsFloat()
	case a.Kind() != b.Kind():
		return false
	}
	switch a.Kind() {
	case runtime.KindBool:
		return a.AsBool() == b.AsBool()
	case runtime.KindString:
		return a.AsString() == b.AsString()
	case runtime.KindArray:
		x, y := a.AsArray(), b.AsArray()
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case runtime.KindObject:
		if a.AsObject() == b.AsObject() {
			return true
		}
		return deepEqual(a, b)
	}
	return false
}

// deepEqual is reflect.DeepEqual on the Go forms of a and b. Both come from
// separate conversions, so no identity shortcut applies below the top.
func deepEqual(a, b runtime.Value) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull()
	}
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case runtime.KindBool:
		return a.AsBool() == b.AsBool()
	case runtime.KindInt:
		return a.AsInt() == b.AsInt()
	case runtime.KindFloat:
		return a.AsFloat() == b.AsFloat()
	case runtime.KindString:
		return a.AsString() == b.AsString()
	case runtime.KindArray:
		x, y := a.AsArray(), b.AsArray()
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case runtime.KindObject:
		x, y := a.AsObject(), b.AsObject()
		if presentKeys(x) != presentKeys(y) {
			return false
		}
		for i, k := range x.Keys {
			if x.Values[i].Kind() == runtime.KindAbsent {
				continue
			}
			w, ok := y.Get(k)
			if !ok || w.Kind() == runtime.KindAbsent || !deepEqual(x.Values[i], w) {
				return false
			}
		}
		return true
	}
	return false
}

// presentKeys counts the keys of o whose value is not absent.
func presentKeys(o *runtime.Object) int {
	n := 0
	for _, v := range o.Values {
		if v.Kind() != runtime.KindAbsent {
			n++
		}
	}
	return n
}

// Compare implements <, <=, > and >= (op is the operator text). Both sides
// must be numbers, or both strings.
func Compare(op string, a, b runtime.Value) (bool, error) {
	var c int
	switch {
	case a.Kind() == runtime.KindInt && b.Kind() == runtime.KindInt:
		x, y := a.AsInt(), b.AsInt()
		c = cmp(x < y, x > y)
	case numeric(a) && numeric(b):
		x, y := a.AsFloat(), b.AsFloat()
		if x != x || y != y { // NaN: every ordering is false
			return false, nil
		}
		c = cmp(x < y, x > y)
	case a.Kind() == runtime.KindString && b.Kind() == runtime.KindString:
		c = strings.Compare(a.AsString(), b.AsString())
	default:
		return false, invalid(op, a, b)
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown comparison %q", op)
}

func cmp(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

// Arith implements + - * / % (op is the operator text). + also
// concatenates strings. Int arithmetic wraps like Go's; / of two ints is a
// float division, as in expr-lang.
func Arith(op string, a, b runtime.Value) (runtime.Value, error) {
	if op == "+" && a.Kind() == runtime.KindString && b.Kind() == runtime.KindString {
		return runtime.String(a.AsString() + b.AsString()), nil
	}
	if !numeric(a) || !numeric(b) {
		return runtime.Value{}, invalid(op, a, b)
	}
	if a.Kind() == runtime.KindInt && b.Kind() == runtime.KindInt {
		x, y := a.AsInt(), b.AsInt()
		switch op {
		case "+":
			return runtime.Int(x + y), nil
		case "-":
			return runtime.Int(x - y), nil
		case "*":
			return runtime.Int(x * y), nil
		case "/":
			return runtime.Float(float64(x) / float64(y)), nil
		case "%":
			if y == 0 {
				return runtime.Value{}, ErrDivideByZero
			}
			return runtime.Int(x % y), nil
		}
	}
	x, y := a.AsFloat(), b.AsFloat()
	switch op {
	case "+":
		return runtime.Float(x + y), nil
	case "-":
		return runtime.Float(x - y), nil
	case "*":
		return runtime.Float(x * y), nil
	case "/":
		return runtime.Float(x / y), nil
	case "%":
		return runtime.Value{}, invalid(op, a, b)
	}
	return runtime.Value{}, fmt.Errorf("unknown operator %q", op)
}

// Negate implements unary minus.
func Negate(a runtime.Value) (runtime.Value, error) {
	switch a.Kind() {
	case runtime.KindInt:
		return runtime.Int(-a.AsInt()), nil
	case runtime.KindFloat:
		return runtime.Float(-a.AsFloat()), nil
	}
	return runtime.Value{}, fmt.Errorf("invalid operation: -%s", kind(a))
}

// Truth returns the boolean a must be (for !, &&, ||, and a condition's
// result).
func Truth(a runtime.Value) (bool, error) {
	if a.Kind() != runtime.KindBool {
		return false, fmt.Errorf("expected bool, got %s", kind(a))
	}
	return a.AsBool(), nil
}

// StringOp implements contains, startsWith and endsWith. As in expr-lang, a
// null on either side makes the result false; otherwise both sides must be
// strings.
func StringOp(op string, a, b runtime.Value) (bool, error) {
	if a.IsNull() || b.IsNull() {
		switch op {
		case "contains", "startsWith", "endsWith":
			return false, nil
		}
		return false, fmt.Errorf("unknown string operator %q", op)
	}
	if a.Kind() != runtime.KindString || b.Kind() != runtime.KindString {
		return false, invalid(op, a, b)
	}
	switch op {
	case "contains":
		return strings.Contains(a.AsString(), b.AsString()), nil
	case "startsWith":
		return strings.HasPrefix(a.AsString(), b.AsString()), nil
	case "endsWith":
		return strings.HasSuffix(a.AsString(), b.AsString()), nil
	}
	return false, fmt.Errorf("unknown string operator %q", op)
}

// Matches reports whether a, a string, matches re. As in expr-lang, null
// matches nothing.
func Matches(a runtime.Value, re *regexp.Regexp) (bool, error) {
	if a.IsNull() {
		return false, nil
	}
	if a.Kind() != runtime.KindString {
		return false, fmt.Errorf("invalid operation: %s matches string", kind(a))
	}
	return re.MatchString(a.AsString()), nil
}

// In reports whether a equals (per Equal) any of set.
func In(a runtime.Value, set []runtime.Value) bool {
	for _, s := range set {
		if Equal(a, s) {
			return true
		}
	}
	return false
}

// Len is len(): runes of a string, elements of an array, keys of an object
// (keys whose value a transform removed do not count).
func Len(a runtime.Value) (runtime.Value, error) {
	switch a.Kind() {
	case runtime.KindString:
		return runtime.Int(int64(utf8.RuneCountInString(a.AsString()))), nil
	case runtime.KindArray:
		return runtime.Int(int64(len(a.AsArray()))), nil
	case runtime.KindObject:
		return runtime.Int(int64(presentKeys(a.AsObject()))), nil
	}
	return runtime.Value{}, fmt.Errorf("invalid argument for len (type %s)", kind(a))
}

// Member returns key of object a (a.key); null when a lacks key or its value
// was removed. As in expr-lang, reading a member of null is an error (only
// the optional chaining a?.key, which the condition compiler does not lower,
// yields null there).
func Member(a runtime.Value, key string) (runtime.Value, error) {
	if a.Kind() == runtime.KindObject {
		v, _ := a.AsObject().Get(key)
		if v.Kind() == runtime.KindAbsent {
			return runtime.Null(), nil
		}
		return v, nil
	}
	return runtime.Value{}, fmt.Errorf("cannot read .%s of %s", key, kind(a))
}
