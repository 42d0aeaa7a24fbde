package schemas

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/hamba/avro/v2"
	"github.com/rivven/rivven-connect/runtime"
)

// AvroNamespace is the namespace of the record schemas AvroSchema builds.
const AvroNamespace = "rivven"

// AvroSchema returns the Avro schema of records with schema s as plain data
// ready for encoding/json: a record named name (in AvroNamespace) with one
// field per schema field, in order. Fields of kind absent are left out.
//
// The mapping: bool → boolean, int → long, float → double, string →
// string, a closed object → a nested record named <parent>_<field>, an
// array → array of its element type. A nullable field becomes the union
// ["null", T] with default null. Values whose shape is not known in advance
// — open objects and fields or elements of type any — are carried as a
// string holding their compact JSON: a map of string would lose nesting and
// mixed value types, while a JSON string round-trips every runtime.Value.
// A field of type any is always the union ["null", "string"].
func AvroSchema(s *runtime.Schema, name string) map[string]any {
	return avroRecord(name, s.Fields)
}

func avroRecord(name string, fields []runtime.Field) map[string]any {
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		if f.Type.Kind == runtime.KindAbsent {
			continue
		}
		t := avroType(name+"_"+f.Name, f.Type)
		af := map[string]any{"name": f.Name, "type": t}
		if f.Nullable || f.Type.Kind == runtime.KindNull {
			if f.Type.Kind != runtime.KindNull {
				af["type"] = []any{"null", t}
			}
			af["default"] = nil
		}
		out = append(out, af)
	}
	return map[string]any{"type": "record", "name": name, "namespace": AvroNamespace, "fields": out}
}

func avroType(name string, t runtime.Type) any {
	switch t.Kind {
	case runtime.KindBool:
		return "boolean"
	case runtime.KindInt:
		return "long"
	case runtime.KindFloat:
		return "double"
	case runtime.KindString:
		return "string"
	case runtime.KindObject:
		if t.Open {
			return "string"
		}
		r := avroRecord(name, t.Fields)
		delete(r, "namespace")
		return r
	case runtime.KindArray:
		if t.Elem == nil {
			return map[string]any{"type": "array", "items": []any{"null", "string"}}
		}
		return map[string]any{"type": "array", "items": avroType(name+"_item", *t.Elem)}
	}
	return []any{"null", "string"}
}

// AvroCodec encodes and decodes the rows of one runtime.Schema to and from
// Avro binary (the schema AvroSchema builds). It is immutable and safe for
// concurrent use.
type AvroCodec struct {
	rs        *runtime.Schema
	schema    avro.Schema
	canonical string
}

// NewAvroCodec returns the codec of rows with schema s, the Avro record
// being named name. It fails when a field name is not a valid Avro name.
func NewAvroCodec(s *runtime.Schema, name string) (*AvroCodec, error) {
	js, err := json.Marshal(AvroSchema(s, name))
	if err != nil {
		return nil, err
	}
	sch, err := avro.ParseBytesWithCache(js, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("avro schema of %s: %w", name, err)
	}
	return &AvroCodec{rs: s, schema: sch, canonical: sch.String()}, nil
}

// Schema returns the parsed Avro schema.
func (c *AvroCodec) Schema() avro.Schema { return c.schema }

// Canonical returns the schema's Parsing Canonical Form.
func (c *AvroCodec) Canonical() string { return c.canonical }

// Append appends the Avro binary encoding of row (one value per schema
// field, by position, as in runtime.Record.After) to buf. A null or absent
// value in a field that is neither nullable nor of type any, or a value of
// the wrong kind, is an error naming the field.
func (c *AvroCodec) Append(buf []byte, row []runtime.Value) ([]byte, error) {
	for i, f := range c.rs.Fields {
		if f.Type.Kind == runtime.KindAbsent {
			continue
		}
		var v runtime.Value
		if i < len(row) {
			v = row[i]
		}
		var err error
		buf, err = appendField(buf, f, v)
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// Decode decodes one Avro binary record into a row of the codec's schema
// (fields of kind absent are left null). A key of a closed object that was
// missing when encoded comes back as an explicit null; open objects and
// values of type any come back as runtime.ParseJSON gives them.
func (c *AvroCodec) Decode(data []byte) ([]runtime.Value, error) {
	d := decoder{b: data}
	row := make([]runtime.Value, len(c.rs.Fields))
	for i, f := range c.rs.Fields {
		if f.Type.Kind == runtime.KindAbsent {
			continue
		}
		v, err := d.field(f)
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	if d.i != len(d.b) {
		return nil, fmt.Errorf("avro: %d trailing bytes", len(d.b)-d.i)
	}
	return row, nil
}

func appendField(buf []byte, f runtime.Field, v runtime.Value) ([]byte, error) {
	if f.Nullable || f.Type.Kind == runtime.KindNull {
		if v.IsNull() {
			return append(buf, 0), nil
		}
		buf = append(buf, 2) // union branch 1, zig-zag encoded
	} else if v.IsNull() {
		return buf, fmt.Errorf("avro: field %s: null in a non-nullable field", f.Name)
	}
	buf, err := appendValue(buf, f.Type, v)
	if err != nil {
		return buf, fmt.Errorf("avro: field %s: %w", f.Name, err)
	}
	return buf, nil
}

func appendLong(buf []byte, n int64) []byte {
	return binary.AppendUvarint(buf, uint64(n<<1)^uint64(n>>63))
}

func appendValue(buf []byte, t runtime.Type, v runtime.Value) ([]byte, error) {
	switch t.Kind {
	case runtime.KindBool:
		if v.Kind() != runtime.KindBool {
			return buf, kindError(t, v)
		}
		if v.AsBool() {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case runtime.KindInt:
		if v.Kind() != runtime.KindInt {
			return buf, kindError(t, v)
		}
		return appendLong(buf, v.AsInt()), nil
	case runtime.KindFloat:
		if v.Kind() != runtime.KindFloat && v.Kind() != runtime.KindInt {
			return buf, kindError(t, v)
		}
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(v.AsFloat())), nil
	case runtime.KindString:
		if v.Kind() != runtime.KindString {
			return buf, kindError(t, v)
		}
		buf = appendLong(buf, int64(len(v.AsString())))
		return append(buf, v.AsString()...), nil
	case runtime.KindObject:
		if v.Kind() != runtime.KindObject {
			return buf, kindError(t, v)
		}
		if t.Open {
			return appendJSONString(buf, v), nil
		}
		o := v.AsObject()
		for _, f := range t.Fields {
			if f.Type.Kind == runtime.KindAbsent {
				continue
			}
			fv, _ := o.Get(f.Name)
			var err error
			if buf, err = appendField(buf, f, fv); err != nil {
				return buf, err
			}
		}
		return buf, nil
	case runtime.KindArray:
		if v.Kind() != runtime.KindArray {
			return buf, kindError(t, v)
		}
		a := v.AsArray()
		if len(a) > 0 {
			buf = appendLong(buf, int64(len(a)))
			elem := runtime.Field{Name: "[]", Type: runtime.Any}
			if t.Elem != nil {
				elem.Type = *t.Elem
			}
			for _, e := range a {
				var err error
				if buf, err = appendField(buf, elem, e); err != nil {
					return buf, err
				}
			}
		}
		return append(buf, 0), nil
	}
	// any: the union branch was written by appendField.
	return appendJSONString(buf, v), nil
}

func appendJSONString(buf []byte, v runtime.Value) []byte {
	js := runtime.AppendJSON(nil, v)
	buf = appendLong(buf, int64(len(js)))
	return append(buf, js...)
}

func kindError(t runtime.Type, v runtime.Value) error {
	return fmt.Errorf("want %s, got %s", t.Kind, v.Kind())
}

var errShort = errors.New("avro: unexpected end of data")

type decoder struct {
	b []byte
	i int
}

func (d *decoder) long() (int64, error) {
	u, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		return 0, errShort
	}
	d.i += n
	return int64(u>>1) ^ -int64(u&1), nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || int64(len(d.b)-d.i) < n {
		return nil, errShort
	}
	b := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return b, nil
}

func (d *decoder) field(f runtime.Field) (runtime.Value, error) {
	if f.Nullable || f.Type.Kind == runtime.KindNull {
		br, err := d.long()
		if err != nil {
			return runtime.Null(), err
		}
		switch br {
		case 0:
			return runtime.Null(), nil
		case 1:
		default:
			return runtime.Null(), fmt.Errorf("avro: field %s: bad union branch %d", f.Name, br)
		}
	}
	v, err := d.value(f.Type)
	if err != nil {
		return v, fmt.Errorf("avro: field %s: %w", f.Name, err)
	}
	return v, nil
}

func (d *decoder) value(t runtime.Type) (runtime.Value, error) {
	switch t.Kind {
	case runtime.KindBool:
		if d.i >= len(d.b) {
			return runtime.Null(), errShort
		}
		d.i++
		return runtime.Bool(d.b[d.i-1] != 0), nil
	case runtime.KindInt:
		n, err := d.long()
		return runtime.Int(n), err
	case runtime.KindFloat:
		if len(d.b)-d.i < 8 {
			return runtime.Null(), errShort
		}
		d.i += 8
		return runtime.Float(math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.i-8:]))), nil
	case runtime.KindString:
		b, err := d.bytes()
		return runtime.String(string(b)), err
	case runtime.KindObject:
		if t.Open {
			v, err := d.json()
			if err == nil && v.Kind() != runtime.KindObject {
				err = fmt.Errorf("open object holds JSON %s", v.Kind())
			}
			return v, err
		}
		o := runtime.NewObject(len(t.Fields))
		for _, f := range t.Fields {
			if f.Type.Kind == runtime.KindAbsent {
				continue
			}
			v, err := d.field(f)
			if err != nil {
				return runtime.Null(), err
			}
			o.Set(f.Name, v)
		}
		return runtime.ObjectValue(o), nil
	case runtime.KindArray:
		elem := runtime.Field{Name: "[]", Type: runtime.Any}
		if t.Elem != nil {
			elem.Type = *t.Elem
		}
		var a []runtime.Value
		for {
			n, err := d.long()
			if err != nil {
				return runtime.Null(), err
			}
			if n == 0 {
				break
			}
			if n < 0 { // a block with its byte size
				n = -n
				if _, err := d.long(); err != nil {
					return runtime.Null(), err
				}
			}
			if n > int64(len(d.b)-d.i) {
				return runtime.Null(), errShort
			}
			for range n {
				v, err := d.field(elem)
				if err != nil {
					return runtime.Null(), err
				}
				a = append(a, v)
			}
		}
		if a == nil {
			a = []runtime.Value{}
		}
		return runtime.ArrayValue(a), nil
	}
	return d.json()
}

func (d *decoder) json() (runtime.Value, error) {
	b, err := d.bytes()
	if err != nil {
		return runtime.Null(), err
	}
	return runtime.ParseJSON(b)
}
