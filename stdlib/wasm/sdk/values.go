package sdk

import "github.com/rivven/rivven-connect/stdlib/wasm/abi"

// String is a string value.
func String(s string) Value { return Value{Kind: abi.KindString, Str: s} }

// Int is an integer value.
func Int(i int64) Value { return Value{Kind: abi.KindInt, Int: i} }

// Float is a floating-point value.
func Float(f float64) Value { return Value{Kind: abi.KindFloat, Float: f} }

// Bool is a boolean value.
func Bool(b bool) Value { return Value{Kind: abi.KindBool, Bool: b} }

// Null is the null value.
func Null() Value { return Value{} }

// Object is an object value with members in order.
func Object(members ...Member) Value {
	if members == nil {
		members = []Member{}
	}
	return Value{Kind: abi.KindObject, Obj: members}
}

// Array is an array value.
func Array(elems ...Value) Value {
	if elems == nil {
		elems = []Value{}
	}
	return Value{Kind: abi.KindArray, Arr: elems}
}

// Field is a member: a field's name and value, for SourceRecord rows and
// Object.
func Field(name string, v Value) Member { return Member{Key: name, Value: v} }
