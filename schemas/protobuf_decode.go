package schemas

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The direct decoder reads the binary form straight into runtime values,
// for the codecs the direct encoder serves (see pbDirect). It follows
// proto.Unmarshal: the last occurrence of a singular field wins, packed and
// unpacked lists are both accepted, fields of unknown number or of the
// wrong wire type are skipped. A singular message field that occurs twice
// (which Protobuf merges) is left to the dynamicpb path.

var errMerge = errors.New("protobuf: singular message field repeated")

// decodeDirect decodes one message of fields from b.
func decodeDirect(fields []pbField, b []byte) ([]runtime.Value, error) {
	row := make([]runtime.Value, len(fields))
	seen := make([]bool, len(fields))
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("protobuf: %w", protowire.ParseError(n))
		}
		if num > protowire.MaxValidNumber {
			return nil, fmt.Errorf("protobuf: field number %d is out of range", num)
		}
		b = b[n:]
		i := fieldByNumber(fields, num)
		var f *pbField
		if i >= 0 {
			f = &fields[i]
		}
		switch {
		case f == nil:
		case f.list && typ == protowire.BytesType && f.packable():
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, fmt.Errorf("protobuf: field %s: %w", f.name, protowire.ParseError(m))
			}
			b = b[m:]
			a := row[i].AsArray()
			for len(v) > 0 {
				e, k, err := f.conv.consume(wireType(f.conv.kind), v)
				if err != nil {
					return nil, fmt.Errorf("protobuf: field %s[%d]: %w", f.name, len(a), err)
				}
				v = v[k:]
				a = append(a, e)
			}
			row[i], seen[i] = runtime.ArrayValue(a), true
			continue
		case typ != wireType(f.conv.kind):
		case f.list:
			e, m, err := f.conv.consume(typ, b)
			if err != nil {
				return nil, fmt.Errorf("protobuf: field %s[%d]: %w", f.name, len(row[i].AsArray()), err)
			}
			b = b[m:]
			row[i], seen[i] = runtime.ArrayValue(append(row[i].AsArray(), e)), true
			continue
		default:
			if seen[i] && f.conv.kind == protoreflect.MessageKind {
				return nil, errMerge
			}
			v, m, err := f.conv.consume(typ, b)
			if err != nil {
				return nil, fmt.Errorf("protobuf: field %s: %w", f.name, err)
			}
			b = b[m:]
			row[i], seen[i] = v, true
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, fmt.Errorf("protobuf: field %d: %w", num, protowire.ParseError(m))
		}
		b = b[m:]
	}
	for i := range fields {
		f := &fields[i]
		if f.fd == nil || seen[i] {
			continue
		}
		v, err := f.unset()
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

func fieldByNumber(fields []pbField, num protowire.Number) int {
	// ProtobufSchema numbers fields by position.
	if i := int(num) - 1; i >= 0 && i < len(fields) && fields[i].fd != nil && fields[i].num == num {
		return i
	}
	for i := range fields {
		if fields[i].fd != nil && fields[i].num == num {
			return i
		}
	}
	return -1
}

// packable reports whether the list's elements may be packed.
func (f *pbField) packable() bool {
	return wireType(f.conv.kind) != protowire.BytesType
}

// unset returns the value of a field absent from the message.
func (f *pbField) unset() (runtime.Value, error) {
	switch {
	case f.list:
		return runtime.ArrayValue([]runtime.Value{}), nil
	case f.nullable && f.presence:
		return runtime.Null(), nil
	case f.conv.wrap != nil:
		return runtime.ArrayValue([]runtime.Value{}), nil
	case f.conv.kind == protoreflect.MessageKind:
		row, err := decodeDirect(f.conv.msg, nil)
		if err != nil {
			return runtime.Null(), err
		}
		return f.conv.object(row), nil
	}
	v, err := f.conv.fromProto(f.fd.Default())
	if err != nil {
		return v, fmt.Errorf("protobuf: field %s: %w", f.name, err)
	}
	return v, nil
}

// object builds the closed object of a decoded message row.
func (c *pbConv) object(row []runtime.Value) runtime.Value {
	o := runtime.NewObject(len(c.msg))
	for i := range c.msg {
		if c.msg[i].fd != nil {
			o.Set(c.msg[i].name, row[i])
		}
	}
	return runtime.ObjectValue(o)
}

// consume reads one value of wire type typ (which matches the field's
// kind) from b and returns it with the bytes read.
func (c *pbConv) consume(typ protowire.Type, b []byte) (runtime.Value, int, error) {
	switch typ {
	case protowire.VarintType:
		u, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return runtime.Null(), 0, protowire.ParseError(n)
		}
		v, err := c.varint(u)
		return v, n, err
	case protowire.Fixed32Type:
		u, n := protowire.ConsumeFixed32(b)
		if n < 0 {
			return runtime.Null(), 0, protowire.ParseError(n)
		}
		switch c.kind {
		case protoreflect.FloatKind:
			return runtime.Float(float64(math.Float32frombits(u))), n, nil
		case protoreflect.Sfixed32Kind:
			return runtime.Int(int64(int32(u))), n, nil
		}
		return runtime.Int(int64(u)), n, nil
	case protowire.Fixed64Type:
		u, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return runtime.Null(), 0, protowire.ParseError(n)
		}
		switch c.kind {
		case protoreflect.DoubleKind:
			return runtime.Float(math.Float64frombits(u)), n, nil
		case protoreflect.Sfixed64Kind:
			return runtime.Int(int64(u)), n, nil
		}
		if u > math.MaxInt64 {
			return runtime.Null(), 0, fmt.Errorf("%d overflows int", u)
		}
		return runtime.Int(int64(u)), n, nil
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return runtime.Null(), 0, protowire.ParseError(n)
	}
	if c.utf8 && c.kind == protoreflect.StringKind && !utf8.Valid(v) {
		return runtime.Null(), 0, fmt.Errorf("string is not valid UTF-8")
	}
	switch {
	case c.json:
		out, err := runtime.ParseJSON(v)
		if err == nil && c.rt.Kind == runtime.KindObject && out.Kind() != runtime.KindObject {
			err = fmt.Errorf("open object holds JSON %s", out.Kind())
		}
		return out, n, err
	case c.kind == protoreflect.StringKind || c.kind == protoreflect.BytesKind:
		return runtime.String(string(v)), n, nil
	case c.wrap != nil:
		row, err := decodeDirect([]pbField{*c.wrap}, v)
		if err != nil {
			return runtime.Null(), 0, err
		}
		return row[0], n, nil
	}
	row, err := decodeDirect(c.msg, v)
	if err != nil {
		return runtime.Null(), 0, err
	}
	return c.object(row), n, nil
}

func (c *pbConv) varint(u uint64) (runtime.Value, error) {
	switch c.kind {
	case protoreflect.BoolKind:
		return runtime.Bool(u != 0), nil
	case protoreflect.Int32Kind:
		return runtime.Int(int64(int32(u))), nil
	case protoreflect.Uint32Kind:
		return runtime.Int(int64(uint32(u))), nil
	case protoreflect.Sint32Kind:
		return runtime.Int(int64(int32(protowire.DecodeZigZag(u & math.MaxUint32)))), nil
	case protoreflect.Sint64Kind:
		return runtime.Int(protowire.DecodeZigZag(u)), nil
	case protoreflect.Uint64Kind:
		if u > math.MaxInt64 {
			return runtime.Null(), fmt.Errorf("%d overflows int", u)
		}
	case protoreflect.EnumKind:
		return c.fromProto(protoreflect.ValueOfEnum(protoreflect.EnumNumber(int32(u))))
	}
	return runtime.Int(int64(u)), nil
}
