package runtime

import "strings"

// Type describes the values a field may hold. Kind is one of the Value kinds;
// KindNull as a Type kind means "any value" (an open, untyped field).
type Type struct {
	Kind Kind
	// Fields lists the known keys of an object type, in generation order. An
	// object type with Open set may carry other keys too.
	Fields []Field
	Open   bool
	// Elem is the element type of an array type.
	Elem *Type
}

// Field is a named, typed slot of a record or object.
type Field struct {
	Name     string
	Type     Type
	Nullable bool
}

// Any is the type of a field whose values are not known in advance.
var Any = Type{Kind: KindNull}

// Schema is the ordered list of top-level fields of a stream's records.
// Record.After and Record.Before hold one Value per schema field, by
// position. A Schema is immutable after construction and safe to share.
type Schema struct {
	Fields []Field
	// Key lists the positions of the fields that identify a row (a table's
	// primary key or replica identity, datagen's id field), in key order;
	// nil when the stream has no row key. Keyed sinks key change events by
	// these fields, so one row's changes keep their order on one partition.
	Key []int
}

// NewSchema returns a schema over fields.
func NewSchema(fields ...Field) *Schema { return &Schema{Fields: fields} }

// Index returns the position of the top-level field name, or -1.
func (s *Schema) Index(name string) int {
	for i, f := range s.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// KeyNames returns the names of the key fields, in key order.
func (s *Schema) KeyNames() []string {
	out := make([]string, 0, len(s.Key))
	for _, i := range s.Key {
		if i >= 0 && i < len(s.Fields) {
			out = append(out, s.Fields[i].Name)
		}
	}
	return out
}

// Names returns the field names in order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// String renders t compactly and deterministically, e.g. "int",
// "object{env string, region string}", "array<string>", "any".
func (t Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t Type) write(b *strings.Builder) {
	switch t.Kind {
	case KindNull:
		b.WriteString("any")
	case KindArray:
		b.WriteString("array<")
		if t.Elem != nil {
			t.Elem.write(b)
		} else {
			b.WriteString("any")
		}
		b.WriteString(">")
	case KindObject:
		b.WriteString("object{")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name)
			b.WriteByte(' ')
			if f.Nullable {
				b.WriteByte('?')
			}
			f.Type.write(b)
		}
		if t.Open {
			if len(t.Fields) > 0 {
				b.WriteString(", ")
			}
			b.WriteString("...")
		}
		b.WriteString("}")
	default:
		b.WriteString(t.Kind.String())
	}
}
