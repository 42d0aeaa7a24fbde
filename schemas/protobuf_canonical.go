package schemas

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// ProtobufCanonical returns a normalised .proto text of fd, printed from
// the compiled descriptor so that comments, whitespace, the order of
// imports and options, and how type names were spelled in the source do
// not change it. Declarations keep their source order (it is part of the
// schema: Confluent message indexes count it), type references are fully
// qualified with a leading dot, options are printed sorted by field
// number. Two files with the same canonical text describe the same wire
// format; feed it to CanonicalFingerprints for MD5 and SHA-256 digests.
// Proto2 groups are printed as message fields.
func ProtobufCanonical(fd protoreflect.FileDescriptor) string {
	p := &protoPrinter{}
	if fd.Syntax() == protoreflect.Editions {
		p.line(0, "edition = %q;", editionName(fd))
	} else {
		p.line(0, "syntax = %q;", fd.Syntax().String())
	}
	if fd.Package() != "" {
		p.line(0, "package %s;", fd.Package())
	}
	imps := make([]string, 0, fd.Imports().Len())
	for i := range fd.Imports().Len() {
		imp := fd.Imports().Get(i)
		mod := ""
		if imp.IsPublic {
			mod = "public "
		}
		imps = append(imps, fmt.Sprintf("import %s%q;", mod, imp.Path()))
	}
	sort.Strings(imps)
	for _, s := range imps {
		p.line(0, "%s", s)
	}
	p.options(0, fd.Options())
	p.decls(0, fd.Messages(), fd.Enums(), fd.Extensions())
	for i := range fd.Services().Len() {
		sd := fd.Services().Get(i)
		p.line(0, "service %s {", sd.Name())
		p.options(1, sd.Options())
		for j := range sd.Methods().Len() {
			md := sd.Methods().Get(j)
			in, out := "", ""
			if md.IsStreamingClient() {
				in = "stream "
			}
			if md.IsStreamingServer() {
				out = "stream "
			}
			p.line(1, "rpc %s(%s.%s) returns (%s.%s) {", md.Name(), in, md.Input().FullName(), out, md.Output().FullName())
			p.options(2, md.Options())
			p.line(1, "}")
		}
		p.line(0, "}")
	}
	return p.b.String()
}

func editionName(fd protoreflect.FileDescriptor) string {
	type editioned interface{ Edition() int32 }
	if e, ok := fd.(editioned); ok {
		switch e.Edition() {
		case 1000:
			return "2023"
		case 1001:
			return "2024"
		}
		return strconv.Itoa(int(e.Edition()))
	}
	return "unknown"
}

type protoPrinter struct{ b strings.Builder }

func (p *protoPrinter) line(depth int, format string, args ...any) {
	p.b.WriteString(strings.Repeat("  ", depth))
	fmt.Fprintf(&p.b, format, args...)
	p.b.WriteByte('\n')
}

func (p *protoPrinter) decls(depth int, msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors, exts protoreflect.ExtensionDescriptors) {
	for i := range msgs.Len() {
		if md := msgs.Get(i); !md.IsMapEntry() {
			p.message(depth, md)
		}
	}
	for i := range enums.Len() {
		p.enum(depth, enums.Get(i))
	}
	for i := range exts.Len() {
		xd := exts.Get(i)
		p.line(depth, "extend .%s {", xd.ContainingMessage().FullName())
		p.field(depth+1, xd)
		p.line(depth, "}")
	}
}

func (p *protoPrinter) message(depth int, md protoreflect.MessageDescriptor) {
	p.line(depth, "message %s {", md.Name())
	p.options(depth+1, md.Options())
	fields := md.Fields()
	for i := 0; i < fields.Len(); {
		fd := fields.Get(i)
		od := fd.ContainingOneof()
		if od == nil || od.IsSynthetic() {
			p.field(depth+1, fd)
			i++
			continue
		}
		p.line(depth+1, "oneof %s {", od.Name())
		p.options(depth+2, od.Options())
		for j := range od.Fields().Len() {
			p.field(depth+2, od.Fields().Get(j))
		}
		p.line(depth+1, "}")
		for i < fields.Len() && fields.Get(i).ContainingOneof() == od {
			i++
		}
	}
	p.ranges(depth+1, "reserved", md.ReservedRanges())
	p.names(depth+1, md.ReservedNames())
	p.ranges(depth+1, "extensions", md.ExtensionRanges())
	p.decls(depth+1, md.Messages(), md.Enums(), md.Extensions())
	p.line(depth, "}")
}

func (p *protoPrinter) ranges(depth int, word string, rs interface {
	Len() int
	Get(int) [2]protoreflect.FieldNumber
}) {
	if rs.Len() == 0 {
		return
	}
	parts := make([]string, rs.Len())
	for i := range parts {
		r := rs.Get(i) // [start, end)
		switch {
		case r[1]-1 == r[0]:
			parts[i] = strconv.Itoa(int(r[0]))
		case r[1]-1 == 1<<29-1:
			parts[i] = fmt.Sprintf("%d to max", r[0])
		default:
			parts[i] = fmt.Sprintf("%d to %d", r[0], r[1]-1)
		}
	}
	p.line(depth, "%s %s;", word, strings.Join(parts, ", "))
}

func (p *protoPrinter) names(depth int, ns protoreflect.Names) {
	if ns.Len() == 0 {
		return
	}
	parts := make([]string, ns.Len())
	for i := range parts {
		parts[i] = protoQuote(string(ns.Get(i)))
	}
	p.line(depth, "reserved %s;", strings.Join(parts, ", "))
}

func (p *protoPrinter) field(depth int, fd protoreflect.FieldDescriptor) {
	label := ""
	switch {
	case fd.IsMap():
	case fd.IsList():
		label = "repeated "
	case fd.Cardinality() == protoreflect.Required:
		label = "required "
	case fd.ParentFile().Syntax() == protoreflect.Proto2 && fd.ContainingOneof() == nil:
		label = "optional "
	case fd.HasOptionalKeyword():
		label = "optional "
	}
	var opts []string
	if fd.HasDefault() {
		opts = append(opts, "default = "+defaultText(fd))
	}
	if !fd.IsExtension() && fd.HasJSONName() && fd.JSONName() != jsonCamel(string(fd.Name())) {
		opts = append(opts, "json_name = "+protoQuote(fd.JSONName()))
	}
	opts = append(opts, optionList(fd.Options())...)
	suffix := ""
	if len(opts) > 0 {
		suffix = " [" + strings.Join(opts, ", ") + "]"
	}
	p.line(depth, "%s%s %s = %d%s;", label, fieldTypeName(fd), fd.Name(), fd.Number(), suffix)
}

func fieldTypeName(fd protoreflect.FieldDescriptor) string {
	if fd.IsMap() {
		return "map<" + fieldTypeName(fd.MapKey()) + ", " + fieldTypeName(fd.MapValue()) + ">"
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "." + string(fd.Message().FullName())
	case protoreflect.EnumKind:
		return "." + string(fd.Enum().FullName())
	}
	return fd.Kind().String()
}

func defaultText(fd protoreflect.FieldDescriptor) string {
	v := fd.Default()
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return string(fd.DefaultEnumValue().Name())
	case protoreflect.StringKind:
		return protoQuote(v.String())
	case protoreflect.BytesKind:
		return protoQuote(string(v.Bytes()))
	}
	return fmt.Sprint(v.Interface())
}

// jsonCamel is protoc's default JSON name: underscores dropped, the letter
// after each capitalised.
func jsonCamel(s string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func (p *protoPrinter) enum(depth int, ed protoreflect.EnumDescriptor) {
	p.line(depth, "enum %s {", ed.Name())
	p.options(depth+1, ed.Options())
	for i := range ed.Values().Len() {
		ev := ed.Values().Get(i)
		suffix := ""
		if o := optionList(ev.Options()); len(o) > 0 {
			suffix = " [" + strings.Join(o, ", ") + "]"
		}
		p.line(depth+1, "%s = %d%s;", ev.Name(), ev.Number(), suffix)
	}
	p.ranges(depth+1, "reserved", enumRanges{ed.ReservedRanges()})
	p.names(depth+1, ed.ReservedNames())
	p.line(depth, "}")
}

// enumRanges adapts enum reserved ranges (inclusive) to the printer's
// [start, end) field-number ranges.
type enumRanges struct{ r protoreflect.EnumRanges }

func (e enumRanges) Len() int { return e.r.Len() }

func (e enumRanges) Get(i int) [2]protoreflect.FieldNumber {
	r := e.r.Get(i)
	return [2]protoreflect.FieldNumber{protoreflect.FieldNumber(r[0]), protoreflect.FieldNumber(r[1]) + 1}
}

func (p *protoPrinter) options(depth int, opts protoreflect.ProtoMessage) {
	for _, o := range optionList(opts) {
		p.line(depth, "option %s;", o)
	}
}

// optionList renders the set options of opts as "name = value", sorted by
// field number; extensions (custom options) are named in parentheses.
func optionList(opts protoreflect.ProtoMessage) []string {
	if opts == nil {
		return nil
	}
	m := opts.ProtoReflect()
	if !m.IsValid() {
		return nil
	}
	type opt struct {
		num  protoreflect.FieldNumber
		text string
	}
	var out []opt
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := string(fd.Name())
		if fd.IsExtension() {
			name = "(" + string(fd.FullName()) + ")"
		}
		if fd.IsList() {
			for i := range v.List().Len() {
				out = append(out, opt{fd.Number(), name + " = " + optionValue(fd, v.List().Get(i))})
			}
		} else {
			out = append(out, opt{fd.Number(), name + " = " + optionValue(fd, v)})
		}
		return true
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].num < out[j].num })
	texts := make([]string, len(out))
	for i, o := range out {
		texts[i] = o.text
	}
	return texts
}

func optionValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.StringKind:
		return protoQuote(v.String())
	case protoreflect.BytesKind:
		return protoQuote(string(v.Bytes()))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "{ " + strings.Join(optionList(v.Message().Interface()), " ") + " }"
	}
	return fmt.Sprint(v.Interface())
}

// ParseProtobufCanonical compiles the .proto source text (see
// CompileProtobuf) and returns its canonical text (see ProtobufCanonical).
func ParseProtobufCanonical(text string) (string, error) {
	fd, err := CompileProtobuf(text)
	if err != nil {
		return "", err
	}
	return ProtobufCanonical(fd), nil
}

// ProtobufFingerprints returns the MD5 and SHA-256 digests of fd's
// canonical text (CRC64 is zero: it is Avro's).
func ProtobufFingerprints(fd protoreflect.FileDescriptor) Fingerprints {
	return CanonicalFingerprints(ProtobufCanonical(fd))
}

// protoQuote quotes s as a .proto string literal: printable ASCII as is,
// quotes and backslashes escaped, every other byte as an octal escape, so
// any byte string round-trips through the compiler.
func protoQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := range len(s) {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
