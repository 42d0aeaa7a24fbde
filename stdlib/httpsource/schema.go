package httpsource

import (
	"fmt"
	"math"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// Schema returns the declared schema of c's records (every field
// nullable: a record may lack it), or nil when c declares none and the
// fields are learned from each record at run time. An empty or repeated
// field name, or a type that does not parse, is an error naming the field.
func Schema(c Config) (*runtime.Schema, error) {
	if len(c.Schema) == 0 {
		return nil, nil
	}
	fields := make([]runtime.Field, 0, len(c.Schema))
	seen := make(map[string]bool, len(c.Schema))
	for _, f := range c.Schema {
		if f.Name == "" {
			return nil, fmt.Errorf("http source: schema: a field with an empty name")
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("http source: schema: field %q is declared twice", f.Name)
		}
		seen[f.Name] = true
		t, err := runtime.ParseType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("http source: schema.%s: %w", f.Name, err)
		}
		fields = append(fields, runtime.Field{Name: f.Name, Type: t, Nullable: true})
	}
	return runtime.NewSchema(fields...), nil
}

// mismatch says where a value does not fit its declared type: the place
// inside the field ("" for the field itself, ".a[2]" inside), the kind it
// holds there and the type declared there.
type mismatch struct {
	where string
	got   runtime.Kind
	want  runtime.Type
}

// conform returns v as a value of type t: v itself when it already is one
// (null fits every type), an int as a float for a float field, an
// integral float as an int for an int field, and arrays and objects with
// their declared elements and fields converted the same way (the fields an
// object type does not declare are kept). It returns a mismatch when v
// does not fit.
func conform(v runtime.Value, t runtime.Type) (runtime.Value, *mismatch) {
	if v.IsNull() {
		return runtime.Null(), nil
	}
	switch t.Kind {
	case runtime.KindNull: // any
		return v, nil
	case runtime.KindFloat:
		switch v.Kind() {
		case runtime.KindFloat:
			return v, nil
		case runtime.KindInt:
			return runtime.Float(float64(v.AsInt())), nil
		}
	case runtime.KindInt:
		switch v.Kind() {
		case runtime.KindInt:
			return v, nil
		case runtime.KindFloat:
			f := v.AsFloat()
			if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
				return runtime.Int(int64(f)), nil
			}
		}
	case runtime.KindArray:
		if v.Kind() != runtime.KindArray {
			break
		}
		if t.Elem == nil || t.Elem.Kind == runtime.KindNull {
			return v, nil
		}
		a := v.AsArray()
		var changed []runtime.Value
		for i, e := range a {
			c, m := conform(e, *t.Elem)
			if m != nil {
				m.where = fmt.Sprintf("[%d]%s", i, m.where)
				return v, m
			}
			if changed == nil && !sameValue(c, e) {
				changed = append(make([]runtime.Value, 0, len(a)), a[:i]...)
			}
			if changed != nil {
				changed = append(changed, c)
			}
		}
		if changed != nil {
			return runtime.ArrayValue(changed), nil
		}
		return v, nil
	case runtime.KindObject:
		o := v.AsObject()
		if o == nil {
			break
		}
		var changed *runtime.Object
		for _, f := range t.Fields {
			i := o.Index(f.Name)
			if i < 0 {
				continue
			}
			c, m := conform(o.Values[i], f.Type)
			if m != nil {
				m.where = "." + f.Name + m.where
				return v, m
			}
			if !sameValue(c, o.Values[i]) {
				if changed == nil {
					changed = &runtime.Object{Keys: o.Keys, Values: append([]runtime.Value(nil), o.Values...)}
				}
				changed.Values[i] = c
			}
		}
		if changed != nil {
			return runtime.ObjectValue(changed), nil
		}
		return v, nil
	default:
		if v.Kind() == t.Kind {
			return v, nil
		}
	}
	return v, &mismatch{got: v.Kind(), want: t}
}

// describe says what m found, for a message about field name: never the
// value itself (it may be personal data), only its kind.
func (m *mismatch) describe(name string) string {
	got := m.got.String()
	art := "a"
	if strings.ContainsRune("aeiou", rune(got[0])) {
		art = "an"
	}
	return fmt.Sprintf("field %q%s holds %s %s, but the declared schema says %s", name, m.where, art, got, m.want)
}

// sameValue reports whether conform left a value as it was (same kind:
// conversions change the kind, or rebuild an array or object).
func sameValue(a, b runtime.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case runtime.KindArray:
		x, y := a.AsArray(), b.AsArray()
		return len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case runtime.KindObject:
		return a.AsObject() == b.AsObject()
	}
	return true
}
