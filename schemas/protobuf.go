package schemas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/rivven/rivven-connect/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// ProtobufPackage is the package of the .proto files ProtobufSchema writes.
const ProtobufPackage = "rivven"

// protoFileName is the path compiled .proto text is registered under; it
// appears in compile errors.
const protoFileName = "schema.proto"

// ProtobufSchema returns the proto3 source of records with schema s: one
// message named name in package ProtobufPackage with one field per schema
// field. Field numbers are schema positions (the first field is 1); a
// field of kind absent is left out and its number reserved, so the other
// numbers stay put.
//
// The mapping mirrors AvroSchema: bool → bool, int → int64, float →
// double, string → string, a closed object → a nested message (named after
// the field in CamelCase, declared inside the parent), an array → a
// repeated field. A nullable scalar is `optional`; nullable objects need no
// label since message fields have presence. Open objects and values of
// type any are carried as a string holding their compact JSON, and a field
// of type any is always `optional string`. Protobuf cannot express a null
// list or a list of lists, so a nullable array and an array element that is
// itself an array become a wrapper message whose one field is
// `repeated T items = 1`.
func ProtobufSchema(s *runtime.Schema, name string) string {
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\n\npackage " + ProtobufPackage + ";\n\n")
	writeProtoMessage(&b, protoDecl{name: name, fields: s.Fields}, 0)
	return b.String()
}

// protoDecl is a message ProtobufSchema declares.
type protoDecl struct {
	name   string
	fields []runtime.Field
}

func writeProtoMessage(b *strings.Builder, d protoDecl, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent + "message " + d.name + " {\n")
	used := map[string]bool{}
	for _, f := range d.fields {
		used[f.Name] = true
	}
	var nested []protoDecl
	decl := func(base string, fields []runtime.Field) string {
		n := base
		for used[n] {
			n += "_"
		}
		used[n] = true
		nested = append(nested, protoDecl{name: n, fields: fields})
		return n
	}
	var reserved []string
	for i, f := range d.fields {
		num := strconv.Itoa(i + 1)
		if f.Type.Kind == runtime.KindAbsent {
			reserved = append(reserved, num)
			continue
		}
		label, typ := protoFieldType(f, decl)
		b.WriteString(indent + "  " + label + typ + " " + f.Name + " = " + num + ";\n")
	}
	if len(reserved) > 0 {
		b.WriteString(indent + "  reserved " + strings.Join(reserved, ", ") + ";\n")
	}
	for _, n := range nested {
		writeProtoMessage(b, n, depth+1)
	}
	b.WriteString(indent + "}\n")
}

// protoFieldType returns the label (with its trailing space, or "") and
// type of field f; decl declares a nested message and returns its name.
func protoFieldType(f runtime.Field, decl func(string, []runtime.Field) string) (label, typ string) {
	base := camelCase(f.Name)
	switch t := f.Type; {
	case t.Kind == runtime.KindNull:
		return "optional ", "string"
	case t.Kind == runtime.KindArray && f.Nullable:
		return "", decl(base, []runtime.Field{{Name: "items", Type: t}})
	case t.Kind == runtime.KindArray:
		elem := runtime.Any
		if t.Elem != nil {
			elem = *t.Elem
		}
		return "repeated ", protoValueType(base+"Item", elem, decl)
	case f.Nullable && (t.Kind != runtime.KindObject || t.Open):
		return "optional ", protoValueType(base, t, decl)
	}
	return "", protoValueType(base, f.Type, decl)
}

// protoValueType returns the type of one value of t (a singular field or a
// list element).
func protoValueType(base string, t runtime.Type, decl func(string, []runtime.Field) string) string {
	switch t.Kind {
	case runtime.KindBool:
		return "bool"
	case runtime.KindInt:
		return "int64"
	case runtime.KindFloat:
		return "double"
	case runtime.KindObject:
		if !t.Open {
			return decl(base, t.Fields)
		}
	case runtime.KindArray:
		return decl(base, []runtime.Field{{Name: "items", Type: t}})
	}
	return "string"
}

// camelCase turns a field name into a message name: "line_items" →
// "LineItems".
func camelCase(s string) string {
	c := jsonCamel(s)
	if c == "" {
		return "M"
	}
	if c[0] >= 'a' && c[0] <= 'z' {
		c = string(c[0]-('a'-'A')) + c[1:]
	}
	return c
}

// CompileProtobuf compiles the .proto source text (proto2, proto3 or
// editions; it may import the well-known google/protobuf files but nothing
// else) and returns its file descriptor. Errors carry the line and column.
func CompileProtobuf(text string) (protoreflect.FileDescriptor, error) {
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(map[string]string{protoFileName: text}),
		}),
	}
	files, err := c.Compile(context.Background(), protoFileName)
	if err != nil {
		return nil, fmt.Errorf("protobuf schema: %w", err)
	}
	return files[0], nil
}

// findMessage finds message name in fd: a full name ("rivven.orders"), a
// name relative to the file's package ("orders", "Outer.Inner"), or ""
// for the file's first message.
func findMessage(fd protoreflect.FileDescriptor, name string) (protoreflect.MessageDescriptor, error) {
	if name == "" {
		if fd.Messages().Len() == 0 {
			return nil, fmt.Errorf("protobuf schema declares no message")
		}
		return fd.Messages().Get(0), nil
	}
	lf, _ := fd.(linker.File)
	for _, full := range []string{string(fd.Package()) + "." + name, name} {
		if lf == nil {
			break
		}
		if md, ok := lf.FindDescriptorByName(protoreflect.FullName(strings.TrimPrefix(full, "."))).(protoreflect.MessageDescriptor); ok {
			return md, nil
		}
	}
	return nil, fmt.Errorf("protobuf schema has no message %s", name)
}

// ProtobufMessageIndexes returns the message-index path of md in its file,
// as the Confluent wire format carries it: the index of the top-level
// message, then of each nested message down to md. The first message of a
// file is [0].
func ProtobufMessageIndexes(md protoreflect.MessageDescriptor) []int {
	var path []int
	for d := protoreflect.Descriptor(md); ; d = d.Parent() {
		m, ok := d.(protoreflect.MessageDescriptor)
		if !ok {
			break
		}
		path = append(path, m.Index())
	}
	slices.Reverse(path)
	return path
}

// ProtobufCodec encodes and decodes rows to and from the binary encoding of
// one Protobuf message compiled at run time (no generated code). Messages
// without maps or groups, which includes every ProtobufSchema message, are
// encoded and decoded directly from the descriptor plan without
// allocating per field; the others go through dynamicpb. Both paths give
// the same bytes and values (the tests and FuzzProtobufDecode hold them to
// it). It is immutable and safe for concurrent use.
type ProtobufCodec struct {
	rs        *runtime.Schema
	md        protoreflect.MessageDescriptor
	fields    []pbField
	direct    bool // see pbDirect
	canonical string
	indexes   []int
}

// NewProtobufCodec returns the codec of rows with schema s, as encoded by
// the message ProtobufSchema(s, name) declares. Open objects and values of
// type any travel as JSON text and decode back to values. It fails when a
// field name is not a valid Protobuf identifier or when two field names
// clash in proto3's JSON naming ("a_b" and "aB").
func NewProtobufCodec(s *runtime.Schema, name string) (*ProtobufCodec, error) {
	fd, err := CompileProtobuf(ProtobufSchema(s, name))
	if err != nil {
		return nil, fmt.Errorf("protobuf schema of %s: %w", name, err)
	}
	md, err := findMessage(fd, name)
	if err != nil {
		return nil, err
	}
	return newProtobufCodec(s, md)
}

// NewProtobufCodecFromText compiles the .proto source text (see
// CompileProtobuf) and returns the codec of message, named in full
// ("rivven.orders"), relative to the file's package ("orders",
// "Outer.Inner"), or "" for the file's first message. The row schema is derived from the message, one field
// per message field in declaration order: integer kinds → int (a uint64
// above the int64 range fails to decode), float and double → float,
// string, bytes and enums (by value name) → string, messages → closed
// objects, maps → open objects with string keys, repeated → arrays. Fields
// with presence (optional, message, oneof members) are nullable and decode
// as null when unset. Recursive messages are not supported.
func NewProtobufCodecFromText(text, message string) (*ProtobufCodec, error) {
	fd, err := CompileProtobuf(text)
	if err != nil {
		return nil, err
	}
	md, err := findMessage(fd, message)
	if err != nil {
		return nil, err
	}
	fields, err := deriveFields(md, map[protoreflect.FullName]bool{})
	if err != nil {
		return nil, err
	}
	return newProtobufCodec(runtime.NewSchema(fields...), md)
}

func newProtobufCodec(s *runtime.Schema, md protoreflect.MessageDescriptor) (*ProtobufCodec, error) {
	fields, err := bindMessage(s.Fields, md)
	if err != nil {
		return nil, fmt.Errorf("protobuf message %s: %w", md.FullName(), err)
	}
	return &ProtobufCodec{rs: s, md: md, fields: fields, direct: pbDirect(fields),
		canonical: ProtobufCanonical(md.ParentFile()), indexes: ProtobufMessageIndexes(md)}, nil
}

// Schema returns the row schema the codec reads and writes.
func (c *ProtobufCodec) Schema() *runtime.Schema { return c.rs }

// Descriptor returns the message descriptor rows are encoded as.
func (c *ProtobufCodec) Descriptor() protoreflect.MessageDescriptor { return c.md }

// Canonical returns the canonical text of the message's file (see
// ProtobufCanonical).
func (c *ProtobufCodec) Canonical() string { return c.canonical }

// MessageIndexes returns the message's index path for the Confluent wire
// format (see ProtobufMessageIndexes). The slice must not be modified.
func (c *ProtobufCodec) MessageIndexes() []int { return c.indexes }

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// Append appends the Protobuf binary encoding of row (one value per schema
// field, by position, as in runtime.Record.After) to buf. A null or absent
// value in a field that is neither nullable nor of type any, a null array
// element (except in arrays of any), or a value of the wrong kind or out of
// the field's range, or invalid UTF-8 in a proto3 string, is an error
// naming the field. The output is what proto.Marshal with Deterministic
// set writes: fields in number order, proto3 fields without presence left
// out when zero, repeated scalars packed.
func (c *ProtobufCodec) Append(buf []byte, row []runtime.Value) ([]byte, error) {
	if c.direct {
		for i := range c.fields {
			f := &c.fields[i]
			if f.fd == nil {
				continue
			}
			var v runtime.Value
			if i < len(row) {
				v = row[i]
			}
			var err error
			if buf, err = f.appendTo(buf, v); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	m := dynamicpb.NewMessage(c.md)
	for i := range c.fields {
		f := &c.fields[i]
		if f.fd == nil {
			continue
		}
		var v runtime.Value
		if i < len(row) {
			v = row[i]
		}
		if err := f.set(m, v); err != nil {
			return buf, err
		}
	}
	return marshalOpts.MarshalAppend(buf, m)
}

// Decode decodes one Protobuf binary message into a row of the codec's
// schema (fields of kind absent are left null; unknown fields are
// ignored). A nullable field that is unset decodes as null, any other
// unset field as its Protobuf default (0, "", false, an empty array, an
// object of defaults). Open objects and values of type any come back as
// runtime.ParseJSON gives them. Malformed input, invalid UTF-8 in a proto3
// string and a uint64 above the int64 range are errors.
func (c *ProtobufCodec) Decode(data []byte) ([]runtime.Value, error) {
	if c.direct {
		row, err := decodeDirect(c.fields, data)
		if !errors.Is(err, errMerge) {
			return row, err
		}
	}
	return c.decodeDynamic(data)
}

// decodeDynamic is Decode through dynamicpb, for any message.
func (c *ProtobufCodec) decodeDynamic(data []byte) ([]runtime.Value, error) {
	m := dynamicpb.NewMessage(c.md)
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("protobuf: %w", err)
	}
	row := make([]runtime.Value, len(c.fields))
	for i := range c.fields {
		f := &c.fields[i]
		if f.fd == nil {
			continue
		}
		v, err := f.get(m)
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

// pbField binds one runtime field to one message field.
type pbField struct {
	name     string
	fd       protoreflect.FieldDescriptor // nil: absent in the schema, skipped
	nullable bool                         // null leaves the field unset
	conv     pbConv                       // the value, or each element or map value
	// Cached from fd for the direct encoder.
	num                    protoreflect.FieldNumber
	list, packed, presence bool
}

// pbConv converts one value between runtime and Protobuf.
type pbConv struct {
	rt   runtime.Type
	kind protoreflect.Kind
	json bool      // carried as JSON text in a string field
	msg  []pbField // closed object ↔ message
	wrap *pbField  // array ↔ wrapper message with repeated field items
	enum protoreflect.EnumDescriptor
	utf8 bool // a string field that must hold valid UTF-8
}

func bindMessage(fields []runtime.Field, md protoreflect.MessageDescriptor) ([]pbField, error) {
	out := make([]pbField, len(fields))
	for i, f := range fields {
		out[i].name = f.Name
		if f.Type.Kind == runtime.KindAbsent {
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(f.Name))
		if fd == nil {
			return nil, fmt.Errorf("message %s has no field %s", md.FullName(), f.Name)
		}
		b, err := bindField(f, fd)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func bindField(f runtime.Field, fd protoreflect.FieldDescriptor) (pbField, error) {
	out := pbField{name: f.Name, fd: fd, nullable: f.Nullable || f.Type.Kind == runtime.KindNull,
		num: fd.Number(), list: fd.IsList(), packed: fd.IsPacked(), presence: fd.HasPresence()}
	t := f.Type
	var err error
	switch {
	case fd.IsMap():
		if t.Kind != runtime.KindObject || !t.Open {
			return out, fmt.Errorf("field %s: %s does not fit a map", f.Name, t)
		}
		vt, derr := deriveType(fd.MapValue(), map[protoreflect.FullName]bool{})
		if derr != nil {
			return out, derr
		}
		out.conv, err = bindValue(f.Name, vt, fd.MapValue())
	case fd.IsList():
		if t.Kind != runtime.KindArray {
			return out, fmt.Errorf("field %s: %s does not fit a repeated field", f.Name, t)
		}
		elem := runtime.Any
		if t.Elem != nil {
			elem = *t.Elem
		}
		out.conv, err = bindValue(f.Name, elem, fd)
	default:
		out.conv, err = bindValue(f.Name, t, fd)
	}
	return out, err
}

func bindValue(name string, t runtime.Type, fd protoreflect.FieldDescriptor) (pbConv, error) {
	c := pbConv{rt: t, kind: fd.Kind(), utf8: fd.ParentFile().Syntax() != protoreflect.Proto2}
	bad := func() (pbConv, error) {
		return c, fmt.Errorf("field %s: %s does not fit Protobuf %s", name, t, fd.Kind())
	}
	switch t.Kind {
	case runtime.KindNull:
		if fd.Kind() != protoreflect.StringKind {
			return bad()
		}
		c.json = true
	case runtime.KindObject:
		if t.Open {
			if fd.Kind() != protoreflect.StringKind {
				return bad()
			}
			c.json = true
			break
		}
		if fd.Kind() != protoreflect.MessageKind {
			return bad()
		}
		var err error
		c.msg, err = bindMessage(t.Fields, fd.Message())
		return c, err
	case runtime.KindArray:
		items := fd.Message()
		if fd.Kind() != protoreflect.MessageKind || items.Fields().Len() != 1 || !items.Fields().Get(0).IsList() {
			return bad()
		}
		w, err := bindField(runtime.Field{Name: name, Type: t}, items.Fields().Get(0))
		c.wrap = &w
		return c, err
	case runtime.KindBool:
		if fd.Kind() != protoreflect.BoolKind {
			return bad()
		}
	case runtime.KindInt:
		if !isIntKind(fd.Kind()) {
			return bad()
		}
	case runtime.KindFloat:
		if fd.Kind() != protoreflect.DoubleKind && fd.Kind() != protoreflect.FloatKind {
			return bad()
		}
	case runtime.KindString:
		switch fd.Kind() {
		case protoreflect.StringKind, protoreflect.BytesKind:
		case protoreflect.EnumKind:
			c.enum = fd.Enum()
		default:
			return bad()
		}
	default:
		return bad()
	}
	return c, nil
}

func isIntKind(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

// deriveFields returns the row fields of md; stack holds the messages
// being derived, to refuse recursion.
func deriveFields(md protoreflect.MessageDescriptor, stack map[protoreflect.FullName]bool) ([]runtime.Field, error) {
	if stack[md.FullName()] {
		return nil, fmt.Errorf("protobuf message %s is recursive, which rows cannot hold", md.FullName())
	}
	stack[md.FullName()] = true
	defer delete(stack, md.FullName())
	fds := md.Fields()
	out := make([]runtime.Field, fds.Len())
	for i := range fds.Len() {
		fd := fds.Get(i)
		f := runtime.Field{Name: string(fd.Name())}
		switch {
		case fd.IsMap():
			f.Type = runtime.Type{Kind: runtime.KindObject, Open: true}
		case fd.IsList():
			et, err := deriveType(fd, stack)
			if err != nil {
				return nil, err
			}
			f.Type = runtime.Type{Kind: runtime.KindArray, Elem: &et}
		default:
			t, err := deriveType(fd, stack)
			if err != nil {
				return nil, err
			}
			f.Type = t
			f.Nullable = fd.HasPresence() && fd.Cardinality() != protoreflect.Required
		}
		out[i] = f
	}
	return out, nil
}

func deriveType(fd protoreflect.FieldDescriptor, stack map[protoreflect.FullName]bool) (runtime.Type, error) {
	switch k := fd.Kind(); {
	case k == protoreflect.BoolKind:
		return runtime.Type{Kind: runtime.KindBool}, nil
	case isIntKind(k):
		return runtime.Type{Kind: runtime.KindInt}, nil
	case k == protoreflect.DoubleKind || k == protoreflect.FloatKind:
		return runtime.Type{Kind: runtime.KindFloat}, nil
	case k == protoreflect.MessageKind || k == protoreflect.GroupKind:
		fields, err := deriveFields(fd.Message(), stack)
		return runtime.Type{Kind: runtime.KindObject, Fields: fields}, err
	}
	return runtime.Type{Kind: runtime.KindString}, nil
}

func (f *pbField) set(m protoreflect.Message, v runtime.Value) error {
	if v.IsNull() {
		if f.nullable {
			return nil
		}
		return fmt.Errorf("protobuf: field %s: null in a non-nullable field", f.name)
	}
	switch {
	case f.fd.IsMap():
		if v.Kind() != runtime.KindObject {
			return fmt.Errorf("protobuf: field %s: want object, got %s", f.name, v.Kind())
		}
		mp := m.Mutable(f.fd).Map()
		o := v.AsObject()
		for i, k := range o.Keys {
			if o.Values[i].Kind() == runtime.KindAbsent {
				continue
			}
			mk, err := mapKey(f.fd.MapKey().Kind(), k)
			if err != nil {
				return fmt.Errorf("protobuf: field %s: key %q: %w", f.name, k, err)
			}
			pv, err := f.conv.toProto(o.Values[i], mp.NewValue)
			if err != nil {
				return fmt.Errorf("protobuf: field %s[%q]: %w", f.name, k, err)
			}
			mp.Set(mk, pv)
		}
		return nil
	case f.fd.IsList():
		if v.Kind() != runtime.KindArray {
			return fmt.Errorf("protobuf: field %s: want array, got %s", f.name, v.Kind())
		}
		a := v.AsArray()
		if len(a) == 0 {
			return nil
		}
		l := m.Mutable(f.fd).List()
		for i, e := range a {
			pv, err := f.conv.toProto(e, l.NewElement)
			if err != nil {
				return fmt.Errorf("protobuf: field %s[%d]: %w", f.name, i, err)
			}
			l.Append(pv)
		}
		return nil
	}
	pv, err := f.conv.toProto(v, func() protoreflect.Value { return m.NewField(f.fd) })
	if err != nil {
		return fmt.Errorf("protobuf: field %s: %w", f.name, err)
	}
	m.Set(f.fd, pv)
	return nil
}

func mapKey(k protoreflect.Kind, s string) (protoreflect.MapKey, error) {
	switch {
	case k == protoreflect.StringKind:
		return protoreflect.ValueOfString(s).MapKey(), nil
	case k == protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		return protoreflect.ValueOfBool(b).MapKey(), err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return protoreflect.MapKey{}, err
	}
	pv, err := intValue(k, n)
	return pv.MapKey(), err
}

func intValue(k protoreflect.Kind, n int64) (protoreflect.Value, error) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return protoreflect.Value{}, fmt.Errorf("%d overflows %s", n, k)
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n < 0 || n > math.MaxUint32 {
			return protoreflect.Value{}, fmt.Errorf("%d overflows %s", n, k)
		}
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if n < 0 {
			return protoreflect.Value{}, fmt.Errorf("%d overflows %s", n, k)
		}
		return protoreflect.ValueOfUint64(uint64(n)), nil
	}
	return protoreflect.ValueOfInt64(n), nil
}

func (c *pbConv) toProto(v runtime.Value, newMsg func() protoreflect.Value) (protoreflect.Value, error) {
	if c.json {
		if c.rt.Kind == runtime.KindObject && v.Kind() != runtime.KindObject {
			return protoreflect.Value{}, kindError(c.rt, v)
		}
		return protoreflect.ValueOfString(string(runtime.AppendJSON(nil, v))), nil
	}
	if v.IsNull() {
		return protoreflect.Value{}, fmt.Errorf("null where %s is wanted", c.rt)
	}
	if want := c.rt.Kind; v.Kind() != want && (want != runtime.KindFloat || v.Kind() != runtime.KindInt) {
		return protoreflect.Value{}, kindError(c.rt, v)
	}
	switch c.kind {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(v.AsBool()), nil
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(v.AsFloat()), nil
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(v.AsFloat())), nil
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(v.AsString()), nil
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(v.AsString())), nil
	case protoreflect.EnumKind:
		return c.enumValue(v.AsString())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		pv := newMsg()
		m := pv.Message()
		if c.wrap != nil {
			return pv, c.wrap.set(m, v)
		}
		o := v.AsObject()
		for i := range c.msg {
			f := &c.msg[i]
			if f.fd == nil {
				continue
			}
			fv, _ := o.Get(f.name)
			if err := f.set(m, fv); err != nil {
				return pv, err
			}
		}
		return pv, nil
	}
	return intValue(c.kind, v.AsInt())
}

// enumValue encodes s, an enum value name or a decimal number.
func (c *pbConv) enumValue(s string) (protoreflect.Value, error) {
	if ev := c.enum.Values().ByName(protoreflect.Name(s)); ev != nil {
		return protoreflect.ValueOfEnum(ev.Number()), nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return protoreflect.Value{}, fmt.Errorf("%q is not a value of enum %s", s, c.enum.FullName())
	}
	return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
}

func (f *pbField) get(m protoreflect.Message) (runtime.Value, error) {
	switch {
	case f.fd.IsMap():
		mp := m.Get(f.fd).Map()
		keys := make([]protoreflect.MapKey, 0, mp.Len())
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k)
			return true
		})
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
		o := runtime.NewObject(len(keys))
		for _, k := range keys {
			v, err := f.conv.fromProto(mp.Get(k))
			if err != nil {
				return v, fmt.Errorf("protobuf: field %s[%q]: %w", f.name, k.String(), err)
			}
			o.Set(k.String(), v)
		}
		return runtime.ObjectValue(o), nil
	case f.fd.IsList():
		l := m.Get(f.fd).List()
		a := make([]runtime.Value, l.Len())
		for i := range a {
			v, err := f.conv.fromProto(l.Get(i))
			if err != nil {
				return v, fmt.Errorf("protobuf: field %s[%d]: %w", f.name, i, err)
			}
			a[i] = v
		}
		return runtime.ArrayValue(a), nil
	}
	if f.nullable && f.fd.HasPresence() && !m.Has(f.fd) {
		return runtime.Null(), nil
	}
	v, err := f.conv.fromProto(m.Get(f.fd))
	if err != nil {
		return v, fmt.Errorf("protobuf: field %s: %w", f.name, err)
	}
	return v, nil
}

func (c *pbConv) fromProto(pv protoreflect.Value) (runtime.Value, error) {
	if c.json {
		v, err := runtime.ParseJSON([]byte(pv.String()))
		if err == nil && c.rt.Kind == runtime.KindObject && v.Kind() != runtime.KindObject {
			err = fmt.Errorf("open object holds JSON %s", v.Kind())
		}
		return v, err
	}
	switch c.kind {
	case protoreflect.BoolKind:
		return runtime.Bool(pv.Bool()), nil
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		return runtime.Float(pv.Float()), nil
	case protoreflect.StringKind:
		return runtime.String(pv.String()), nil
	case protoreflect.BytesKind:
		return runtime.String(string(pv.Bytes())), nil
	case protoreflect.EnumKind:
		if ev := c.enum.Values().ByNumber(pv.Enum()); ev != nil {
			return runtime.String(string(ev.Name())), nil
		}
		return runtime.String(strconv.Itoa(int(pv.Enum()))), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return runtime.Int(pv.Int()), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		u := pv.Uint()
		if u > math.MaxInt64 {
			return runtime.Null(), fmt.Errorf("%d overflows int", u)
		}
		return runtime.Int(int64(u)), nil
	}
	m := pv.Message()
	if c.wrap != nil {
		if !m.IsValid() {
			return runtime.ArrayValue([]runtime.Value{}), nil
		}
		return c.wrap.get(m)
	}
	o := runtime.NewObject(len(c.msg))
	for i := range c.msg {
		f := &c.msg[i]
		if f.fd == nil {
			continue
		}
		v, err := f.get(m)
		if err != nil {
			return v, err
		}
		o.Set(f.name, v)
	}
	return runtime.ObjectValue(o), nil
}
