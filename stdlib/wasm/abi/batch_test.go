package abi

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"unsafe"
)

// enc builds binary batches by hand, malformed ones included.
type enc []byte

func (e enc) b(bs ...byte) enc         { return append(e, bs...) }
func (e enc) u(v uint64) enc           { return binary.AppendUvarint(e, v) }
func (e enc) s(s string) enc           { return AppendString(e, s) }
func header() enc                      { return enc("RVB\x01") }
func oneSchema(e enc) enc              { return e.u(1).u(1).s("id").b(byte(KindInt), 0).u(0) } // {id int}
func recordHead(e enc, flags byte) enc { return e.b(0).u(0).s("st").s("").b(byte(OpInsert), flags) }

// A record of the one-field schema whose after row holds the value v.
func withValue(v enc) enc {
	e := recordHead(oneSchema(header()).u(1), FlagAfter).s("").u(1)
	return append(e, v...)
}

// malformed are batches ParseBatch and ReadBatch refuse, with the error
// each gives: what is wrong and at which byte.
var malformed = []struct {
	name, want string
	in         []byte
}{
	{"empty", "batch byte 0: not a rivven batch (no RVB header)", nil},
	{"no magic", "batch byte 0: not a rivven batch (no RVB header)", []byte("JSON{}")},
	{"version 2", "batch byte 0: batch version 2; this is version 1", []byte("RVB\x02\x00\x00")},
	{"header only", "batch byte 4: bad uvarint", header()},
	{"overlong uvarint", "batch byte 4: bad uvarint", header().b(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01)},
	{"schema count past the end", "batch byte 5: count 5 exceeds the bytes left", header().u(5).u(0)},
	{"record count past the end", "batch byte 6: count 1 exceeds the bytes left", header().u(0).u(1).b(0, 0, 0, 0, 0)},
	{"field name past the end", "batch byte 7: string of 9 bytes runs past the end", header().u(1).u(1).u(9).b('i', 'd')},
	{"field name not UTF-8", "batch byte 9: string is not valid UTF-8", header().u(1).u(1).s("\xc3\x28").b(2, 0).u(0).u(0)},
	{"bad field kind", `batch byte 11: field "id": bad kind 8 or nullable flag 0`, header().u(1).u(1).s("id").b(8, 0).u(0).u(0)},
	{"bad nullable flag", `batch byte 11: field "id": bad kind 2 or nullable flag 2`, header().u(1).u(1).s("id").b(2, 2).u(0).u(0)},
	{"key past the fields", "batch byte 13: key position 1 past the schema's 1 fields", header().u(1).u(1).s("id").b(2, 0).u(1).u(1).u(0)},
	{"bad status", "batch byte 14: bad record status 3", oneSchema(header()).u(1).b(3, 0, 0, 0, 0, 0)},
	{"error text not UTF-8", "batch byte 16: string is not valid UTF-8", oneSchema(header()).u(1).b(2).s("\xff").b(0, 0, 0, 0, 0, 0)},
	{"schema out of range", "batch byte 15: schema 1 of a batch with 1 schemas", oneSchema(header()).u(1).b(0).u(1).b(0, 0, 0, 0, 0)},
	{"stream not UTF-8", "batch byte 17: string is not valid UTF-8", oneSchema(header()).u(1).b(0).u(0).s("\xa9").s("").b(0, 0).s("")},
	{"bad op", "batch byte 21: bad op 6 or flags 0", oneSchema(header()).u(1).b(0).u(0).s("st").s("").b(6, 0).s("")},
	{"bad flags", "batch byte 21: bad op 1 or flags 16", oneSchema(header()).u(1).b(0).u(0).s("st").s("").b(1, 16).s("")},
	{"time past the end", "batch byte 21: bad varint", oneSchema(header()).u(1).b(0).u(0).s("st").s("").b(1, FlagTime, 0x80, 0x80, 0x80, 0x80, 0x80)},
	{"position past the end", "batch byte 22: string of 7 bytes runs past the end", recordHead(oneSchema(header()).u(1), 0).u(7).b(1, 2, 3, 4, 5)},
	{"row of the wrong width", "batch byte 23: after has 2 values for a schema of 1 fields", recordHead(oneSchema(header()).u(1), FlagAfter).s("").u(2).b(0, 0)},
	{"before of the wrong width", "batch byte 26: before has 0 values for a schema of 1 fields", recordHead(oneSchema(header()).u(1), FlagAfter|FlagBefore).s("").u(1).b(2, 2).u(0).b(0, 0)},
	{"bad value kind", "batch byte 24: bad value kind 8", withValue(enc{8}).b(0)},
	{"bad bool", "batch byte 25: bad bool 2", withValue(enc{byte(KindBool), 2})},
	{"short float", "batch byte 24: unexpected end", withValue(enc{byte(KindFloat), 0, 0, 0, 0})},
	{"int past the end", "batch byte 24: bad varint", withValue(enc{byte(KindInt), 0x80})},
	{"value string not UTF-8", "batch byte 28: string is not valid UTF-8", withValue(enc{byte(KindString)}.s("\xed\xa0\x80"))},
	{"lone continuation byte", "batch byte 28: string is not valid UTF-8", withValue(enc{byte(KindArray)}.u(2).b(byte(KindString)).s("\xc3").b(byte(KindString)).s("\xa9"))},
	{"member key not UTF-8", "batch byte 27: string is not valid UTF-8", withValue(enc{byte(KindObject)}.u(1).s("\xa9").b(0))},
	{"array count past the end", "batch byte 26: count 200 exceeds the bytes left", withValue(enc{byte(KindArray)}.u(200).b(0))},
	{"too deep", "batch byte 153: values nested deeper than 64", withValue(enc(strings.Repeat("\x06\x01", MaxDepth+1)).b(0))},
	{"meta key past the end", "batch byte 24: string of 4 bytes runs past the end", recordHead(oneSchema(header()).u(1), FlagMeta).s("").u(1).u(4).b('k', 0)},
	{"bytes after the last record", "batch byte 6: 2 bytes after the last record", header().u(0).u(0).b(0, 0)},
}

func TestMalformedBatches(t *testing.T) {
	for _, m := range malformed {
		t.Run(m.name, func(t *testing.T) {
			_, err := ParseBatch(m.in)
			if err == nil || err.Error() != m.want {
				t.Fatalf("ParseBatch: %v; want %s", err, m.want)
			}
			var d Decoder
			var b Batch
			d.Reset(m.in)
			if err := d.ReadBatch(&b); err == nil || err.Error() != m.want {
				t.Fatalf("ReadBatch: %v; want %s", err, m.want)
			}
			if !strings.HasPrefix(m.want, "batch byte 0:") && (d.Err() == nil || d.Offset() == 0) {
				t.Fatalf("after ReadBatch: Err %v, Offset %d; want the error and where it is", d.Err(), d.Offset())
			}
		})
	}
}

// TestReadBatchMatchesAppendBatch decodes what AppendBatch wrote, the
// same Batch as the one encoded, both ways.
func TestReadBatchMatchesAppendBatch(t *testing.T) {
	b := &Batch{
		Schemas: []Schema{{Fields: []Field{{Name: "id", Kind: KindInt}, {Name: "doc", Kind: KindNull, Nullable: true}}, Key: []int{0}}},
		Records: []Record{
			{Stream: "s", Namespace: "n", Op: OpUpdate, HasTime: true, TimeNanos: -5, Position: []byte("p1"),
				After:  []Value{{Kind: KindInt, Int: 300}, {Kind: KindObject, Obj: []Member{{Key: "x", Value: Value{Kind: KindFloat, Float: 1.5}}}}},
				Before: []Value{{Kind: KindInt, Int: 300}, {Kind: KindArray, Arr: []Value{{Kind: KindBool, Bool: true}}}},
				Meta:   []Member{{Key: "m", Value: Value{Kind: KindString, Str: "ü"}}}},
			{Status: RecordError, Error: "why", Stream: "s", Position: []byte{}, After: []Value{{Kind: KindInt}, {Kind: KindAbsent}}},
		},
	}
	in := AppendBatch(nil, b)
	got, err := ParseBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffBatch(got, b); d != "" {
		t.Fatalf("ParseBatch: %s", d)
	}
	var dec Decoder
	var rb Batch
	dec.Reset(in)
	if err := dec.ReadBatch(&rb); err != nil {
		t.Fatal(err)
	}
	if d := diffBatch(&rb, b); d != "" {
		t.Fatalf("ReadBatch: %s", d)
	}
	if !dec.Done() {
		t.Fatalf("ReadBatch read %d of %d bytes", dec.Offset(), len(in))
	}
}

// TestReadBatchReusesRows: a second batch of the same shape takes the
// first one's rows and arrays (no new values), and leaves its strings.
func TestReadBatchReusesRows(t *testing.T) {
	mk := func(name string) []byte {
		return AppendBatch(nil, &Batch{Schemas: []Schema{{Fields: []Field{{Name: "name", Kind: KindString}}}},
			Records: []Record{{Stream: "s", After: []Value{{Kind: KindString, Str: name}}}, {Stream: "s", After: []Value{{Kind: KindString, Str: name + "2"}}}}})
	}
	var d Decoder
	var b Batch
	d.Reset(mk("ada"))
	if err := d.ReadBatch(&b); err != nil {
		t.Fatal(err)
	}
	row, recs, first := &b.Records[0].After[0], &b.Records[0], b.Records[1].After[0].Str
	d.Reset(mk("bob"))
	if err := d.ReadBatch(&b); err != nil {
		t.Fatal(err)
	}
	if &b.Records[0].After[0] != row || &b.Records[0] != recs {
		t.Fatal("the second batch got new rows or records; want the first one's reused")
	}
	if b.Records[0].After[0].Str != "bob" || b.Records[1].After[0].Str != "bob2" || first != "ada2" {
		t.Fatalf("strings %q %q, first batch's %q", b.Records[0].After[0].Str, b.Records[1].After[0].Str, first)
	}
	if unsafe.StringData(b.Records[0].Stream) != unsafe.StringData(b.Records[1].Stream) {
		t.Fatal("two records of one stream have two copies of its name")
	}
}

// TestArenaNeverGrows: a string longer than the arena's room fails the
// batch; the arena is never given a new array (its strings would then be
// in two blocks, and a copy could be written after a string points in).
func TestArenaNeverGrows(t *testing.T) {
	var d Decoder
	d.rb.arena = make([]byte, 0, 4)
	s := d.arenaString([]byte("abc"))
	base := unsafe.SliceData(d.rb.arena)
	if s != "abc" || d.err != nil {
		t.Fatalf("arenaString: %q, %v", s, d.err)
	}
	if got := d.arenaString([]byte("de")); got != "" || d.err != errMalformed {
		t.Fatalf("a string past the arena's capacity: %q, %v; want it refused", got, d.err)
	}
	if unsafe.SliceData(d.rb.arena) != base || len(d.rb.arena) != 3 || s != "abc" {
		t.Fatalf("the arena moved or grew: len %d", len(d.rb.arena))
	}
	// A string that starts with a continuation byte is refused at once.
	d = Decoder{}
	d.rb.arena = make([]byte, 0, 4)
	if d.arenaString([]byte{0xa9}); d.err != errMalformed {
		t.Fatal("a string starting with a continuation byte was accepted")
	}
}

// TestUvarintFastPath: Uvarint's one-byte case and the general one agree
// at the edges.
func TestUvarintFastPath(t *testing.T) {
	for _, v := range []uint64{0, 1, 0x7F, 0x80, 0x3FFF, 1 << 35, math.MaxUint64} {
		d := NewDecoder(binary.AppendUvarint(nil, v))
		if got := d.Uvarint(); got != v || !d.Done() || d.Err() != nil {
			t.Fatalf("Uvarint of %d: %d, done %v, %v", v, got, d.Done(), d.Err())
		}
	}
}

// TestAppendValuesInline: appendValues writes a row as AppendValue does
// value by value (its inline ints and strings at their edges), whatever
// dst's capacity.
func TestAppendValuesInline(t *testing.T) {
	row := []Value{{Kind: KindNull}, {Kind: KindAbsent}, {Kind: KindBool, Bool: true}, {Kind: KindBool},
		{Kind: KindFloat, Float: -2.5}, {Kind: KindObject, Obj: []Member{{Key: "k", Value: Value{Kind: KindInt, Int: 3}}}},
		{Kind: KindArray, Arr: []Value{{Kind: KindString, Str: "x"}}}}
	for _, n := range []int{0, 1, 127, 128, 300} {
		row = append(row, Value{Kind: KindString, Str: strings.Repeat("é", n/2) + strings.Repeat("a", n%2)})
	}
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 8191, 8192, 1<<55 - 1, 1 << 55, -(1 << 55), -(1 << 55) - 1,
		1767225600123, math.MaxInt64, math.MinInt64} {
		row = append(row, Value{Kind: KindInt, Int: v})
	}
	want := binary.AppendUvarint(nil, uint64(len(row)))
	for i := range row {
		want = AppendValue(want, &row[i])
	}
	// Every capacity from none to enough: dst has room for each inline
	// string or not, and grows at every value.
	for c := 0; c <= len(want)+16; c++ {
		got := appendValues(make([]byte, 0, c), row)
		if string(got) != string(want) {
			t.Fatalf("capacity %d: appendValues\n%x\nwant\n%x", c, got, want)
		}
	}
	// And the decoder reads it back.
	var d Decoder
	d.Reset(want)
	d.rb.arena = make([]byte, 0, len(want)) // as fastBatch does
	got := d.row(len(row))
	if d.err != nil || !d.Done() {
		t.Fatalf("row: %v, read %d of %d bytes", d.err, d.Offset(), len(want))
	}
	if diff := diffValues(got, row); diff != "" {
		t.Fatalf("row: %s", diff)
	}
}
