package schemas

import (
	"fmt"

	"github.com/rivven/rivven-connect/runtime"
)

// Infer derives the schema of a sample of records, each an object value
// (decoded JSON, e.g. from runtime.ParseJSON). Fields are listed in the
// order they are first seen. A field present in every sample and never
// null is required; any other is nullable. Integers and floats in one field
// widen to float (JSON Schema "number"); nested objects are merged the same
// way, with presence counted over the samples where the object occurs;
// array elements merge into one element type. A field whose values have
// conflicting kinds, or that is only ever null, gets type any; so do the
// elements of an array holding nulls or conflicting kinds.
//
// Render the result with JSONSchema or AvroSchema. Infer fails when a
// sample is not an object; an empty sample gives an empty schema.
func Infer(samples []runtime.Value) (*runtime.Schema, error) {
	var o objAcc
	for i, v := range samples {
		if v.Kind() != runtime.KindObject {
			return nil, fmt.Errorf("infer: sample %d is %s, want an object", i, v.Kind())
		}
		o.add(v.AsObject())
	}
	return runtime.NewSchema(o.fields()...), nil
}

// InferRows is Infer over rows of schema s (as in runtime.Record.After):
// each row is read as an object keyed by the field names, absent values
// counting as missing keys. It lets a source whose declared types are loose
// (fields of type any) be narrowed from what it actually emits.
func InferRows(s *runtime.Schema, rows [][]runtime.Value) (*runtime.Schema, error) {
	samples := make([]runtime.Value, len(rows))
	for i, row := range rows {
		o := runtime.NewObject(len(s.Fields))
		for j, f := range s.Fields {
			if j < len(row) && row[j].Kind() != runtime.KindAbsent {
				o.Set(f.Name, row[j])
			}
		}
		samples[i] = runtime.ObjectValue(o)
	}
	return Infer(samples)
}

// typeAcc accumulates the non-null values seen for one slot.
type typeAcc struct {
	seen     bool
	conflict bool
	kind     runtime.Kind
	obj      *objAcc
	elem     *typeAcc
	elemNull bool
}

func (a *typeAcc) add(v runtime.Value) {
	k := v.Kind()
	switch {
	case !a.seen:
		a.seen, a.kind = true, k
	case a.kind == k:
	case (a.kind == runtime.KindInt || a.kind == runtime.KindFloat) && (k == runtime.KindInt || k == runtime.KindFloat):
		a.kind = runtime.KindFloat
	default:
		a.conflict = true
	}
	if a.conflict {
		return
	}
	switch k {
	case runtime.KindObject:
		if a.obj == nil {
			a.obj = &objAcc{}
		}
		a.obj.add(v.AsObject())
	case runtime.KindArray:
		if a.elem == nil {
			a.elem = &typeAcc{}
		}
		for _, e := range v.AsArray() {
			if e.IsNull() {
				a.elemNull = true
			} else {
				a.elem.add(e)
			}
		}
	}
}

func (a *typeAcc) typ() runtime.Type {
	if !a.seen || a.conflict {
		return runtime.Any
	}
	switch a.kind {
	case runtime.KindObject:
		return runtime.Type{Kind: runtime.KindObject, Fields: a.obj.fields()}
	case runtime.KindArray:
		t := runtime.Type{Kind: runtime.KindArray}
		if !a.elemNull && a.elem.seen && !a.elem.conflict {
			e := a.elem.typ()
			t.Elem = &e
		}
		return t
	}
	return runtime.Type{Kind: a.kind}
}

// objAcc accumulates the objects seen for one slot.
type objAcc struct {
	n      int
	names  []string
	byName map[string]*fieldAcc
}

type fieldAcc struct {
	present int
	null    bool
	t       typeAcc
}

func (o *objAcc) add(obj *runtime.Object) {
	o.n++
	if o.byName == nil {
		o.byName = map[string]*fieldAcc{}
	}
	for i, k := range obj.Keys {
		v := obj.Values[i]
		if v.Kind() == runtime.KindAbsent {
			continue
		}
		f := o.byName[k]
		if f == nil {
			f = &fieldAcc{}
			o.byName[k] = f
			o.names = append(o.names, k)
		}
		f.present++
		if v.IsNull() {
			f.null = true
		} else {
			f.t.add(v)
		}
	}
}

func (o *objAcc) fields() []runtime.Field {
	out := make([]runtime.Field, 0, len(o.names))
	for _, name := range o.names {
		f := o.byName[name]
		out = append(out, runtime.Field{Name: name, Type: f.t.typ(), Nullable: f.null || f.present < o.n})
	}
	return out
}
