package runtime

import (
	"math"
	"strconv"
)

// Kind is the dynamic type of a Value.
type Kind uint8

// The kinds a Value can hold. KindAbsent marks a field that a transform
// removed: encoders skip it, conditions see it as null.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindObject
	KindArray
	KindAbsent
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "object", "array", "absent"}

// String returns the lower-case name of k ("int", "string", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one field value of a record. It is a small tagged union that is
// passed by value; scalars never allocate. The zero Value is null.
//
// A Value is immutable once built: transforms replace values, they never
// mutate the Object or slice a Value points to, so records may share them.
//
// A value parsed from JSON (ParseJSON) may also carry its exact JSON text
// (JSONText): the decimal text of a number that a float64 does not
// reproduce, the text of an object or array as written (key order,
// repeated keys, number spellings, string escapes), the literal of a
// string whose escapes AppendJSONString would write differently. The
// encoders write that text, so JSON passes through unchanged. A value
// built from such a value's parts (a mask replacing one field of an
// object) carries no text of its own; its unchanged parts keep theirs.
type Value struct {
	k Kind
	n uint64 // bool (0/1), int64 bits or float64 bits
	s string // string payload; the JSON text of a float, object or array
	x any    // *Object or []Value; the jsonLiteral of a string
}

// jsonLiteral is the JSON literal a string value was parsed from, kept in
// Value.x when AppendJSONString would not reproduce it.
type jsonLiteral string

// Null returns the null value.
func Null() Value { return Value{} }

// Absent returns the marker of a removed field.
func Absent() Value { return Value{k: KindAbsent} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{k: KindBool, n: 1}
	}
	return Value{k: KindBool}
}

// Int returns an integer value.
func Int(i int64) Value { return Value{k: KindInt, n: uint64(i)} }

// Float returns a floating-point value. NaN and infinities are allowed; the
// JSON encoder renders them as strings ("NaN", "Infinity", "-Infinity").
func Float(f float64) Value { return Value{k: KindFloat, n: math.Float64bits(f)} }

// String returns a string value.
func String(s string) Value { return Value{k: KindString, s: s} }

// ObjectValue wraps o. The Value shares o; o must not be mutated afterwards.
func ObjectValue(o *Object) Value {
	if o == nil {
		return Value{}
	}
	return Value{k: KindObject, x: o}
}

// ArrayValue wraps a. The Value shares a; a must not be mutated afterwards.
func ArrayValue(a []Value) Value { return Value{k: KindArray, x: a} }

// Kind reports the dynamic type of v.
func (v Value) Kind() Kind { return v.k }

// IsNull reports whether v is null or absent.
func (v Value) IsNull() bool { return v.k == KindNull || v.k == KindAbsent }

// AsBool returns the boolean payload; false for other kinds.
func (v Value) AsBool() bool { return v.k == KindBool && v.n != 0 }

// AsInt returns the integer payload; a float is truncated; 0 for other kinds.
func (v Value) AsInt() int64 {
	switch v.k {
	case KindInt:
		return int64(v.n)
	case KindFloat:
		return int64(math.Float64frombits(v.n))
	}
	return 0
}

// AsFloat returns the numeric payload as float64; 0 for non-numbers.
func (v Value) AsFloat() float64 {
	switch v.k {
	case KindFloat:
		return math.Float64frombits(v.n)
	case KindInt:
		return float64(int64(v.n))
	}
	return 0
}

// AsString returns the string payload; "" for other kinds.
func (v Value) AsString() string {
	if v.k != KindString {
		return ""
	}
	return v.s
}

// JSONText returns the exact JSON text v carries and true, or "" and false
// when v carries none and its JSON is what AppendJSON builds from its kind
// and payload. Only ParseJSON makes values that carry text: numbers whose
// text is not an int64 or the float64's shortest form
// ("123456789012345678901234567890.5", "1.0", "1E+2", "1e400"), objects
// and arrays (their compact text as written), and strings whose literal
// AppendJSONString would write differently ("\ud800", "\u00e9").
func (v Value) JSONText() (string, bool) {
	switch v.k {
	case KindFloat, KindObject, KindArray:
		return v.s, v.s != ""
	case KindString:
		if l, ok := v.x.(jsonLiteral); ok {
			return string(l), true
		}
	}
	return "", false
}

// AsObject returns the object payload, or nil.
func (v Value) AsObject() *Object {
	o, _ := v.x.(*Object)
	return o
}

// AsArray returns the array payload, or nil.
func (v Value) AsArray() []Value {
	a, _ := v.x.([]Value)
	return a
}

// Equal reports deep equality of the decoded values. Ints and floats
// compare numerically, by their float64 values; the JSON text a value
// carries (JSONText) is not compared, so a repeated key of a parsed object
// counts with its last value only.
func (v Value) Equal(w Value) bool {
	if v.IsNull() || w.IsNull() {
		return v.IsNull() && w.IsNull()
	}
	if v.k != w.k {
		if (v.k == KindInt || v.k == KindFloat) && (w.k == KindInt || w.k == KindFloat) {
			return v.AsFloat() == w.AsFloat()
		}
		return false
	}
	switch v.k {
	case KindBool, KindInt:
		return v.n == w.n
	case KindFloat:
		return v.AsFloat() == w.AsFloat()
	case KindString:
		return v.s == w.s
	case KindObject:
		a, b := v.AsObject(), w.AsObject()
		if len(a.Keys) != len(b.Keys) {
			return false
		}
		for i, k := range a.Keys {
			j := b.Index(k)
			if j < 0 || !a.Values[i].Equal(b.Values[j]) {
				return false
			}
		}
		return true
	case KindArray:
		a, b := v.AsArray(), w.AsArray()
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !a[i].Equal(b[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// Object is an ordered map of string keys to values. Keys and Values have
// the same length. Lookup is linear, which beats a map for the handful of
// keys a nested record field has.
type Object struct {
	Keys   []string
	Values []Value
}

// NewObject returns an empty object with room for n keys.
func NewObject(n int) *Object {
	return &Object{Keys: make([]string, 0, n), Values: make([]Value, 0, n)}
}

// Set appends key=v, or replaces the value if key exists. It returns o.
func (o *Object) Set(key string, v Value) *Object {
	if i := o.Index(key); i >= 0 {
		o.Values[i] = v
		return o
	}
	o.Keys = append(o.Keys, key)
	o.Values = append(o.Values, v)
	return o
}

// Index returns the position of key, or -1.
func (o *Object) Index(key string) int {
	if o == nil {
		return -1
	}
	for i, k := range o.Keys {
		if k == key {
			return i
		}
	}
	return -1
}

// Get returns the value of key and whether it is present.
func (o *Object) Get(key string) (Value, bool) {
	if i := o.Index(key); i >= 0 {
		return o.Values[i], true
	}
	return Value{}, false
}

// With returns a copy of o with key set to v; o is left unchanged.
func (o *Object) With(key string, v Value) *Object {
	c := &Object{Keys: append([]string(nil), o.Keys...), Values: append([]Value(nil), o.Values...)}
	return c.Set(key, v)
}
