package abi

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"
)

// Kind is a value's type tag; the numbers are the host's value kinds.
type Kind uint8

// The kinds. KindAbsent marks a field a transform removed.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindObject
	KindArray
	KindAbsent
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "object", "array", "absent"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + itoa(uint64(k))
}

// Value is one field value. Only the member of its Kind is meaningful.
type Value struct {
	Kind  Kind
	Bool  bool
	Int   int64
	Float float64
	Str   string
	Obj   []Member
	Arr   []Value
}

// Member is one key of an object value, in order.
type Member struct {
	Key   string
	Value Value
}

// Field is a top-level field of a schema. Kind is KindNull for a field of
// any type, else the kind its values have (or null when Nullable).
type Field struct {
	Name     string
	Kind     Kind
	Nullable bool
}

// Schema is the ordered list of a stream's top-level fields; a record's
// After and Before hold one value per field, by position.
type Schema struct {
	Fields []Field
	// Key lists the positions of the fields that identify a row.
	Key []int
}

// Op is what a record says happened (the host's record operations).
type Op uint8

// The operations.
const (
	OpRecord Op = iota
	OpInsert
	OpUpdate
	OpDelete
	OpSnapshot
	OpTruncate
)

// RecordStatus is what a transform did with a record.
type RecordStatus uint8

// The record statuses. Records the host sends are StatusKeep.
const (
	RecordKeep  RecordStatus = 0 // the record goes on
	RecordDrop  RecordStatus = 1 // the record is dropped (a filter)
	RecordError RecordStatus = 2 // the record failed; Error says why
)

// Record is one record of a batch.
type Record struct {
	// Status and Error: a transform's verdict on the record.
	Status RecordStatus
	Error  string
	// Schema is the index of the record's schema in Batch.Schemas.
	Schema    int
	Stream    string
	Namespace string
	Op        Op
	// TimeNanos is the event time in Unix nanoseconds, when HasTime.
	TimeNanos int64
	HasTime   bool
	// Position: a source's resume point for the record (opaque bytes the
	// host hands back in rivven_ack and InitRequest.Resume); the host
	// sets it on records it sends to a sink (the position's text, for
	// idempotency keys) and leaves it empty for transforms.
	Position []byte
	// After and Before: one value per schema field; nil when the record
	// has none (a delete has no After, an insert no Before).
	After, Before []Value
	// Meta is the record's free metadata; nil when none.
	Meta []Member
}

// Batch is the records of one call with the schemas they use.
type Batch struct {
	Schemas []Schema
	Records []Record
}

// The binary batch: "RVB" and the version byte, then
//
//	uvarint #schemas, each: uvarint #fields, each (string name, u8 kind,
//	    u8 nullable); uvarint #key, each uvarint position
//	uvarint #records, each:
//	    u8 status, [string error when status is RecordError],
//	    uvarint schema, string stream, string namespace, u8 op,
//	    u8 flags (1 after, 2 before, 4 meta, 8 time),
//	    [varint time], bytes position,
//	    [uvarint n, n values: after], [uvarint n, n values: before],
//	    [uvarint n, n (string key, value): meta]
//	value: u8 kind, then bool u8 | int varint | float u64 bits |
//	    string | object uvarint n, n (string, value) | array uvarint n,
//	    n values | nothing for null and absent
//
// string and bytes are a uvarint length then the bytes. Integers are
// little-endian; varint and uvarint are encoding/binary's.
var batchMagic = [4]byte{'R', 'V', 'B', 1}

// Record flags in the binary batch.
const (
	FlagAfter  = 1
	FlagBefore = 2
	FlagMeta   = 4
	FlagTime   = 8
)

// MaxDepth bounds the nesting of objects and arrays a batch may hold.
const MaxDepth = 64

// AppendBatch appends b's binary encoding to dst.
func AppendBatch(dst []byte, b *Batch) []byte {
	dst = append(dst, batchMagic[:]...)
	dst = binary.AppendUvarint(dst, uint64(len(b.Schemas)))
	for _, s := range b.Schemas {
		dst = AppendSchema(dst, &s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.Records)))
	for i := range b.Records {
		dst = appendRecord(dst, &b.Records[i])
	}
	return dst
}

// AppendSchema appends one schema's encoding, as it appears in a batch.
func AppendSchema(dst []byte, s *Schema) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.Fields)))
	for _, f := range s.Fields {
		dst = AppendString(dst, f.Name)
		nb := byte(0)
		if f.Nullable {
			nb = 1
		}
		dst = append(dst, byte(f.Kind), nb)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Key)))
	for _, k := range s.Key {
		dst = binary.AppendUvarint(dst, uint64(k))
	}
	return dst
}

func appendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, byte(r.Status))
	if r.Status == RecordError {
		dst = AppendString(dst, r.Error)
	}
	dst = binary.AppendUvarint(dst, uint64(r.Schema))
	dst = AppendString(dst, r.Stream)
	dst = AppendString(dst, r.Namespace)
	var flags byte
	if r.After != nil {
		flags |= FlagAfter
	}
	if r.Before != nil {
		flags |= FlagBefore
	}
	if r.Meta != nil {
		flags |= FlagMeta
	}
	if r.HasTime {
		flags |= FlagTime
	}
	dst = append(dst, byte(r.Op), flags)
	if r.HasTime {
		dst = binary.AppendVarint(dst, r.TimeNanos)
	}
	dst = AppendString(dst, string(r.Position))
	if r.After != nil {
		dst = appendValues(dst, r.After)
	}
	if r.Before != nil {
		dst = appendValues(dst, r.Before)
	}
	if r.Meta != nil {
		dst = appendMembers(dst, r.Meta)
	}
	return dst
}

// appendValues appends a row. Strings of a one-byte length (when dst has
// room), ints of up to 8 bytes, nulls, absents and bools are written
// inline, without a call or a loop (see Decoder.row: both cost much
// inside WebAssembly); the others by AppendValue.
func appendValues(dst []byte, vs []Value) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(vs)))
	for i := range vs {
		v := &vs[i]
		if v.Kind == KindString {
			// Into dst's room when it has enough: fewer branches than
			// append's.
			if n, j := len(v.Str), len(dst); n < 0x80 && cap(dst)-j >= 2+n {
				dst = dst[:j+2+n]
				dst[j], dst[j+1] = byte(KindString), byte(n)
				copy(dst[j+2:], v.Str)
				continue
			}
		} else if v.Kind == KindInt {
			if ux := uint64(v.Int<<1) ^ uint64(v.Int>>63); ux < 1<<56 {
				// binary.AppendVarint without its loop: the 7-bit
				// groups (zigzag-encoded) spread to bytes, the high bit
				// set on all but the last.
				nb := max(bits.Len64(ux)+6, 7) / 7
				x := ux&0x7F | ux<<1&0x7F00 | ux<<2&0x7F0000 | ux<<3&0x7F000000 | ux<<4&0x7F00000000 |
					ux<<5&0x7F0000000000 | ux<<6&0x7F000000000000 | ux<<7&0x7F00000000000000
				x |= 0x8080808080808080 & (1<<(8*(nb-1)) - 1)
				var w [8]byte
				binary.LittleEndian.PutUint64(w[:], x)
				dst = append(append(dst, byte(KindInt)), w[:nb]...)
				continue
			}
		} else if v.Kind == KindNull || v.Kind == KindAbsent {
			dst = append(dst, byte(v.Kind))
			continue
		} else if v.Kind == KindBool {
			b := byte(0)
			if v.Bool {
				b = 1
			}
			dst = append(dst, byte(KindBool), b)
			continue
		}
		dst = AppendValue(dst, v)
	}
	return dst
}

func appendMembers(dst []byte, ms []Member) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ms)))
	for i := range ms {
		dst = AppendString(dst, ms[i].Key)
		dst = AppendValue(dst, &ms[i].Value)
	}
	return dst
}

// AppendValue appends one value's encoding.
func AppendValue(dst []byte, v *Value) []byte {
	dst = append(dst, byte(v.Kind))
	switch v.Kind {
	case KindBool:
		if v.Bool {
			return append(dst, 1)
		}
		return append(dst, 0)
	case KindInt:
		return binary.AppendVarint(dst, v.Int)
	case KindFloat:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Float))
	case KindString:
		return AppendString(dst, v.Str)
	case KindObject:
		return appendMembers(dst, v.Obj)
	case KindArray:
		return appendValues(dst, v.Arr)
	}
	return dst
}

// AppendString appends a uvarint length and s.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// ParseBatch decodes a binary batch into new memory: the batch shares
// nothing with b but its records' Position bytes, which alias b, and
// every string is a string of its own. It never panics: malformed input
// (a wrong magic or version, a length past the end, a schema index or
// field count that does not match, invalid UTF-8 in a string, nesting
// deeper than MaxDepth) is an error naming what is wrong and where.
// Decoder.ReadBatch decodes the same batches, faster and reusing memory.
func ParseBatch(b []byte) (*Batch, error) {
	d := &Decoder{buf: b}
	return d.strictBatch()
}

// Decoder reads the parts of a binary batch; its methods record the first
// error and return zero values after it.
type Decoder struct {
	buf []byte
	off int
	err error

	rb readState // ReadBatch's memory, kept from batch to batch
}

// NewDecoder returns a decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Reset makes d read b from its first byte, as a new decoder would; d
// keeps the memory ReadBatch reuses.
func (d *Decoder) Reset(b []byte) { d.buf, d.off, d.err = b, 0, nil }

// Err is the first error met.
func (d *Decoder) Err() error { return d.err }

// Offset is the number of bytes read.
func (d *Decoder) Offset() int { return d.off }

// Done reports whether every byte was read.
func (d *Decoder) Done() bool { return d.off == len(d.buf) }

// Fail records an error at the current offset (the first one wins).
func (d *Decoder) Fail(format string, args ...any) { d.fail(format, args...) }

func (d *Decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("batch byte %d: %s", d.off, fmt.Sprintf(format, args...))
	}
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.buf) {
		d.fail("unexpected end")
		return 0
	}
	c := d.buf[d.off]
	d.off++
	return c
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	if d.off < len(d.buf) && d.buf[d.off] < 0x80 {
		d.off++
		return uint64(d.buf[d.off-1])
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.off += n
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// Count reads a uvarint count of items that take at least min bytes each,
// refusing one the rest of the input cannot hold.
func (d *Decoder) Count(min int) int {
	n := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.buf)-d.off)/uint64(min) {
		d.fail("count %d exceeds the bytes left", n)
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte string; the result aliases the input.
func (d *Decoder) Bytes() []byte {
	n := d.Uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)-d.off) {
		d.fail("string of %d bytes runs past the end", n)
		return nil
	}
	s := d.buf[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// String reads a length-prefixed UTF-8 string.
func (d *Decoder) String() string {
	b := d.Bytes()
	if d.err == nil && !utf8.Valid(b) {
		d.fail("string is not valid UTF-8")
		return ""
	}
	return string(b)
}

// Uint64 reads a little-endian u64.
func (d *Decoder) Uint64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.buf)-d.off < 8 {
		d.fail("unexpected end")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.buf[d.off:])
	d.off += 8
	return v
}

// Magic checks the batch header.
func (d *Decoder) Magic() {
	if len(d.buf) < 4 || [3]byte(d.buf[:3]) != [3]byte(batchMagic[:3]) {
		d.fail("not a rivven batch (no RVB header)")
		return
	}
	if d.buf[3] != batchMagic[3] {
		d.fail("batch version %d; this is version %d", d.buf[3], batchMagic[3])
		return
	}
	d.off = 4
}

// Schema reads one schema.
func (d *Decoder) Schema() Schema {
	var s Schema
	n := d.Count(3)
	s.Fields = make([]Field, 0, n)
	for range n {
		name := d.String()
		k := Kind(d.Byte())
		nb := d.Byte()
		if d.err == nil && (k > KindAbsent || nb > 1) {
			d.fail("field %q: bad kind %d or nullable flag %d", name, k, nb)
		}
		s.Fields = append(s.Fields, Field{Name: name, Kind: k, Nullable: nb == 1})
	}
	nk := d.Count(1)
	for range nk {
		k := d.Uvarint()
		if d.err == nil && k >= uint64(len(s.Fields)) {
			d.fail("key position %d past the schema's %d fields", k, len(s.Fields))
		}
		s.Key = append(s.Key, int(k))
	}
	return s
}

// strictBatch is ParseBatch as a decoder of the parts does it: slower
// than ReadBatch, but its error names what is wrong where. ReadBatch
// runs it for the error when its own decoding fails.
func (d *Decoder) strictBatch() (*Batch, error) {
	d.Magic()
	b := &Batch{}
	ns := d.Count(2)
	for range ns {
		b.Schemas = append(b.Schemas, d.Schema())
	}
	nr := d.Count(6)
	if d.err == nil {
		b.Records = make([]Record, nr)
	}
	for i := 0; i < nr && d.err == nil; i++ {
		d.record(b, &b.Records[i])
	}
	if d.err == nil && !d.Done() {
		d.fail("%d bytes after the last record", len(d.buf)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}

// RecordHead is the part of a record before its values.
type RecordHead struct {
	Status    RecordStatus
	Error     string
	Schema    int
	Stream    string
	Namespace string
	Op        Op
	Flags     byte
	TimeNanos int64
	Position  []byte
}

// Head reads a record's head; nschemas is the batch's schema count.
func (d *Decoder) Head(nschemas int) RecordHead {
	var h RecordHead
	h.Status = RecordStatus(d.Byte())
	if d.err == nil && h.Status > RecordError {
		d.fail("bad record status %d", h.Status)
	}
	if h.Status == RecordError {
		h.Error = d.String()
	}
	si := d.Uvarint()
	if d.err == nil && si >= uint64(nschemas) {
		d.fail("schema %d of a batch with %d schemas", si, nschemas)
	}
	h.Schema = int(si)
	h.Stream = d.String()
	h.Namespace = d.String()
	h.Op = Op(d.Byte())
	h.Flags = d.Byte()
	if d.err == nil && (h.Op > OpTruncate || h.Flags > 15) {
		d.fail("bad op %d or flags %d", h.Op, h.Flags)
	}
	if h.Flags&FlagTime != 0 {
		h.TimeNanos = d.Varint()
	}
	h.Position = d.Bytes()
	return h
}

func (d *Decoder) record(b *Batch, r *Record) {
	h := d.Head(len(b.Schemas))
	*r = Record{Status: h.Status, Error: h.Error, Schema: h.Schema, Stream: h.Stream, Namespace: h.Namespace,
		Op: h.Op, TimeNanos: h.TimeNanos, HasTime: h.Flags&FlagTime != 0, Position: h.Position}
	if d.err != nil {
		return
	}
	width := len(b.Schemas[h.Schema].Fields)
	if h.Flags&FlagAfter != 0 {
		r.After = d.values(width, "after")
	}
	if h.Flags&FlagBefore != 0 {
		r.Before = d.values(width, "before")
	}
	if h.Flags&FlagMeta != 0 {
		r.Meta = d.members(0)
	}
}

func (d *Decoder) values(width int, which string) []Value {
	n := d.Count(1)
	if d.err == nil && n != width {
		d.fail("%s has %d values for a schema of %d fields", which, n, width)
		return nil
	}
	out := make([]Value, n)
	for i := 0; i < n && d.err == nil; i++ {
		out[i] = d.Value(0)
	}
	return out
}

func (d *Decoder) members(depth int) []Member {
	n := d.Count(2)
	out := make([]Member, n)
	for i := 0; i < n && d.err == nil; i++ {
		out[i].Key = d.String()
		out[i].Value = d.Value(depth)
	}
	return out
}

// Value reads one value at nesting depth.
func (d *Decoder) Value(depth int) Value {
	if depth > MaxDepth {
		d.fail("values nested deeper than %d", MaxDepth)
		return Value{}
	}
	k := Kind(d.Byte())
	v := Value{Kind: k}
	switch k {
	case KindNull, KindAbsent:
	case KindBool:
		c := d.Byte()
		if d.err == nil && c > 1 {
			d.fail("bad bool %d", c)
		}
		v.Bool = c == 1
	case KindInt:
		v.Int = d.Varint()
	case KindFloat:
		v.Float = math.Float64frombits(d.Uint64())
	case KindString:
		v.Str = d.String()
	case KindObject:
		v.Obj = d.members(depth + 1)
	case KindArray:
		n := d.Count(1)
		v.Arr = make([]Value, n)
		for i := 0; i < n && d.err == nil; i++ {
			v.Arr[i] = d.Value(depth + 1)
		}
	default:
		d.fail("bad value kind %d", k)
	}
	return v
}
