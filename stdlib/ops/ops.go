// Package ops implements the operators of filter and mask conditions on
// runtime values, with expr-lang's semantics: ints and floats compare and
// add across kinds, `/` always yields a float, `%` needs ints, strings order
// bytewise, and ordering or arithmetic on null is an error.
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
	return fmt.Errorf("invalid operation: %s %s %s", a.Kind(), op, b.Kind())
}

func numeric(v runtime.Value) bool {
	return v.Kind() == runtime.KindInt || v.Kind() == runtime.KindFloat
}

// Equal is ==: numbers compare by value across int and float, null equals
// only null, values of different kinds are unequal.
func Equal(a, b runtime.Value) bool { return a.Equal(b) }

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
	return runtime.Value{}, fmt.Errorf("invalid operation: -%s", a.Kind())
}

// Truth returns the boolean a must be (for !, &&, ||, and a condition's
// result).
func Truth(a runtime.Value) (bool, error) {
	if a.Kind() != runtime.KindBool {
		return false, fmt.Errorf("expected bool, got %s", a.Kind())
	}
	return a.AsBool(), nil
}

// StringOp implements contains, startsWith and endsWith; both sides must be
// strings.
func StringOp(op string, a, b runtime.Value) (bool, error) {
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

// Matches reports whether a, a string, matches re.
func Matches(a runtime.Value, re *regexp.Regexp) (bool, error) {
	if a.Kind() != runtime.KindString {
		return false, fmt.Errorf("invalid operation: %s matches string", a.Kind())
	}
	return re.MatchString(a.AsString()), nil
}

// In reports whether a equals any of set.
func In(a runtime.Value, set []runtime.Value) bool {
	for _, s := range set {
		if a.Equal(s) {
			return true
		}
	}
	return false
}

// Len is len(): runes of a string, elements of an array, keys of an object.
func Len(a runtime.Value) (runtime.Value, error) {
	switch a.Kind() {
	case runtime.KindString:
		return runtime.Int(int64(utf8.RuneCountInString(a.AsString()))), nil
	case runtime.KindArray:
		return runtime.Int(int64(len(a.AsArray()))), nil
	case runtime.KindObject:
		return runtime.Int(int64(len(a.AsObject().Keys))), nil
	}
	return runtime.Value{}, fmt.Errorf("invalid argument for len (type %s)", a.Kind())
}

// Member returns key of object a; null when a is null or lacks key.
func Member(a runtime.Value, key string) (runtime.Value, error) {
	switch a.Kind() {
	case runtime.KindObject:
		v, _ := a.AsObject().Get(key)
		if v.Kind() == runtime.KindAbsent {
			return runtime.Null(), nil
		}
		return v, nil
	case runtime.KindNull, runtime.KindAbsent:
		return runtime.Null(), nil
	}
	return runtime.Value{}, fmt.Errorf("cannot read .%s of %s", key, a.Kind())
}
