package wasm

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

func codecRecords() []*runtime.Record {
	s1 := runtime.NewSchema(
		runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "name", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
		runtime.Field{Name: "tags", Type: runtime.Type{Kind: runtime.KindObject, Open: true}},
	)
	s1.Key = []int{0}
	s2 := runtime.NewSchema(runtime.Field{Name: "x", Type: runtime.Type{Kind: runtime.KindFloat}})
	obj := runtime.NewObject(2).Set("a", runtime.ArrayValue([]runtime.Value{runtime.Bool(true), runtime.Null()})).Set("b", runtime.String("ü"))
	return []*runtime.Record{
		{Stream: "s", Namespace: "ns", Op: runtime.OpInsert, Schema: s1, Time: time.Unix(1, 5),
			After: []runtime.Value{runtime.Int(-7), runtime.String("a\x00b"), runtime.ObjectValue(obj)}},
		{Stream: "s", Op: runtime.OpUpdate, Schema: s1,
			Before: []runtime.Value{runtime.Int(1), runtime.Null(), runtime.Absent()},
			After:  []runtime.Value{runtime.Int(1), runtime.String(""), runtime.ObjectValue(runtime.NewObject(0))},
			Meta:   runtime.NewObject(1).Set("k", runtime.Int(3))},
		{Stream: "t", Op: runtime.OpDelete, Schema: s2, Before: []runtime.Value{runtime.Float(math.Inf(-1))}},
	}
}

// The host's encoder and the ABI package's decoder are two
// implementations of the binary batch: what one writes the other reads
// back value for value, and the ABI's encoder writes the same bytes.
func TestCodecAgreesWithABI(t *testing.T) {
	recs := codecRecords()
	pos := func(r *runtime.Record) []byte { return []byte(r.Stream + "-pos") }
	b := newCodec().encode(recs, pos)
	got, err := abi.ParseBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	want := toABIBatch(recs, pos)
	if again := abi.AppendBatch(nil, want); !bytes.Equal(again, b) {
		t.Fatalf("the ABI's encoder writes other bytes:\n%x\n%x", again, b)
	}
	if len(got.Records) != 3 || len(got.Schemas) != 2 || got.Records[2].Schema != 1 || got.Records[0].TimeNanos != 1_000_000_005 || !got.Records[0].HasTime {
		t.Fatalf("decoded %+v", got)
	}
}

// A transform's output decodes into the records: an unchanged string
// keeps its value, a changed schema becomes a new one, and the verdicts
// come through.
func TestDecodeTransform(t *testing.T) {
	recs := codecRecords()
	c := newCodec()
	in := c.encode(recs, nil)
	out, err := abi.ParseBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	out.Records[1].Status = abi.RecordDrop
	out.Records[2].Status, out.Records[2].Error = abi.RecordError, "bad"
	out.Records[0].After[0] = abi.Value{Kind: abi.KindInt, Int: 42}
	out.Schemas[0].Fields[0].Name = "ident" // a rename
	v := make([]verdict, 3)
	orig := recs[0].Schema
	if err := c.decodeTransform(abi.AppendBatch(nil, out), recs, false, v); err != nil {
		t.Fatal(err)
	}
	if v[0].status != abi.RecordKeep || v[1].status != abi.RecordDrop || v[2].status != abi.RecordError || v[2].err != "bad" {
		t.Fatalf("verdicts %+v", v)
	}
	if recs[0].Schema == orig || recs[0].Schema.Fields[0].Name != "ident" || recs[0].After[0].AsInt() != 42 {
		t.Fatalf("record 0: %v %v", recs[0].Schema.Names(), recs[0].After)
	}
	if recs[1].Schema != orig {
		t.Fatal("a dropped record was changed")
	}
	// keeps_schema: the renamed record fails instead.
	recs = codecRecords()
	if err := c.decodeTransform(abi.AppendBatch(nil, out), recs, true, v); err != nil {
		t.Fatal(err)
	}
	if v[0].status != abi.RecordError {
		t.Fatalf("a keeps_schema plugin changed the fields and the record passed: %+v", v[0])
	}
}

// No output of a plugin makes the host panic: a malformed batch is an
// error.
func FuzzDecodeTransform(f *testing.F) {
	recs := codecRecords()
	f.Add(newCodec().encode(recs, nil))
	f.Add([]byte("RVB\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs := codecRecords()
		v := make([]verdict, len(recs))
		_ = newCodec().decodeTransform(b, recs, false, v)
		_, _ = abi.ParseBatch(b)
		_, _ = abi.ParseBatchJSON(b)
	})
}
