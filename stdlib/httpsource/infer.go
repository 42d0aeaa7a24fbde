package httpsource

import (
	"github.com/rivven/rivven-connect/runtime"
)

// schemas hands out the run-time schemas of records without a declared
// schema, as the broker source does for JSON messages: each distinct list
// of field names gets one shared *runtime.Schema whose fields are nullable
// and of type any (conditions and masks find them by name).
type schemas struct {
	last *runtime.Schema
	list []*runtime.Schema
}

// maxSchemas bounds the cache: a stream whose shape keeps changing does not
// grow it forever.
const maxSchemas = 64

func (c *schemas) of(keys []string) *runtime.Schema {
	if c.last != nil && sameNames(c.last, keys) {
		return c.last
	}
	for _, s := range c.list {
		if sameNames(s, keys) {
			c.last = s
			return s
		}
	}
	fields := make([]runtime.Field, len(keys))
	for i, k := range keys {
		fields[i] = runtime.Field{Name: k, Type: runtime.Any, Nullable: true}
	}
	s := runtime.NewSchema(fields...)
	if len(c.list) < maxSchemas {
		c.list = append(c.list, s)
	}
	c.last = s
	return s
}

func sameNames(s *runtime.Schema, keys []string) bool {
	if len(s.Fields) != len(keys) {
		return false
	}
	for i, k := range keys {
		if s.Fields[i].Name != k {
			return false
		}
	}
	return true
}

// valueRow is the row of a record that is not a JSON object.
func valueRow(v runtime.Value) *runtime.Object {
	return &runtime.Object{Keys: []string{"value"}, Values: []runtime.Value{v}}
}

// rowObject is the object a records-array element stands for: the element
// itself, or {"value": element} for any other JSON value.
func rowObject(v runtime.Value) *runtime.Object {
	if o := v.AsObject(); o != nil {
		return o
	}
	return valueRow(v)
}

// inferSchema returns the schema of a sample of records (discover): every
// field any of them has, in order of first appearance, nullable, typed by
// the values it holds (see merge); a field that is null in every record is
// of type any.
func inferSchema(items []runtime.Value) *runtime.Schema {
	var names []string
	types := map[string]runtime.Type{}
	for _, it := range items {
		o := rowObject(it)
		for i, k := range o.Keys {
			t, seen := types[k]
			if !seen {
				names = append(names, k)
				t = unknown
			}
			types[k] = merge(t, typeOf(o.Values[i], 0))
		}
	}
	fields := make([]runtime.Field, len(names))
	for i, n := range names {
		fields[i] = runtime.Field{Name: n, Type: settle(types[n]), Nullable: true}
	}
	return runtime.NewSchema(fields...)
}

// unknown is the type of a value seen only as null so far (inference
// only: settle turns what remains of it into any).
var unknown = runtime.Type{Kind: runtime.KindAbsent}

// maxInferDepth bounds how deep inferSchema types nested values; deeper
// ones are any.
const maxInferDepth = 8

// typeOf is the type of one value (unknown for null). Objects are open
// (another record may carry more keys) with nullable fields.
func typeOf(v runtime.Value, depth int) runtime.Type {
	switch v.Kind() {
	case runtime.KindBool, runtime.KindInt, runtime.KindFloat, runtime.KindString:
		return runtime.Type{Kind: v.Kind()}
	case runtime.KindArray:
		if depth >= maxInferDepth {
			return runtime.Any
		}
		elem := unknown
		for _, e := range v.AsArray() {
			elem = merge(elem, typeOf(e, depth+1))
		}
		return runtime.Type{Kind: runtime.KindArray, Elem: &elem}
	case runtime.KindObject:
		if depth >= maxInferDepth {
			return runtime.Any
		}
		o := v.AsObject()
		t := runtime.Type{Kind: runtime.KindObject, Open: true}
		for i, k := range o.Keys {
			t.Fields = append(t.Fields, runtime.Field{Name: k, Type: typeOf(o.Values[i], depth+1), Nullable: true})
		}
		return t
	case runtime.KindNull, runtime.KindAbsent:
		return unknown
	}
	return runtime.Any
}

// merge is the type of a place that holds values of types a and b:
// the other one when one is unknown (null so far); the same scalar type;
// float for int and float; arrays of the merged elements; objects with
// the union of their fields (each field's types merged); any otherwise.
func merge(a, b runtime.Type) runtime.Type {
	switch {
	case a.Kind == runtime.KindAbsent:
		return b
	case b.Kind == runtime.KindAbsent:
		return a
	case a.Kind == runtime.KindNull || b.Kind == runtime.KindNull:
		return runtime.Any
	case a.Kind != b.Kind:
		if (a.Kind == runtime.KindInt && b.Kind == runtime.KindFloat) || (a.Kind == runtime.KindFloat && b.Kind == runtime.KindInt) {
			return runtime.Type{Kind: runtime.KindFloat}
		}
		return runtime.Any
	case a.Kind == runtime.KindArray:
		e := merge(*a.Elem, *b.Elem)
		return runtime.Type{Kind: runtime.KindArray, Elem: &e}
	case a.Kind == runtime.KindObject:
		out := runtime.Type{Kind: runtime.KindObject, Open: true, Fields: append([]runtime.Field(nil), a.Fields...)}
		for _, f := range b.Fields {
			found := false
			for i := range out.Fields {
				if out.Fields[i].Name == f.Name {
					out.Fields[i].Type = merge(out.Fields[i].Type, f.Type)
					found = true
					break
				}
			}
			if !found {
				out.Fields = append(out.Fields, f)
			}
		}
		return out
	}
	return a
}

// settle replaces what is still unknown in t by any.
func settle(t runtime.Type) runtime.Type {
	switch t.Kind {
	case runtime.KindAbsent:
		return runtime.Any
	case runtime.KindArray:
		e := settle(*t.Elem)
		return runtime.Type{Kind: runtime.KindArray, Elem: &e}
	case runtime.KindObject:
		out := runtime.Type{Kind: runtime.KindObject, Open: t.Open, Fields: make([]runtime.Field, len(t.Fields))}
		for i, f := range t.Fields {
			out.Fields[i] = runtime.Field{Name: f.Name, Type: settle(f.Type), Nullable: f.Nullable}
		}
		return out
	}
	return t
}
