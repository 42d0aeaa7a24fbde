package abi

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// ReadBatch decodes d's whole input, from its first byte, into dst: the
// batch ParseBatch returns, or ParseBatch's error (FuzzReadBatch checks
// both). It is made for a caller that reads a batch per call and is done
// with it before the next (the SDK inside a plugin), so it reuses memory:
//
//   - dst's Schemas and Records arrays are refilled, and the rows (After,
//     Before) are cut from one block of values the decoder keeps: each
//     ReadBatch overwrites the rows of the batch d read before and the
//     arrays of dst. A row's capacity is its length, so appending to a
//     row copies it and never overwrites the next one.
//   - Every other part is new memory and stays valid after the next call:
//     schemas' Fields and Key, Meta, objects' members, arrays' elements,
//     and all strings. The strings of records' values, keys and errors
//     share one block per batch, written once and never again (so a
//     string kept after the call keeps that block allocated: clone it to
//     keep it long). Field names, streams and namespaces are strings of
//     their own, shared with the batches before when equal.
//   - Records' Position bytes alias the input, as ParseBatch's do.
//
// On error dst holds part of a batch, to be dropped.
func (d *Decoder) ReadBatch(dst *Batch) error {
	d.off, d.err = 0, nil
	if d.fastBatch(dst) {
		return nil
	}
	// The fast decoding failed: decode again, part by part, for the error
	// that says what and where.
	strict := Decoder{buf: d.buf}
	b, err := strict.strictBatch()
	if err == nil {
		// fastBatch refused a batch strictBatch accepts: a bug in
		// fastBatch, which FuzzReadBatch looks for. The strict batch is
		// the right one.
		*dst = *b
		return nil
	}
	d.off, d.err = strict.off, err
	return err
}

// readState is what ReadBatch keeps from one batch to the next.
type readState struct {
	// vals is the block the rows are cut from: the batch being read (or
	// the last one read) uses vals[:nval], and the values past nval are
	// all zero.
	vals []Value
	nval int
	// arena holds the strings of the batch being read: it is allocated
	// with the capacity of the input left after the record count (the
	// strings' bytes cannot add up to more), filled only past its length
	// (a string would have to be longer than the room left to make it
	// grow, and that fails instead), and dropped at the batch's end.
	arena []byte
	// names are the field names of the batch before, in order, all valid
	// UTF-8; nname counts the names the batch being read has matched or
	// set.
	names []string
	nname int
	// stream and namespace are the last record's (valid UTF-8).
	stream, namespace string
}

// errMalformed marks a failed fast decoding (ReadBatch then finds the
// error to report with strictBatch).
var errMalformed = errors.New("malformed batch")

func (d *Decoder) bad() {
	if d.err == nil {
		d.err = errMalformed
	}
}

// fastBatch is ReadBatch's decoding: it reports whether the input is a
// well-formed batch, and leaves the batch in dst when it is. It makes
// every check strictBatch makes, but a failure only sets errMalformed.
// The usual cases (one-byte lengths and counts, short strings, small
// ints) are inline: a call costs much inside WebAssembly. Strings are
// copied into the arena and checked for UTF-8 all at once at the end.
func (d *Decoder) fastBatch(dst *Batch) bool {
	buf, rb := d.buf, &d.rb
	if len(buf) < 4 || [4]byte(buf[:4]) != batchMagic {
		return false
	}
	d.off = 4
	rb.arena, rb.nname = nil, 0
	ns := d.count(2)
	schemas := dst.Schemas[:0]
	width := 0 // the widest schema's
	for i := 0; i < ns && d.err == nil; i++ {
		s := d.fastSchema()
		width = max(width, len(s.Fields))
		schemas = append(schemas, s)
	}
	clear(schemas[len(schemas):cap(schemas)])
	dst.Schemas = schemas
	rb.names = rb.names[:rb.nname]

	nr := d.count(6)
	if d.err != nil {
		return false
	}
	recs := dst.Records
	if cap(recs) < nr || recs == nil {
		recs = make([]Record, nr)
	} else {
		recs = recs[:nr]
		clear(recs[nr:cap(recs)])
	}
	dst.Records = recs
	// Room for one row of the widest schema a record (a value takes a
	// byte at least, so no more than the input holds), all zero: the
	// rows below set a field or two of each value.
	if need := min(nr*width, len(buf)-d.off); need > len(rb.vals) {
		rb.vals = make([]Value, need)
	} else {
		clear(rb.vals[:rb.nval]) // one call for the batch before's values
	}
	rb.nval = 0
	if nr > 0 {
		rb.arena = make([]byte, 0, len(buf)-d.off)
	}
	for i := 0; i < nr && d.err == nil; i++ {
		d.fastRecord(schemas, &recs[i])
	}
	ok := d.err == nil && d.off == len(buf) && validUTF8(rb.arena)
	rb.arena = nil
	return ok
}

// count reads a count of items of at least min bytes each.
func (d *Decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.buf)-d.off)/uint64(min) {
		d.bad()
		return 0
	}
	return int(n)
}

// uvarint is Uvarint with the one-byte case inline.
func (d *Decoder) uvarint() uint64 {
	if d.off < len(d.buf) && d.buf[d.off] < 0x80 {
		d.off++
		return uint64(d.buf[d.off-1])
	}
	return d.uvarintSlow()
}

func (d *Decoder) uvarintSlow() uint64 {
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.bad()
		return 0
	}
	d.off += n
	return v
}

// varint is Varint with the one-byte case inline (binary.Varint's zigzag
// decoding of a uvarint).
func (d *Decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

// byte1 is Byte without the error state: past the end it fails and
// reads 0.
func (d *Decoder) byte1() byte {
	if d.off < len(d.buf) {
		d.off++
		return d.buf[d.off-1]
	}
	d.bad()
	return 0
}

// bytes is Bytes with the one-byte length inline.
func (d *Decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)-d.off) {
		d.bad()
		return nil
	}
	b := d.buf[d.off : d.off+int(n)]
	d.off += int(n)
	return b
}

// str reads a string into the arena.
func (d *Decoder) str() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return d.arenaString(b)
}

// arenaString copies b (not empty) to the arena and returns the copy. Its
// UTF-8 is checked with the arena's, at the end of the batch; a string
// that starts with a continuation byte fails here. In valid UTF-8 every
// other byte starts a character, so when the arena is valid each of its
// strings starts and ends on a character's boundary and is valid alone.
// row has a copy of this function inline.
func (d *Decoder) arenaString(b []byte) string {
	a := d.rb.arena
	i := len(a)
	if b[0]&0xC0 == 0x80 || len(b) > cap(a)-i {
		d.bad() // the second test never fails: see readState.arena
		return ""
	}
	a = a[:i+len(b)] // within the capacity: never a new array
	copy(a[i:], b)
	d.rb.arena = a
	return unsafe.String(&a[i], len(b))
}

// ownString is a string of its own, copied from b when b is valid UTF-8.
func (d *Decoder) ownString(b []byte) string {
	if !utf8.Valid(b) {
		d.bad()
		return ""
	}
	return string(b)
}

// fastSchema is Schema. Field names are strings of their own (a schema
// may outlive its batch in a cache): the batch before's when equal.
func (d *Decoder) fastSchema() Schema {
	var s Schema
	rb := &d.rb
	n := d.count(3)
	s.Fields = make([]Field, n)
	for i := 0; i < n && d.err == nil; i++ {
		b := d.bytes()
		var name string
		switch j := rb.nname; {
		case j < len(rb.names) && rb.names[j] == string(b):
			name = rb.names[j]
		case j < len(rb.names):
			name = d.ownString(b)
			rb.names[j] = name
		default:
			name = d.ownString(b)
			rb.names = append(rb.names, name)
		}
		if d.err != nil {
			break // and names keeps valid strings only
		}
		rb.nname++
		k, nb := Kind(d.byte1()), d.byte1()
		if k > KindAbsent || nb > 1 {
			d.bad()
		}
		s.Fields[i] = Field{Name: name, Kind: k, Nullable: nb == 1}
	}
	nk := d.count(1)
	if nk > 0 && d.err == nil {
		s.Key = make([]int, nk)
		for i := range s.Key {
			k := d.uvarint()
			if k >= uint64(n) {
				d.bad()
			}
			s.Key[i] = int(k)
		}
	}
	return s
}

// fastRecord is Head and the record's rows and meta.
func (d *Decoder) fastRecord(schemas []Schema, r *Record) {
	flags, ok := d.quickHead(schemas, r)
	if !ok {
		if flags = d.head(schemas, r); d.err != nil {
			return
		}
	}
	width := len(schemas[r.Schema].Fields)
	if flags&FlagAfter != 0 {
		r.After = d.row(width)
	}
	if flags&FlagBefore != 0 {
		r.Before = d.row(width)
	}
	if flags&FlagMeta != 0 {
		r.Meta = d.fastMembers(0)
	}
}

// quickHead reads the usual record head (status keep or drop, a schema
// index, lengths of one byte, no time) into *r, inline (see row), and
// returns its flags and true; it changes nothing in d and returns false
// for another head.
func (d *Decoder) quickHead(schemas []Schema, r *Record) (byte, bool) {
	buf, off := d.buf, d.off
	if len(buf)-off < 7 {
		return 0, false
	}
	st, si, ls := RecordStatus(buf[off]), int(buf[off+1]), int(buf[off+2])
	p := off + 3 + ls // the namespace's length
	if st > RecordDrop || si >= min(len(schemas), 0x80) || ls >= 0x80 || p+4 > len(buf) {
		return 0, false
	}
	ln := int(buf[p])
	q := p + 1 + ln // op
	if ln >= 0x80 || q+3 > len(buf) {
		return 0, false
	}
	op, flags, lp := Op(buf[q]), buf[q+1], int(buf[q+2])
	end := q + 3 + lp
	if op > OpTruncate || flags > 15 || flags&FlagTime != 0 || lp >= 0x80 || end > len(buf) {
		return 0, false
	}
	rb := &d.rb
	if stream := buf[off+3 : p]; string(stream) != rb.stream {
		if !utf8.Valid(stream) {
			return 0, false
		}
		rb.stream = string(stream)
	}
	if namespace := buf[p+1 : q]; string(namespace) != rb.namespace {
		if !utf8.Valid(namespace) {
			return 0, false
		}
		rb.namespace = string(namespace)
	}
	*r = Record{Status: st, Schema: si, Stream: rb.stream, Namespace: rb.namespace, Op: op,
		Position: buf[q+3 : end : end]}
	d.off = end
	return flags, true
}

// head is Head into *r (quickHead's general case); it returns the
// record's flags.
func (d *Decoder) head(schemas []Schema, r *Record) byte {
	rb := &d.rb
	st := RecordStatus(d.byte1())
	var msg string
	switch st {
	case RecordKeep, RecordDrop:
	case RecordError:
		msg = d.str()
	default:
		d.bad()
	}
	si := d.uvarint()
	if si >= uint64(len(schemas)) {
		d.bad()
		return 0
	}
	stream, namespace := d.bytes(), d.bytes()
	if string(stream) != rb.stream {
		rb.stream = d.ownString(stream)
	}
	if string(namespace) != rb.namespace {
		rb.namespace = d.ownString(namespace)
	}
	op, flags := Op(d.byte1()), d.byte1()
	if op > OpTruncate || flags > 15 {
		d.bad()
	}
	var t int64
	if flags&FlagTime != 0 {
		t = d.varint()
	}
	*r = Record{Status: st, Error: msg, Schema: int(si), Stream: rb.stream, Namespace: rb.namespace,
		Op: op, TimeNanos: t, HasTime: flags&FlagTime != 0, Position: d.bytes()}
	return flags
}

// row reads a row of width values into the block of values. It is never
// nil, even empty (a record's After is nil only when it has none).
//
// Inside WebAssembly a Go function pays for every branch taken (each one
// goes through the function's dispatch loop, and for a plugin with a
// time limit through wazero's termination check, an exit to Go: wazero
// issue #2466) and every call, so the usual values are read inline with
// few of either: strings of a one-byte length, ints of up to 8 bytes,
// nulls, absents and bools. They set only their kind's fields: the
// block's values past nval are zero (see readState). Anything else, or
// anything wrong, goes to fastValue.
func (d *Decoder) row(width int) []Value {
	var n uint64
	if d.off < len(d.buf) && d.buf[d.off] < 0x80 {
		n = uint64(d.buf[d.off])
		d.off++
	} else {
		n = d.uvarintSlow()
	}
	if n != uint64(width) || n > uint64(len(d.buf)-d.off) {
		d.bad()
		return nil
	}
	if width == 0 {
		return []Value{}
	}
	rb := &d.rb
	if width > len(rb.vals)-rb.nval {
		// A new block; the full one stays with the rows cut from it.
		rb.vals = make([]Value, max(2*len(rb.vals), width, 16))
		rb.nval = 0
	}
	row := rb.vals[rb.nval : rb.nval+width : rb.nval+width]
	rb.nval += width
	buf, off, a := d.buf, d.off, rb.arena
	for i := range row {
		v := &row[i]
		if len(buf)-off >= 10 { // the longest inline value's bytes at most
			k, c := Kind(buf[off]), int(buf[off+1])
			if k == KindString && c < 0x80 {
				// arenaString, inline: c bytes at off+2, copied into
				// the arena (never past its capacity, see
				// readState.arena; the slice expression would panic).
				if end := off + 2 + c; end <= len(buf) && (c == 0 || buf[off+2]&0xC0 != 0x80) {
					j := len(a)
					a = a[:j+c]
					copy(a[j:], buf[off+2:end])
					v.Kind, v.Str = KindString, unsafe.String(unsafe.SliceData(a[j:]), c)
					off = end
					continue
				}
			} else if k == KindInt {
				// A varint of up to 8 bytes: find its last byte (the
				// first without the high bit) and gather the 7-bit
				// groups, without a loop.
				x := binary.LittleEndian.Uint64(buf[off+1:])
				if stop := ^x & 0x8080808080808080; stop != 0 {
					nb := bits.TrailingZeros64(stop)/8 + 1
					x &= 1<<(8*nb) - 1 // 0 - 1 when nb is 8: all bits
					x = x&0x7F | x>>1&0x3F80 | x>>2&0x1FC000 | x>>3&0xFE00000 | x>>4&0x7F0000000 |
						x>>5&0x3F800000000 | x>>6&0x1FC0000000000 | x>>7&0xFE000000000000
					v.Kind, v.Int = KindInt, int64(x>>1)^-int64(x&1)
					off += 1 + nb
					continue
				}
			} else if k == KindNull || k == KindAbsent {
				v.Kind = k
				off++
				continue
			} else if k == KindBool && c <= 1 {
				v.Kind, v.Bool = KindBool, c == 1
				off += 2
				continue
			}
		}
		d.off, rb.arena = off, a
		d.fastValue(v, 0)
		if d.err != nil {
			return row
		}
		off, a = d.off, rb.arena
	}
	d.off, rb.arena = off, a
	return row
}

// fastValue is Value, read into *v.
func (d *Decoder) fastValue(v *Value, depth int) {
	if depth > MaxDepth {
		d.bad()
		*v = Value{}
		return
	}
	k := Kind(d.byte1())
	switch k {
	case KindInt:
		*v = Value{Kind: k, Int: d.varint()}
	case KindString:
		*v = Value{Kind: k, Str: d.str()}
	case KindNull, KindAbsent:
		*v = Value{Kind: k}
	case KindBool:
		c := d.byte1()
		if c > 1 {
			d.bad()
		}
		*v = Value{Kind: k, Bool: c == 1}
	case KindFloat:
		var f uint64
		if len(d.buf)-d.off >= 8 {
			f = binary.LittleEndian.Uint64(d.buf[d.off:])
			d.off += 8
		} else {
			d.bad()
		}
		*v = Value{Kind: k, Float: math.Float64frombits(f)}
	case KindObject:
		*v = Value{Kind: k, Obj: d.fastMembers(depth + 1)}
	case KindArray:
		n := d.count(1)
		arr := make([]Value, n)
		for i := 0; i < n && d.err == nil; i++ {
			d.fastValue(&arr[i], depth+1)
		}
		*v = Value{Kind: k, Arr: arr}
	default:
		d.bad()
		*v = Value{}
	}
}

// fastMembers is members: n keys and values at depth.
func (d *Decoder) fastMembers(depth int) []Member {
	n := d.count(2)
	out := make([]Member, n)
	for i := 0; i < n && d.err == nil; i++ {
		out[i].Key = d.str()
		d.fastValue(&out[i].Value, depth)
	}
	return out
}

// validUTF8 is utf8.Valid with a faster loop over ASCII (32 bytes at a
// time).
func validUTF8(b []byte) bool {
	for len(b) >= 32 {
		x := binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:])
		if x&0x8080808080808080 != 0 {
			break
		}
		b = b[32:]
	}
	return utf8.Valid(b)
}
