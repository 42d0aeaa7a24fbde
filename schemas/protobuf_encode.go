package schemas

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The direct encoder writes the binary form straight from runtime values,
// walking the bound descriptor plan instead of building a dynamicpb message
// (about 25 times faster, no allocations). It produces exactly what
// proto.Marshal with Deterministic set would for the same message: fields
// in declaration order, proto3 fields without presence left out when zero,
// packed repeated scalars. Messages with maps or proto2 groups take the
// dynamicpb path instead (see pbDirect).

// pbDirect reports whether fields can be encoded directly: no maps, no
// groups, no oneofs (where setting one member clears the others), no
// proto2 required fields (whose absence proto.Unmarshal rejects), and
// fields declared in number order (as Go's marshaller writes them).
func pbDirect(fields []pbField) bool {
	last := protoreflect.FieldNumber(0)
	for i := range fields {
		f := &fields[i]
		if f.fd == nil {
			continue
		}
		if f.fd.IsMap() || f.fd.Kind() == protoreflect.GroupKind || f.fd.Number() < last ||
			isRealOneof(f.fd) || f.fd.Cardinality() == protoreflect.Required {
			return false
		}
		last = f.fd.Number()
		if f.conv.msg != nil && !pbDirect(f.conv.msg) {
			return false
		}
		if f.conv.wrap != nil && !pbDirect([]pbField{*f.conv.wrap}) {
			return false
		}
	}
	return true
}

func (f *pbField) appendTo(buf []byte, v runtime.Value) ([]byte, error) {
	if v.IsNull() {
		if f.nullable {
			return buf, nil
		}
		return buf, fmt.Errorf("protobuf: field %s: null in a non-nullable field", f.name)
	}
	num := f.num
	if f.list {
		if v.Kind() != runtime.KindArray {
			return buf, fmt.Errorf("protobuf: field %s: want array, got %s", f.name, v.Kind())
		}
		a := v.AsArray()
		if len(a) == 0 {
			return buf, nil
		}
		var err error
		if f.packed {
			buf = protowire.AppendTag(buf, num, protowire.BytesType)
			start := len(buf)
			buf = append(buf, 0)
			for i, e := range a {
				if buf, err = f.conv.appendScalar(buf, e); err != nil {
					return buf, fmt.Errorf("protobuf: field %s[%d]: %w", f.name, i, err)
				}
			}
			return finishLen(buf, start), nil
		}
		for i, e := range a {
			if buf, err = f.conv.appendValue(buf, num, e, true); err != nil {
				return buf, fmt.Errorf("protobuf: field %s[%d]: %w", f.name, i, err)
			}
		}
		return buf, nil
	}
	buf, err := f.conv.appendValue(buf, num, v, f.presence)
	if err != nil {
		return buf, fmt.Errorf("protobuf: field %s: %w", f.name, err)
	}
	return buf, nil
}

// finishLen writes the length of buf[start+1:] as a varint at start, where
// one byte was reserved, moving the data when the varint is longer.
func finishLen(buf []byte, start int) []byte {
	n := len(buf) - start - 1
	sz := protowire.SizeVarint(uint64(n))
	if sz == 1 {
		buf[start] = byte(n)
		return buf
	}
	for range sz - 1 {
		buf = append(buf, 0)
	}
	copy(buf[start+sz:], buf[start+1:start+1+n])
	protowire.AppendVarint(buf[:start], uint64(n))
	return buf
}

// appendValue appends one value with its tag; with always unset (proto3
// fields without presence) a zero scalar is left out.
func (c *pbConv) appendValue(buf []byte, num protoreflect.FieldNumber, v runtime.Value, always bool) ([]byte, error) {
	if c.json {
		if c.rt.Kind == runtime.KindObject && v.Kind() != runtime.KindObject {
			return buf, kindError(c.rt, v)
		}
		buf = protowire.AppendTag(buf, num, protowire.BytesType)
		start := len(buf)
		buf = runtime.AppendJSON(append(buf, 0), v)
		return finishLen(buf, start), nil
	}
	if v.IsNull() {
		return buf, fmt.Errorf("null where %s is wanted", c.rt)
	}
	if want := c.rt.Kind; v.Kind() != want && (want != runtime.KindFloat || v.Kind() != runtime.KindInt) {
		return buf, kindError(c.rt, v)
	}
	if c.kind == protoreflect.MessageKind {
		buf = protowire.AppendTag(buf, num, protowire.BytesType)
		start := len(buf)
		buf = append(buf, 0)
		var err error
		if c.wrap != nil {
			buf, err = c.wrap.appendTo(buf, v)
		} else {
			o := v.AsObject()
			for i := range c.msg {
				f := &c.msg[i]
				if f.fd == nil {
					continue
				}
				fv, _ := o.Get(f.name)
				if buf, err = f.appendTo(buf, fv); err != nil {
					break
				}
			}
		}
		return finishLen(buf, start), err
	}
	if !always && c.zero(v) {
		return buf, nil
	}
	buf = protowire.AppendTag(buf, num, wireType(c.kind))
	return c.appendScalar(buf, v)
}

// zero reports whether v encodes as the field's default.
func (c *pbConv) zero(v runtime.Value) bool {
	switch c.kind {
	case protoreflect.BoolKind:
		return !v.AsBool()
	case protoreflect.DoubleKind:
		return math.Float64bits(v.AsFloat()) == 0
	case protoreflect.FloatKind:
		return math.Float32bits(float32(v.AsFloat())) == 0
	case protoreflect.StringKind, protoreflect.BytesKind:
		return v.AsString() == ""
	case protoreflect.EnumKind:
		ev := c.enum.Values().ByName(protoreflect.Name(v.AsString()))
		return ev != nil && ev.Number() == 0 || v.AsString() == "0"
	}
	return v.AsInt() == 0
}

func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	}
	return protowire.VarintType
}

// appendScalar appends a scalar value without its tag (as in a packed
// list), checking its kind and range.
func (c *pbConv) appendScalar(buf []byte, v runtime.Value) ([]byte, error) {
	if v.IsNull() {
		return buf, fmt.Errorf("null where %s is wanted", c.rt)
	}
	if want := c.rt.Kind; v.Kind() != want && (want != runtime.KindFloat || v.Kind() != runtime.KindInt) {
		return buf, kindError(c.rt, v)
	}
	switch c.kind {
	case protoreflect.BoolKind:
		if v.AsBool() {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case protoreflect.DoubleKind:
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(v.AsFloat())), nil
	case protoreflect.FloatKind:
		return binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(v.AsFloat()))), nil
	case protoreflect.StringKind, protoreflect.BytesKind:
		s := v.AsString()
		if c.kind == protoreflect.StringKind && c.utf8 && !utf8.ValidString(s) {
			return buf, fmt.Errorf("string is not valid UTF-8")
		}
		buf = protowire.AppendVarint(buf, uint64(len(s)))
		return append(buf, s...), nil
	case protoreflect.EnumKind:
		pv, err := c.enumValue(v.AsString())
		if err != nil {
			return buf, err
		}
		return protowire.AppendVarint(buf, uint64(int64(pv.Enum()))), nil
	}
	pv, err := intValue(c.kind, v.AsInt())
	if err != nil {
		return buf, err
	}
	switch c.kind {
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		return protowire.AppendVarint(buf, uint64(pv.Int())), nil
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return protowire.AppendVarint(buf, protowire.EncodeZigZag(pv.Int())), nil
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return protowire.AppendVarint(buf, pv.Uint()), nil
	case protoreflect.Sfixed32Kind:
		return binary.LittleEndian.AppendUint32(buf, uint32(pv.Int())), nil
	case protoreflect.Fixed32Kind:
		return binary.LittleEndian.AppendUint32(buf, uint32(pv.Uint())), nil
	case protoreflect.Sfixed64Kind:
		return binary.LittleEndian.AppendUint64(buf, uint64(pv.Int())), nil
	case protoreflect.Fixed64Kind:
		return binary.LittleEndian.AppendUint64(buf, pv.Uint()), nil
	}
	return buf, fmt.Errorf("protobuf kind %s is not supported", c.kind)
}
