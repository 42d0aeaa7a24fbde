package abi

import (
	"fmt"
	"strings"
	"testing"
)

// users is a batch of n records shaped like datagen's users pattern (the
// records compiler/interp's plugin benchmarks send): 8 fields, 6 strings,
// an int and a bool.
func users(n int) *Batch {
	b := &Batch{Schemas: []Schema{{Fields: []Field{
		{Name: "user_id", Kind: KindString}, {Name: "first_name", Kind: KindString},
		{Name: "last_name", Kind: KindString}, {Name: "email", Kind: KindString},
		{Name: "age", Kind: KindInt}, {Name: "country", Kind: KindString},
		{Name: "premium", Kind: KindBool}, {Name: "signup_date", Kind: KindString},
	}}}}
	str := func(s string) Value { return Value{Kind: KindString, Str: s} }
	first := []string{"Alice", "Bob", "Carol", "Dave"}
	last := []string{"Smith", "Jones", "Brown", "White"}
	for i := range n {
		f, l := first[i%4], last[i/4%4]
		b.Records = append(b.Records, Record{Stream: "users", Op: OpInsert, After: []Value{
			str(fmt.Sprintf("user_%08d", i)), str(f), str(l),
			str(strings.ToLower(f + "." + l + "@example.com")), {Kind: KindInt, Int: int64(18 + i%62)},
			str("FR"), {Kind: KindBool, Bool: i%2 == 0}, str("2026-01-02"),
		}})
	}
	return b
}

// BenchmarkReadBatch decodes 256 users records with one decoder, as the
// SDK does once per call.
func BenchmarkReadBatch(b *testing.B) {
	in := AppendBatch(nil, users(256))
	var d Decoder
	var dst Batch
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		d.Reset(in)
		if err := d.ReadBatch(&dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseBatch is BenchmarkReadBatch with ParseBatch (new memory
// for every batch).
func BenchmarkParseBatch(b *testing.B) {
	in := AppendBatch(nil, users(256))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBatch(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendBatch encodes 256 users records into a reused buffer.
func BenchmarkAppendBatch(b *testing.B) {
	batch := users(256)
	out := AppendBatch(nil, batch)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		out = AppendBatch(out[:0], batch)
	}
}
