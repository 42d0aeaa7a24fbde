package sdk

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// usersBatch is the binary encoding of n records shaped like datagen's
// users pattern (what compiler/interp's BenchmarkPluginMask sends the
// mask plugin): 8 fields, 6 strings, an int and a bool.
func usersBatch(n int) []byte {
	b := &abi.Batch{Schemas: []abi.Schema{{Fields: []abi.Field{
		{Name: "user_id", Kind: abi.KindString}, {Name: "first_name", Kind: abi.KindString},
		{Name: "last_name", Kind: abi.KindString}, {Name: "email", Kind: abi.KindString},
		{Name: "age", Kind: abi.KindInt}, {Name: "country", Kind: abi.KindString},
		{Name: "premium", Kind: abi.KindBool}, {Name: "signup_date", Kind: abi.KindString},
	}}}}
	first := []string{"Alice", "Bob", "Carol", "Dave"}
	last := []string{"Smith", "Jones", "Brown", "White"}
	for i := range n {
		f, l := first[i%4], last[i/4%4]
		b.Records = append(b.Records, abi.Record{Stream: "users", Op: abi.OpInsert, After: []Value{
			String(fmt.Sprintf("user_%08d", i)), String(f), String(l),
			String(strings.ToLower(f + "." + l + "@example.com")), Int(int64(18 + i%62)),
			String("FR"), Bool(i%2 == 0), String("2026-01-02"),
		}})
	}
	return abi.AppendBatch(nil, b)
}

// benchTransform runs fn as a transform plugin's rivven_transform on a
// batch of 256 users records, as the wasm export does, once per iteration.
func benchTransform(b *testing.B, fn TransformFunc) {
	p := &plugin{}
	p.registerTransform(Manifest{Name: "bench", Version: "1.0.0"}, fn)
	if f, err := abi.ParseFrame(p.init(initReq("transform", "{}"))); err != nil || f.Status != abi.StatusOK {
		b.Fatalf("init: %v %+v", err, f)
	}
	batch := usersBatch(256)
	in := p.alloc(len(batch))
	copy(in, batch)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		out := p.transformCall(in)
		if len(out) < 8 || out[0] != byte(abi.StatusOK) {
			b.Fatalf("frame %q", out)
		}
	}
}

// BenchmarkTransformNoop is the SDK's cost per call: decode, a function
// that edits nothing, encode.
func BenchmarkTransformNoop(b *testing.B) {
	benchTransform(b, func(*Batch) error { return nil })
}

// BenchmarkTransformMask is examples/wasm/mask's transform as
// compiler/interp's BenchmarkPluginMask configures it (fields [email],
// keep_last 4): the SDK's cost and the mask's.
func BenchmarkTransformMask(b *testing.B) {
	benchTransform(b, maskTransform(maskKeep))
}

// BenchmarkTransformGetSet is BenchmarkTransformMask without the mask
// (the value is set back as it is): the SDK's cost alone.
func BenchmarkTransformGetSet(b *testing.B) {
	benchTransform(b, maskTransform(func(s string, _ int) string { return s }))
}

// maskTransform is examples/wasm/mask's transform with mask for its mask
// function, on the field email, keeping 4 characters.
func maskTransform(mask func(string, int) string) TransformFunc {
	fields := []string{"email"}
	return func(bt *Batch) error {
		for _, r := range bt.All() {
			for _, name := range fields {
				if v, ok := r.Get(name); ok && v.Kind == abi.KindString {
					r.Set(name, String(mask(v.Str, 4)))
				}
				if v, ok := r.GetBefore(name); ok && v.Kind == abi.KindString {
					r.SetBefore(name, String(mask(v.Str, 4)))
				}
			}
		}
		return nil
	}
}

// BenchmarkTransformRename renames a field of every record, as
// examples/wasm/rename does (each record gets a derived schema).
func BenchmarkTransformRename(b *testing.B) {
	benchTransform(b, func(bt *Batch) error {
		for _, r := range bt.All() {
			r.Rename("first_name", "given_name")
		}
		return nil
	})
}

// maskKeep is examples/wasm/mask's mask: all but the last keep
// characters of s become '*'.
func maskKeep(s string, keep int) string {
	n := utf8.RuneCountInString(s)
	if n <= keep {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for _, c := range s {
		if i < n-keep {
			b.WriteByte('*')
		} else {
			b.WriteRune(c)
		}
		i++
	}
	return b.String()
}
