package wasm

import (
	"fmt"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// toABIValue converts a runtime value.
func toABIValue(v runtime.Value) abi.Value {
	switch v.Kind() {
	case runtime.KindBool:
		return abi.Value{Kind: abi.KindBool, Bool: v.AsBool()}
	case runtime.KindInt:
		return abi.Value{Kind: abi.KindInt, Int: v.AsInt()}
	case runtime.KindFloat:
		return abi.Value{Kind: abi.KindFloat, Float: v.AsFloat()}
	case runtime.KindString:
		return abi.Value{Kind: abi.KindString, Str: v.AsString()}
	case runtime.KindObject:
		o := v.AsObject()
		ms := make([]abi.Member, len(o.Keys))
		for i, k := range o.Keys {
			ms[i] = abi.Member{Key: k, Value: toABIValue(o.Values[i])}
		}
		return abi.Value{Kind: abi.KindObject, Obj: ms}
	case runtime.KindArray:
		a := v.AsArray()
		out := make([]abi.Value, len(a))
		for i, e := range a {
			out[i] = toABIValue(e)
		}
		return abi.Value{Kind: abi.KindArray, Arr: out}
	case runtime.KindAbsent:
		return abi.Value{Kind: abi.KindAbsent}
	}
	return abi.Value{}
}

// fromABIValue converts a plugin's value.
func fromABIValue(v *abi.Value) runtime.Value {
	switch v.Kind {
	case abi.KindBool:
		return runtime.Bool(v.Bool)
	case abi.KindInt:
		return runtime.Int(v.Int)
	case abi.KindFloat:
		return runtime.Float(v.Float)
	case abi.KindString:
		return runtime.String(v.Str)
	case abi.KindObject:
		o := runtime.NewObject(len(v.Obj))
		for i := range v.Obj {
			o.Set(v.Obj[i].Key, fromABIValue(&v.Obj[i].Value))
		}
		return runtime.ObjectValue(o)
	case abi.KindArray:
		a := make([]runtime.Value, len(v.Arr))
		for i := range v.Arr {
			a[i] = fromABIValue(&v.Arr[i])
		}
		return runtime.ArrayValue(a)
	case abi.KindAbsent:
		return runtime.Absent()
	}
	return runtime.Null()
}

func toABIValues(vs []runtime.Value) []abi.Value {
	if vs == nil {
		return nil
	}
	out := make([]abi.Value, len(vs))
	for i, v := range vs {
		out[i] = toABIValue(v)
	}
	return out
}

func fromABIValues(vs []abi.Value) []runtime.Value {
	if vs == nil {
		return nil
	}
	out := make([]runtime.Value, len(vs))
	for i := range vs {
		out[i] = fromABIValue(&vs[i])
	}
	return out
}

func toABIMeta(o *runtime.Object) []abi.Member {
	if o == nil {
		return nil
	}
	return toABIValue(runtime.ObjectValue(o)).Obj
}

func fromABIMeta(ms []abi.Member) *runtime.Object {
	if ms == nil {
		return nil
	}
	v := fromABIValue(&abi.Value{Kind: abi.KindObject, Obj: ms})
	return v.AsObject()
}

// toABISchema describes a runtime schema's top-level fields.
func toABISchema(s *runtime.Schema) abi.Schema {
	out := abi.Schema{Fields: make([]abi.Field, len(s.Fields)), Key: s.Key}
	for i, f := range s.Fields {
		out.Fields[i] = abi.Field{Name: f.Name, Kind: abi.Kind(f.Type.Kind), Nullable: f.Nullable}
	}
	return out
}

// fromABISchema makes a runtime schema of a plugin's: each field of its
// kind (objects open, arrays of any), KindNull meaning any.
func fromABISchema(s *abi.Schema) *runtime.Schema {
	out := &runtime.Schema{Fields: make([]runtime.Field, len(s.Fields)), Key: s.Key}
	for i, f := range s.Fields {
		t := runtime.Type{Kind: runtime.Kind(f.Kind)}
		switch t.Kind {
		case runtime.KindObject:
			t.Open = true
		case runtime.KindArray:
			t.Elem = &runtime.Type{Kind: runtime.KindNull}
		case runtime.KindAbsent:
			t.Kind = runtime.KindNull
		}
		out.Fields[i] = runtime.Field{Name: f.Name, Type: t, Nullable: f.Nullable || t.Kind == runtime.KindNull}
	}
	return out
}

// toABIBatch converts records (for the JSON encoding); pos gives each
// record's position bytes (nil: none).
func toABIBatch(recs []*runtime.Record, pos func(*runtime.Record) []byte) *abi.Batch {
	b := &abi.Batch{Records: make([]abi.Record, len(recs))}
	idx := map[*runtime.Schema]int{}
	for i, r := range recs {
		si, ok := idx[r.Schema]
		if !ok {
			si = len(b.Schemas)
			idx[r.Schema] = si
			b.Schemas = append(b.Schemas, toABISchema(r.Schema))
		}
		ar := abi.Record{Schema: si, Stream: r.Stream, Namespace: r.Namespace, Op: abi.Op(r.Op),
			After: toABIValues(r.After), Before: toABIValues(r.Before), Meta: toABIMeta(r.Meta)}
		if !r.Time.IsZero() {
			ar.TimeNanos, ar.HasTime = r.Time.UnixNano(), true
		}
		if pos != nil {
			ar.Position = pos(r)
		}
		b.Records[i] = ar
	}
	return b
}

// StreamSchema makes the runtime schema of a stream a source declares.
func StreamSchema(s abi.StreamSpec) (*runtime.Schema, error) {
	if s.Name == "" {
		return nil, fmt.Errorf("a stream has no name")
	}
	out := &runtime.Schema{}
	for _, f := range s.Fields {
		if f.Name == "" {
			return nil, fmt.Errorf("a field has no name")
		}
		if out.Index(f.Name) >= 0 {
			return nil, fmt.Errorf("field %q is declared twice", f.Name)
		}
		t, err := runtime.ParseType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", f.Name, err)
		}
		out.Fields = append(out.Fields, runtime.Field{Name: f.Name, Type: t, Nullable: f.Nullable})
	}
	for _, k := range s.Key {
		i := out.Index(k)
		if i < 0 {
			return nil, fmt.Errorf("key field %q is not one of its fields", k)
		}
		out.Key = append(out.Key, i)
	}
	return out, nil
}

func nanosTime(n int64) time.Time { return time.Unix(0, n).UTC() }
