package wasm

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// codec writes records as binary batches and reads a transform's batch
// back into them. A schema's encoding is computed once per *Schema, and a
// schema a plugin returns byte for byte as the host sent it maps back to
// the same *Schema (so typed stages after the plugin keep theirs). Not
// safe for concurrent use.
type codec struct {
	enc     map[*runtime.Schema][]byte
	byBytes map[string]*runtime.Schema
	idx     map[*runtime.Schema]int
	order   []*runtime.Schema
	buf     []byte
	outs    []*runtime.Schema
}

func newCodec() *codec {
	return &codec{enc: map[*runtime.Schema][]byte{}, byBytes: map[string]*runtime.Schema{}, idx: map[*runtime.Schema]int{}}
}

func (c *codec) schemaBytes(s *runtime.Schema) []byte {
	if b, ok := c.enc[s]; ok {
		return b
	}
	as := toABISchema(s)
	b := abi.AppendSchema(nil, &as)
	c.enc[s] = b
	if _, ok := c.byBytes[string(b)]; !ok {
		c.byBytes[string(b)] = s
	}
	return b
}

// encode writes recs as a binary batch (valid until the next call); pos
// gives each record's position bytes (nil: none).
func (c *codec) encode(recs []*runtime.Record, pos func(*runtime.Record) []byte) []byte {
	clear(c.idx)
	c.order = c.order[:0]
	for _, r := range recs {
		if _, ok := c.idx[r.Schema]; !ok {
			c.idx[r.Schema] = len(c.order)
			c.order = append(c.order, r.Schema)
		}
	}
	b := append(c.buf[:0], 'R', 'V', 'B', 1)
	b = binary.AppendUvarint(b, uint64(len(c.order)))
	for _, s := range c.order {
		b = append(b, c.schemaBytes(s)...)
	}
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for _, r := range recs {
		b = append(b, byte(abi.RecordKeep))
		b = binary.AppendUvarint(b, uint64(c.idx[r.Schema]))
		b = abi.AppendString(b, r.Stream)
		b = abi.AppendString(b, r.Namespace)
		var flags byte
		if r.After != nil {
			flags |= abi.FlagAfter
		}
		if r.Before != nil {
			flags |= abi.FlagBefore
		}
		if r.Meta != nil {
			flags |= abi.FlagMeta
		}
		if !r.Time.IsZero() {
			flags |= abi.FlagTime
		}
		b = append(b, byte(r.Op), flags)
		if flags&abi.FlagTime != 0 {
			b = binary.AppendVarint(b, r.Time.UnixNano())
		}
		if pos != nil {
			b = abi.AppendString(b, string(pos(r)))
		} else {
			b = append(b, 0)
		}
		if r.After != nil {
			b = appendValues(b, r.After)
		}
		if r.Before != nil {
			b = appendValues(b, r.Before)
		}
		if r.Meta != nil {
			b = appendObject(b, r.Meta)
		}
	}
	c.buf = b
	return b
}

func appendValues(b []byte, vs []runtime.Value) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendValue(b, v)
	}
	return b
}

func appendObject(b []byte, o *runtime.Object) []byte {
	b = binary.AppendUvarint(b, uint64(len(o.Keys)))
	for i, k := range o.Keys {
		b = abi.AppendString(b, k)
		b = appendValue(b, o.Values[i])
	}
	return b
}

func appendValue(b []byte, v runtime.Value) []byte {
	k := v.Kind()
	b = append(b, byte(k))
	switch k {
	case runtime.KindBool:
		if v.AsBool() {
			return append(b, 1)
		}
		return append(b, 0)
	case runtime.KindInt:
		return binary.AppendVarint(b, v.AsInt())
	case runtime.KindFloat:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.AsFloat()))
	case runtime.KindString:
		return abi.AppendString(b, v.AsString())
	case runtime.KindObject:
		return appendObject(b, v.AsObject())
	case runtime.KindArray:
		return appendValues(b, v.AsArray())
	}
	return b
}

// verdict is a transform's result for one record.
type verdict struct {
	status abi.RecordStatus
	err    string
}

// decodeTransform reads a transform's binary batch into recs, one output
// record per input record, and returns each record's verdict in out. A
// record the plugin drops or fails is left as it was. keeps: the plugin
// promised keeps_schema; a record whose schema changed then fails.
func (c *codec) decodeTransform(b []byte, recs []*runtime.Record, keeps bool, out []verdict) error {
	d := abi.NewDecoder(b)
	d.Magic()
	ns := d.Count(2)
	c.outs = c.outs[:0]
	for range ns {
		start := d.Offset()
		s := d.Schema()
		if d.Err() != nil {
			break
		}
		raw := b[start:d.Offset()]
		rs, ok := c.byBytes[string(raw)]
		if !ok {
			rs = fromABISchema(&s)
			c.byBytes[string(raw)] = rs
		}
		c.outs = append(c.outs, rs)
	}
	nr := d.Count(6)
	if d.Err() == nil && nr != len(recs) {
		return fmt.Errorf("it returned %d records for a batch of %d (a transform returns one record for each it gets, with status drop for those it filters out)", nr, len(recs))
	}
	for i := 0; i < nr && d.Err() == nil; i++ {
		r := recs[i]
		h := d.Head(ns)
		if d.Err() != nil {
			break
		}
		s := c.outs[h.Schema]
		out[i] = verdict{status: h.Status, err: h.Error}
		if h.Status == abi.RecordKeep && keeps && s != r.Schema {
			out[i] = verdict{status: abi.RecordError, err: fmt.Sprintf("its manifest says keeps_schema, but it changed the fields of stream %q to [%s]", r.Stream, names(s))}
		}
		apply := out[i].status == abi.RecordKeep
		width := len(s.Fields)
		var after, before []runtime.Value
		if h.Flags&abi.FlagAfter != 0 {
			after = c.values(d, width, r.After, apply && s == r.Schema)
		}
		if h.Flags&abi.FlagBefore != 0 {
			before = c.values(d, width, r.Before, apply && s == r.Schema)
		}
		var meta *runtime.Object
		if h.Flags&abi.FlagMeta != 0 {
			meta = decodeObject(d, 0, nil)
		}
		if !apply || d.Err() != nil {
			continue
		}
		r.Schema, r.Stream, r.Namespace, r.Op = s, h.Stream, h.Namespace, runtime.Op(h.Op)
		r.After, r.Before, r.Meta = after, before, meta
		if h.Flags&abi.FlagTime != 0 {
			r.Time = nanosTime(h.TimeNanos)
		}
	}
	if d.Err() == nil && !d.Done() {
		return fmt.Errorf("its batch has bytes after the last record")
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("its batch is malformed: %v", err)
	}
	return nil
}

// values reads one row of width values. inPlace: old is the record's own
// row of the same schema, which the values are written into; a string
// equal to the one it replaces keeps the old value (no copy).
func (c *codec) values(d *abi.Decoder, width int, old []runtime.Value, inPlace bool) []runtime.Value {
	n := d.Count(1)
	if d.Err() != nil {
		return nil
	}
	if n != width {
		d.Fail("a row has %d values for a schema of %d fields", n, width)
		return nil
	}
	var row []runtime.Value
	if inPlace && len(old) == n {
		row = old
	} else {
		row = make([]runtime.Value, n)
	}
	for i := 0; i < n && d.Err() == nil; i++ {
		var prev runtime.Value
		if i < len(old) {
			prev = old[i]
		}
		row[i] = decodeValue(d, 0, prev)
	}
	return row
}

// decodeValue reads one value; prev is the value it replaces, kept when
// the plugin returned the same string.
func decodeValue(d *abi.Decoder, depth int, prev runtime.Value) runtime.Value {
	if depth > abi.MaxDepth {
		d.Fail("values nested deeper than %d", abi.MaxDepth)
		return runtime.Null()
	}
	switch k := abi.Kind(d.Byte()); k {
	case abi.KindNull:
		return runtime.Null()
	case abi.KindAbsent:
		return runtime.Absent()
	case abi.KindBool:
		c := d.Byte()
		if c > 1 {
			d.Fail("bad bool %d", c)
		}
		return runtime.Bool(c == 1)
	case abi.KindInt:
		return runtime.Int(d.Varint())
	case abi.KindFloat:
		return runtime.Float(math.Float64frombits(d.Uint64()))
	case abi.KindString:
		bs := d.Bytes()
		if !utf8.Valid(bs) {
			d.Fail("string is not valid UTF-8")
			return runtime.Null()
		}
		if prev.Kind() == runtime.KindString && prev.AsString() == string(bs) {
			return prev
		}
		s := string(bs)
		return runtime.String(s)
	case abi.KindObject:
		return runtime.ObjectValue(decodeObject(d, depth+1, nil))
	case abi.KindArray:
		n := d.Count(1)
		a := make([]runtime.Value, 0, n)
		for i := 0; i < n && d.Err() == nil; i++ {
			a = append(a, decodeValue(d, depth+1, runtime.Null()))
		}
		return runtime.ArrayValue(a)
	default:
		d.Fail("bad value kind %d", k)
		return runtime.Null()
	}
}

func decodeObject(d *abi.Decoder, depth int, _ *runtime.Object) *runtime.Object {
	n := d.Count(2)
	o := runtime.NewObject(n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.String()
		o.Set(k, decodeValue(d, depth, runtime.Null()))
	}
	return o
}

func names(s *runtime.Schema) string {
	out := ""
	for i, f := range s.Fields {
		if i > 0 {
			out += ", "
		}
		out += f.Name
	}
	return out
}
