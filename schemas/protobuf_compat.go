package schemas

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// CheckProtobuf is CheckAvro for Protobuf schemas given as .proto source
// text (see CompileProtobuf): it reports whether candidate may follow the
// previous versions (oldest first) under level, using the rules of
// ProtobufCanRead, plus in both directions ProtobufReusesReserved(candidate,
// version): a candidate may not declare a field number (or name) a
// previous version reserves. A schema that does not compile is an error
// that is not a *CompatError; only the versions level asks for are
// compiled.
func CheckProtobuf(level Compatibility, candidate string, previous []string) error {
	if _, err := ParseCompatibility(string(level)); err != nil {
		return err
	}
	cand, err := CompileProtobuf(candidate)
	if err != nil {
		return fmt.Errorf("candidate: %w", err)
	}
	if level == CompatNone || len(previous) == 0 {
		return nil
	}
	prev := make([]protoreflect.FileDescriptor, len(previous))
	from := len(previous) - 1
	if level.transitive() {
		from = 0
	}
	for v := from; v < len(previous); v++ {
		if prev[v], err = CompileProtobuf(previous[v]); err != nil {
			return fmt.Errorf("version %d: %w", v+1, err)
		}
	}
	return checkLevels(level, len(prev), func(v int, backward bool) []Incompatibility {
		var out []Incompatibility
		if backward {
			out = ProtobufCanRead(cand, prev[v])
		} else {
			out = ProtobufCanRead(prev[v], cand)
		}
		return append(out, ProtobufReusesReserved(cand, prev[v])...)
	})
}

// ProtobufReusesReserved returns the fields of newer whose numbers older
// reserves: data written before older retired the number may hold another
// type there. The reverse — a field of older whose number newer reserves —
// is how a field is meant to be removed and is not reported.
func ProtobufReusesReserved(newer, older protoreflect.FileDescriptor) []Incompatibility {
	c := &pbCompat{}
	nm, om := pbMessages(newer), pbMessages(older)
	for _, name := range slices.Sorted(maps.Keys(nm)) {
		o, ok := om[name]
		if !ok {
			continue
		}
		fs := nm[name].Fields()
		for i := range fs.Len() {
			f := fs.Get(i)
			if o.ReservedRanges().Has(f.Number()) {
				c.add(string(f.FullName()), "field number %d is reserved in the previous schema", f.Number())
			} else if o.ReservedNames().Has(f.Name()) {
				c.add(string(f.FullName()), "field name %s is reserved in the previous schema", f.Name())
			}
		}
	}
	return c.out
}

// ProtobufCanRead returns the changes that stop reader from reading data
// written with writer; none when it can. Messages are matched by name
// (relative to the package) and fields by number, following Confluent's
// Protobuf rules; paths are full names (package.Message.field):
//   - the package must not change;
//   - a message the writer uses (its first message, the one the wire
//     format's short index [0] names, or the type of a field) must not be
//     removed; adding messages and removing unused ones is allowed;
//   - fields may be added or removed (proto3), except proto2 required
//     fields (adding or removing one is reported whichever side has it, as
//     Confluent does), and a field removed from a oneof that remains;
//   - a field keeps its kind (scalar, enum, message, map) and named type;
//     scalars may only change within a wire-compatible group: int32,
//     uint32, int64, uint64 and bool; sint32 and sint64; fixed32 and
//     sfixed32; fixed64 and sfixed64; string and bytes;
//   - singular ↔ repeated is allowed only for length-delimited types
//     (string, bytes, messages), whose encodings agree; packable scalars and
//     enums may not change label;
//   - a field may not become required, nor move into a oneof that existed,
//     nor may several fields move into one new oneof.
func ProtobufCanRead(reader, writer protoreflect.FileDescriptor) []Incompatibility {
	c := &pbCompat{}
	if reader.Package() != writer.Package() {
		c.add(string(reader.Path()), "package changed from %q to %q", writer.Package(), reader.Package())
		return c.out
	}
	rm, wm := pbMessages(reader), pbMessages(writer)
	used := map[string]bool{}
	if writer.Messages().Len() > 0 {
		used[relName(writer.Messages().Get(0))] = true
	}
	for _, md := range wm {
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			if fd.IsMap() {
				fd = fd.MapValue()
			}
			if fd.Message() != nil {
				used[relName(fd.Message())] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(wm)) {
		w := wm[name]
		r, ok := rm[name]
		if !ok {
			if used[name] {
				c.add(string(w.FullName()), "message removed but the writer schema uses it")
			}
			continue
		}
		c.message(string(r.FullName()), r, w)
	}
	return c.out
}

type pbCompat struct{ out []Incompatibility }

func (c *pbCompat) add(path, format string, args ...any) {
	c.out = append(c.out, Incompatibility{Path: path, Reason: fmt.Sprintf(format, args...)})
}

// pbMessages returns the messages of fd by name relative to its package,
// map entries left out.
func pbMessages(fd protoreflect.FileDescriptor) map[string]protoreflect.MessageDescriptor {
	out := map[string]protoreflect.MessageDescriptor{}
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			md := ms.Get(i)
			if md.IsMapEntry() {
				continue
			}
			out[relName(md)] = md
			walk(md.Messages())
		}
	}
	walk(fd.Messages())
	return out
}

func relName(d protoreflect.Descriptor) string {
	pkg := string(d.ParentFile().Package())
	if pkg == "" {
		return string(d.FullName())
	}
	return strings.TrimPrefix(string(d.FullName()), pkg+".")
}

func (c *pbCompat) message(name string, r, w protoreflect.MessageDescriptor) {
	rf, wf := r.Fields(), w.Fields()
	for i := range wf.Len() {
		f := wf.Get(i)
		path := name + "." + string(f.Name())
		g := rf.ByNumber(f.Number())
		if g == nil {
			switch {
			case f.Cardinality() == protoreflect.Required:
				c.add(path, "required field %d removed", f.Number())
			case isRealOneof(f) && r.Oneofs().ByName(f.ContainingOneof().Name()) != nil:
				c.add(path, "field %d removed from oneof %s", f.Number(), f.ContainingOneof().Name())
			}
			continue
		}
		c.field(path, g, f)
	}
	for i := range rf.Len() {
		g := rf.Get(i)
		path := name + "." + string(g.Name())
		if wf.ByNumber(g.Number()) == nil && g.Cardinality() == protoreflect.Required {
			c.add(path, "required field %d added", g.Number())
		}
	}
	for i := range r.Oneofs().Len() {
		od := r.Oneofs().Get(i)
		if od.IsSynthetic() {
			continue
		}
		moved := 0
		for j := range od.Fields().Len() {
			if f := wf.ByNumber(od.Fields().Get(j).Number()); f != nil && !isRealOneof(f) {
				moved++
			}
		}
		existed := w.Oneofs().ByName(od.Name()) != nil
		switch {
		case existed && moved > 0:
			c.add(name+"."+string(od.Name()), "field moved into existing oneof %s", od.Name())
		case !existed && moved > 1:
			c.add(name+"."+string(od.Name()), "%d fields moved into new oneof %s", moved, od.Name())
		}
	}
}

func isRealOneof(f protoreflect.FieldDescriptor) bool {
	od := f.ContainingOneof()
	return od != nil && !od.IsSynthetic()
}

// field compares the reader field r with the writer field w of the same
// number.
func (c *pbCompat) field(path string, r, w protoreflect.FieldDescriptor) {
	if r.IsMap() != w.IsMap() {
		c.add(path, "type changed from %s to %s", fieldTypeName(w), fieldTypeName(r))
		return
	}
	if r.IsMap() {
		c.value(path, r.MapKey(), w.MapKey())
		c.value(path, r.MapValue(), w.MapValue())
		return
	}
	if !c.value(path, r, w) {
		return
	}
	if r.IsList() != w.IsList() && !lengthDelimited(r.Kind()) {
		c.add(path, "label changed from %s to %s, which %s values cannot survive",
			labelName(w), labelName(r), r.Kind())
	}
	if r.Cardinality() == protoreflect.Required && w.Cardinality() != protoreflect.Required {
		c.add(path, "field became required")
	}
}

// value compares the types of r and w, reporting a change; it returns
// whether they are compatible.
func (c *pbCompat) value(path string, r, w protoreflect.FieldDescriptor) bool {
	rk, wk := r.Kind(), w.Kind()
	switch {
	case rk == wk && (rk == protoreflect.MessageKind || rk == protoreflect.GroupKind):
		if relName(r.Message()) != relName(w.Message()) {
			c.add(path, "message type changed from %s to %s", relName(w.Message()), relName(r.Message()))
			return false
		}
	case rk == wk && rk == protoreflect.EnumKind:
		if relName(r.Enum()) != relName(w.Enum()) {
			c.add(path, "enum type changed from %s to %s", relName(w.Enum()), relName(r.Enum()))
			return false
		}
	case rk == wk:
	case scalarGroup(rk) != 0 && scalarGroup(rk) == scalarGroup(wk):
	default:
		c.add(path, "type changed from %s to %s", fieldTypeName(w), fieldTypeName(r))
		return false
	}
	return true
}

// scalarGroup numbers the wire-compatible scalar groups; 0 for the kinds
// that belong to none (floats, enums, messages).
func scalarGroup(k protoreflect.Kind) int {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.BoolKind:
		return 1
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return 2
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return 3
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return 4
	case protoreflect.StringKind, protoreflect.BytesKind:
		return 5
	}
	return 0
}

func lengthDelimited(k protoreflect.Kind) bool {
	return k == protoreflect.StringKind || k == protoreflect.BytesKind || k == protoreflect.MessageKind
}

func labelName(f protoreflect.FieldDescriptor) string {
	if f.IsList() {
		return "repeated"
	}
	return "singular"
}
