package enrich

import (
	"context"
	"fmt"
	"math"

	"github.com/rivven/rivven-connect/runtime"
)

// backend looks keys up. fetch returns the rows found by key text (a key
// absent from the map has no row) and, when some keys could not be looked
// up, an error — a *transientError when asking again may succeed; the
// keys it did answer count.
type backend interface {
	fetch(ctx context.Context, keys []runtime.Value, texts []string) (map[string]result, error)
	close()
}

// makeRow builds the value merged under into from a row's columns (names
// and values in order): with a declared schema (t's fields), exactly those
// fields in their order, each converted to its type (a column the row
// lacks is null); without, every column as it came.
func makeRow(names []string, vals []runtime.Value, t runtime.Type, declared bool) (runtime.Value, error) {
	if !declared {
		o := runtime.NewObject(len(names))
		for i, n := range names {
			o.Set(n, vals[i])
		}
		return runtime.ObjectValue(o), nil
	}
	o := runtime.NewObject(len(t.Fields))
	for _, f := range t.Fields {
		v := runtime.Null()
		for i, n := range names {
			if n == f.Name {
				v = vals[i]
				break
			}
		}
		cv, err := convert(v, f.Type)
		if err != nil {
			return runtime.Value{}, fmt.Errorf("field %s of the row %s", f.Name, err)
		}
		o.Set(f.Name, cv)
	}
	return runtime.ObjectValue(o), nil
}

// convert returns v as a value of record type t: null fits every type;
// an int becomes a float for a float field, an integral float an int for
// an int field; array elements and declared object fields convert the
// same way. Another kind is an error saying what it holds (never its
// value).
func convert(v runtime.Value, t runtime.Type) (runtime.Value, error) {
	if v.IsNull() || t.Kind == runtime.KindNull {
		return v, nil
	}
	k := v.Kind()
	switch {
	case k == t.Kind && t.Kind != runtime.KindArray && t.Kind != runtime.KindObject:
		return v, nil
	case t.Kind == runtime.KindFloat && k == runtime.KindInt:
		return runtime.Float(float64(v.AsInt())), nil
	case t.Kind == runtime.KindInt && k == runtime.KindFloat:
		if f := v.AsFloat(); f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return runtime.Int(int64(f)), nil
		}
	case t.Kind == runtime.KindArray && k == runtime.KindArray:
		if t.Elem == nil || t.Elem.Kind == runtime.KindNull {
			return v, nil
		}
		in := v.AsArray()
		out := make([]runtime.Value, len(in))
		for i, e := range in {
			c, err := convert(e, *t.Elem)
			if err != nil {
				return runtime.Value{}, err
			}
			out[i] = c
		}
		return runtime.ArrayValue(out), nil
	case t.Kind == runtime.KindObject && k == runtime.KindObject:
		if len(t.Fields) == 0 {
			return v, nil
		}
		o := v.AsObject()
		out := runtime.NewObject(len(o.Keys))
		for i, key := range o.Keys {
			c := o.Values[i]
			for _, f := range t.Fields {
				if f.Name == key {
					var err error
					if c, err = convert(c, f.Type); err != nil {
						return runtime.Value{}, err
					}
				}
			}
			out.Set(key, c)
		}
		return runtime.ObjectValue(out), nil
	}
	return runtime.Value{}, fmt.Errorf("holds a %s where the schema declares %s", k, t)
}
