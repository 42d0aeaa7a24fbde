package abi

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// FuzzReadBatch is the differential test of ReadBatch against ParseBatch
// (strictBatch): on any input, fastBatch accepts exactly what ParseBatch
// accepts, ReadBatch gives the same batch or the same error text, and a
// decoder reused for a second input gives the second batch right while
// the first batch's strings, members, elements and schemas still read the
// same. Each call decodes two inputs with one decoder and one Batch, as
// the SDK does from call to call.
func FuzzReadBatch(f *testing.F) {
	valid := seedBatches()
	for i, b := range valid {
		next := valid[(i+1)%len(valid)]
		f.Add(b, next)
		f.Add(next, b)
		// Cut short and changed, before and after a valid batch.
		for _, cut := range []int{len(b) - 1, len(b) / 2, 5, 4} {
			if cut >= 0 && cut < len(b) {
				f.Add(b[:cut], next)
				f.Add(next, b[:cut])
			}
		}
		for _, at := range []int{4, len(b) / 3, len(b) / 2, len(b) - 2} {
			if at >= 0 && at < len(b) {
				for _, x := range []byte{0x01, 0x40, 0x80, 0xFF} {
					m := slices.Clone(b)
					m[at] ^= x
					f.Add(m, next)
					f.Add(next, m)
				}
			}
		}
		f.Add(append(slices.Clone(b), 0), next) // a byte after the last record
	}
	for _, m := range malformed {
		f.Add(m.in, valid[0])
		f.Add(valid[0], m.in)
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		checkReadBatch(t, first, second)
	})
}

// checkReadBatch reads first then second with one decoder into one Batch
// and checks both against ParseBatch, then the first batch's memory.
func checkReadBatch(t *testing.T, first, second []byte) {
	t.Helper()
	var d Decoder
	var dst Batch
	want1 := checkOneRead(t, "first", &d, &dst, first)
	keep := detach(&dst)
	checkOneRead(t, "second", &d, &dst, second)
	if want1 != nil {
		if diff := diffBatch(keep, want1); diff != "" {
			t.Fatalf("after the decoder read a second batch, the first one changed: %s\nfirst %q\nsecond %q", diff, first, second)
		}
	}
}

// checkOneRead reads in with d into dst and checks the result against
// ParseBatch's, which it returns (nil when in is malformed).
func checkOneRead(t *testing.T, which string, d *Decoder, dst *Batch, in []byte) *Batch {
	t.Helper()
	want, wantErr := ParseBatch(in)
	fresh := Decoder{buf: in}
	if ok := fresh.fastBatch(&Batch{}); ok != (wantErr == nil) {
		t.Fatalf("%s batch: fastBatch accepts it: %v; ParseBatch: %v\ninput %q", which, ok, wantErr, in)
	}
	d.Reset(in)
	err := d.ReadBatch(dst)
	if wantErr != nil {
		if err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("%s batch: ReadBatch: %v; ParseBatch: %v\ninput %q", which, err, wantErr, in)
		}
		if d.Err() == nil || d.Err().Error() != wantErr.Error() {
			t.Fatalf("%s batch: Err after ReadBatch: %v; want %v", which, d.Err(), wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("%s batch: ReadBatch: %v; ParseBatch accepts it\ninput %q", which, err, in)
	}
	if diff := diffBatch(dst, want); diff != "" {
		t.Fatalf("%s batch: ReadBatch and ParseBatch differ: %s\ninput %q", which, diff, in)
	}
	for i, r := range dst.Records {
		if cap(r.After) != len(r.After) || cap(r.Before) != len(r.Before) {
			t.Fatalf("%s batch: record %d: a row's capacity is more than its length (after %d/%d, before %d/%d)",
				which, i, len(r.After), cap(r.After), len(r.Before), cap(r.Before))
		}
	}
	return want
}

// detach copies what the next ReadBatch overwrites (the Schemas and
// Records arrays, the rows) and shares the rest with b.
func detach(b *Batch) *Batch {
	out := &Batch{Schemas: slices.Clone(b.Schemas), Records: slices.Clone(b.Records)}
	for i := range out.Records {
		r := &out.Records[i]
		r.After, r.Before = slices.Clone(r.After), slices.Clone(r.Before)
	}
	return out
}

// diffBatch describes the first difference between got and want, or is
// empty. Everything counts, nil against empty too (a nil After is "no
// after row"), but for the Schemas and Records arrays themselves (a
// reused array is empty where a new one is nil); floats compare by bits.
func diffBatch(got, want *Batch) string {
	if len(got.Schemas) != len(want.Schemas) {
		return fmt.Sprintf("%d schemas, want %d", len(got.Schemas), len(want.Schemas))
	}
	for i := range got.Schemas {
		g, w := got.Schemas[i], want.Schemas[i]
		if (g.Fields == nil) != (w.Fields == nil) || !slices.Equal(g.Fields, w.Fields) ||
			(g.Key == nil) != (w.Key == nil) || !slices.Equal(g.Key, w.Key) {
			return fmt.Sprintf("schema %d: %+v, want %+v", i, g, w)
		}
	}
	if len(got.Records) != len(want.Records) {
		return fmt.Sprintf("%d records, want %d", len(got.Records), len(want.Records))
	}
	for i := range got.Records {
		g, w := &got.Records[i], &want.Records[i]
		gh, wh := head(g), head(w)
		if gh != wh || string(g.Position) != string(w.Position) || (g.Position == nil) != (w.Position == nil) {
			return fmt.Sprintf("record %d: head %+v position %q, want %+v position %q", i, gh, g.Position, wh, w.Position)
		}
		if d := diffValues(g.After, w.After); d != "" {
			return fmt.Sprintf("record %d after: %s", i, d)
		}
		if d := diffValues(g.Before, w.Before); d != "" {
			return fmt.Sprintf("record %d before: %s", i, d)
		}
		if d := diffMembers(g.Meta, w.Meta); d != "" {
			return fmt.Sprintf("record %d meta: %s", i, d)
		}
	}
	return ""
}

// recordHeadOf is a record but for its position, rows and meta.
type recordHeadOf struct {
	Status            RecordStatus
	Error             string
	Schema            int
	Stream, Namespace string
	Op                Op
	TimeNanos         int64
	HasTime           bool
}

func head(r *Record) recordHeadOf {
	return recordHeadOf{r.Status, r.Error, r.Schema, r.Stream, r.Namespace, r.Op, r.TimeNanos, r.HasTime}
}

func diffValues(got, want []Value) string {
	if (got == nil) != (want == nil) || len(got) != len(want) {
		return fmt.Sprintf("%d values (nil %v), want %d (nil %v)", len(got), got == nil, len(want), want == nil)
	}
	for i := range got {
		if d := diffValue(&got[i], &want[i]); d != "" {
			return fmt.Sprintf("[%d]: %s", i, d)
		}
	}
	return ""
}

func diffMembers(got, want []Member) string {
	if (got == nil) != (want == nil) || len(got) != len(want) {
		return fmt.Sprintf("%d members (nil %v), want %d (nil %v)", len(got), got == nil, len(want), want == nil)
	}
	for i := range got {
		if got[i].Key != want[i].Key {
			return fmt.Sprintf("member %d: key %q, want %q", i, got[i].Key, want[i].Key)
		}
		if d := diffValue(&got[i].Value, &want[i].Value); d != "" {
			return fmt.Sprintf("%q: %s", got[i].Key, d)
		}
	}
	return ""
}

func diffValue(g, w *Value) string {
	if g.Kind != w.Kind || g.Bool != w.Bool || g.Int != w.Int || g.Str != w.Str ||
		math.Float64bits(g.Float) != math.Float64bits(w.Float) {
		return fmt.Sprintf("%+v, want %+v", *g, *w)
	}
	if d := diffMembers(g.Obj, w.Obj); d != "" {
		return "object: " + d
	}
	if d := diffValues(g.Arr, w.Arr); d != "" {
		return "array: " + d
	}
	return ""
}

// seedBatches are valid (and some invalid) batches made by AppendBatch:
// every kind, nested objects and arrays, nulls and absents, non-ASCII,
// invalid UTF-8, strings of a lone continuation byte (valid once
// concatenated with their neighbours), multi-byte lengths and varints,
// positions, meta, times, several schemas, a schema of no fields.
func seedBatches() [][]byte {
	users := Schema{Fields: []Field{{Name: "id", Kind: KindInt}, {Name: "name", Kind: KindString},
		{Name: "email", Kind: KindString, Nullable: true}}, Key: []int{0}}
	any := Schema{Fields: []Field{{Name: "v", Kind: KindNull, Nullable: true}, {Name: "gone", Kind: KindAbsent}}}
	empty := Schema{Fields: []Field{}}
	nested := Value{Kind: KindObject, Obj: []Member{
		{Key: "a", Value: Value{Kind: KindArray, Arr: []Value{{Kind: KindInt, Int: -1}, {Kind: KindNull},
			{Kind: KindObject, Obj: []Member{}}, {Kind: KindArray, Arr: []Value{}}}}},
		{Key: "ü", Value: Value{Kind: KindFloat, Float: math.Inf(-1)}},
		{Key: "", Value: Value{Kind: KindBool, Bool: true}},
	}}
	deep := Value{Kind: KindInt, Int: 7}
	for range MaxDepth {
		deep = Value{Kind: KindArray, Arr: []Value{deep}}
	}
	long := strings.Repeat("long é ", 40) // a two-byte length
	str := func(s string) Value { return Value{Kind: KindString, Str: s} }
	i := func(n int64) Value { return Value{Kind: KindInt, Int: n} }

	var out [][]byte
	add := func(b *Batch) { out = append(out, AppendBatch(nil, b)) }
	add(&Batch{})
	add(&Batch{Schemas: []Schema{users}})
	add(&Batch{Schemas: []Schema{users, any, empty}, Records: []Record{
		{Stream: "users", Op: OpInsert, After: []Value{i(1), str("ada"), {Kind: KindNull}}},
		{Stream: "users", Namespace: "crm", Op: OpUpdate, HasTime: true, TimeNanos: 1767225600123456789,
			After: []Value{i(2), str("bob"), str("b@x")}, Before: []Value{i(2), str("rob"), {}}},
		{Stream: "users", Namespace: "crm", Op: OpDelete, Before: []Value{i(-3), str(""), str("日本")}},
		{Schema: 1, Stream: "any", Op: OpSnapshot, Position: []byte{0, 0xFF, 'p'},
			After: []Value{nested, {Kind: KindAbsent}}, Meta: []Member{{Key: "k", Value: str("v")}}},
		{Schema: 2, Stream: "empty", Op: OpTruncate, After: []Value{}, Before: []Value{}, Meta: []Member{}},
		{Status: RecordDrop, Schema: 1, Stream: "any", After: []Value{deep, {Kind: KindFloat, Float: math.NaN()}}},
		{Status: RecordError, Error: "bad ✗", Schema: 1, Stream: "any",
			After: []Value{{Kind: KindBool}, str(long)}},
		{Stream: "users", After: []Value{i(math.MaxInt64), str("x"), i(math.MinInt64)}},
		{Stream: "users", HasTime: true, TimeNanos: -1, After: []Value{i(64), str("é"), str("€𝄞")}},
	}})
	// Ints of every varint length (the decoder reads up to 8 bytes
	// inline), bools.
	ints := Schema{}
	var irow []Value
	for n := range 64 {
		ints.Fields = append(ints.Fields, Field{Name: fmt.Sprint(n), Kind: KindInt})
		v := int64(1) << n
		irow = append(irow, Value{Kind: KindInt, Int: v - 1}, Value{Kind: KindInt, Int: -v})
	}
	ints.Fields = append(ints.Fields, ints.Fields...)
	for i := range ints.Fields {
		ints.Fields[i].Name = fmt.Sprint(i)
	}
	add(&Batch{Schemas: []Schema{ints, {Fields: []Field{{Name: "t", Kind: KindBool}, {Name: "f", Kind: KindBool}}}},
		Records: []Record{{Stream: "i", After: irow}, {Schema: 1, Stream: "b", After: []Value{{Kind: KindBool, Bool: true}, {Kind: KindBool}}}}})
	// Rows of no values only: the decoder has no block of values.
	add(&Batch{Schemas: []Schema{empty}, Records: []Record{{Stream: "e", After: []Value{}, Before: []Value{}}, {Stream: "e"}}})
	// Strings that are not valid alone: a lone continuation byte after a
	// lead byte (valid once the arena holds both), a stray byte.
	add(&Batch{Schemas: []Schema{any}, Records: []Record{{Stream: "s", After: []Value{str("\xc3"), str("\xa9")}}}})
	add(&Batch{Schemas: []Schema{any}, Records: []Record{{Stream: "s", After: []Value{str("ab\xc3"), str("\xa9cd")}}}})
	add(&Batch{Schemas: []Schema{any}, Records: []Record{{Stream: "s", After: []Value{str("\x80"), str("ok")}}}})
	add(&Batch{Schemas: []Schema{any}, Records: []Record{{Stream: "s", After: []Value{str("ok"), {Kind: KindObject,
		Obj: []Member{{Key: "\xe2\x82", Value: str("\xac")}}}}}}})
	add(&Batch{Schemas: []Schema{any}, Records: []Record{{Stream: "s", Meta: []Member{{Key: "\xff", Value: Value{}}}}}})
	add(&Batch{Schemas: []Schema{any}, Records: []Record{{Stream: "\xc3", Namespace: "\xa9"}}})
	add(&Batch{Schemas: []Schema{any}, Records: []Record{{Status: RecordError, Error: "\xc3", Stream: "\xa9"}}})
	add(&Batch{Schemas: []Schema{{Fields: []Field{{Name: "\xc3"}, {Name: "\xa9"}}}}})
	add(&Batch{Schemas: []Schema{{Fields: []Field{{Name: "ok"}}}, {Fields: []Field{{Name: "\xa9"}}}}})
	// Many records and a wide row: counts of two bytes (kept small: the
	// fuzzer is slow on large inputs).
	wide := Schema{}
	var row []Value
	for n := range 128 {
		wide.Fields = append(wide.Fields, Field{Name: string(rune('a' + n%26)), Kind: KindNull, Nullable: true})
		row = append(row, Value{Kind: Kind(n % 2 * 4)}) // null and ""
	}
	many := &Batch{Schemas: []Schema{any, wide}}
	for n := range 128 {
		many.Records = append(many.Records, Record{Schema: 1 - n%2, Stream: string(rune('a' + n%3))})
	}
	many.Records = append(many.Records, Record{Schema: 1, Stream: "wide", After: row, Before: row})
	add(many)
	return out
}

// TestReadBatchSeeds runs the differential check on every pair of seed
// batches (FuzzReadBatch's seeds run too, on each go test).
func TestReadBatchSeeds(t *testing.T) {
	seeds := seedBatches()
	for _, a := range seeds {
		for _, b := range seeds {
			checkReadBatch(t, a, b)
		}
	}
}
