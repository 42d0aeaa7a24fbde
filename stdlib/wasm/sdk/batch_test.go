package sdk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// schemaText is a schema as "id int!, name string!, email ?string key[0]".
func schemaText(s abi.Schema) string {
	var parts []string
	for _, f := range s.Fields {
		t := f.Kind.String()
		if f.Kind == abi.KindNull {
			t = "any"
		}
		if f.Nullable {
			t = "?" + t
		}
		parts = append(parts, f.Name+" "+t)
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" key%v", s.Key)
}

func schemas(b *abi.Batch) []string {
	var out []string
	for _, s := range b.Schemas {
		out = append(out, schemaText(s))
	}
	return out
}

// roundTrip encodes b as the SDK does at the end of a call and decodes it
// as the host does.
func roundTrip(t *testing.T, b *Batch) *abi.Batch {
	t.Helper()
	p := &plugin{}
	out, err := abi.ParseBatch(p.encode(nil, b))
	if err != nil {
		t.Fatalf("encoded batch does not decode: %v", err)
	}
	return out
}

func TestRenameGivesSharedSchemas(t *testing.T) {
	raw := people()
	raw.Schemas = append(raw.Schemas, abi.Schema{Fields: []abi.Field{{Name: "sku", Kind: abi.KindString}}})
	raw.Records = append(raw.Records, abi.Record{Stream: "items", Schema: 1, After: []Value{String("x-1")}})
	b := NewBatch(raw)
	for _, r := range b.All() {
		r.Rename("name", "full_name")
	}
	out := roundTrip(t, b)
	want := []string{"sku string key[]", "id int, full_name string, email ?string key[0]"}
	if got := schemas(out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("schemas %q; want %q (both people records share one, the unused original is gone)", got, want)
	}
	if out.Records[0].Schema != 1 || out.Records[1].Schema != 1 || out.Records[2].Schema != 0 {
		t.Fatalf("record schemas %d %d %d", out.Records[0].Schema, out.Records[1].Schema, out.Records[2].Schema)
	}
	if v, ok := NewBatch(out).Record(1).Get("full_name"); !ok || v.Str != "bob" {
		t.Fatalf("renamed value %+v %v", v, ok)
	}
	if v, ok := NewBatch(out).Record(1).GetBefore("full_name"); !ok || v.Str != "rob" {
		t.Fatalf("renamed before value %+v %v", v, ok)
	}
}

func TestRenameOntoAnExistingField(t *testing.T) {
	b := NewBatch(people())
	r := b.Record(1)
	if !r.Rename("name", "id") {
		t.Fatal("Rename reported no field")
	}
	if r.Rename("nope", "x") {
		t.Fatal("Rename of a missing field reported one")
	}
	out := roundTrip(t, b)
	// id (the key) is replaced by the renamed field: the key goes with it.
	if got := schemaText(out.Schemas[out.Records[1].Schema]); got != "id string, email ?string key[]" {
		t.Fatalf("schema %s", got)
	}
	if a := out.Records[1].After; len(a) != 2 || a[0].Str != "bob" || a[1].Str != "b@x" {
		t.Fatalf("after %+v", a)
	}
	if got := schemaText(out.Schemas[out.Records[0].Schema]); got != "id int, name string, email ?string key[0]" {
		t.Fatalf("the other record's schema changed: %s", got)
	}
}

func TestSetAndDelete(t *testing.T) {
	b := NewBatch(people())
	r0, r1 := b.Record(0), b.Record(1)
	r0.Set("name", String("ADA"))  // same type: same schema
	r0.Set("email", String("a@x")) // nullable string: same schema
	r1.Set("id", String("two"))    // another type: the field becomes any
	r1.Set("score", Float(1.5))    // a new field; the before row gets null
	r0.Delete("id")                // the key field goes, the key with it
	if v, ok := r0.Get("id"); ok {
		t.Fatalf("deleted field still there: %+v", v)
	}
	if v, ok := r1.GetBefore("score"); !ok || v.Kind != abi.KindNull {
		t.Fatalf("before score %+v %v", v, ok)
	}
	out := roundTrip(t, b)
	got := []string{schemaText(out.Schemas[out.Records[0].Schema]), schemaText(out.Schemas[out.Records[1].Schema])}
	want := []string{"name string, email ?string key[]", "id ?any, name string, email ?string, score ?float key[0]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("schemas\n%q\nwant\n%q", got, want)
	}
	if len(out.Schemas) != 2 {
		t.Fatalf("%d schemas; the original is used by no record", len(out.Schemas))
	}
	if a := out.Records[0].After; a[0].Str != "ADA" || a[1].Str != "a@x" {
		t.Fatalf("after %+v", a)
	}
}

func TestSetOnARecordWithoutThatRow(t *testing.T) {
	raw := people()
	raw.Records[0] = abi.Record{Op: abi.OpDelete, Before: []Value{Int(1), String("ada"), Null()}}
	b := NewBatch(raw)
	r := b.Record(0)
	r.Set("name", String("x"))
	if r.Raw().After != nil || r.Raw().Schema != 0 {
		t.Fatalf("Set on a delete changed it: %+v", r.Raw())
	}
	r.SetBefore("note", String("gone"))
	out := roundTrip(t, b)
	if got := schemaText(out.Schemas[out.Records[0].Schema]); got != "id int, name string, email ?string, note string key[0]" {
		t.Fatalf("schema %s", got)
	}
	if got := NewBatch(out).Record(0).Before(); len(got) != 4 || got[3].Key != "note" || got[3].Value.Str != "gone" {
		t.Fatalf("before %+v", got)
	}
}

func TestNullIntoAFieldMakesItNullable(t *testing.T) {
	b := NewBatch(people())
	b.Record(0).Set("name", Null())
	b.Record(1).Set("email", Null())
	out := roundTrip(t, b)
	if got := schemaText(out.Schemas[out.Records[0].Schema]); got != "id int, name ?string, email ?string key[0]" {
		t.Fatalf("schema %s", got)
	}
	if out.Records[1].Schema == out.Records[0].Schema {
		t.Fatal("null into a nullable field should not change the schema")
	}
}

func TestDropAndFail(t *testing.T) {
	b := NewBatch(people())
	b.Record(0).Drop()
	b.Record(1).Fail("email does not parse")
	out := roundTrip(t, b)
	if out.Records[0].Status != abi.RecordDrop || out.Records[1].Status != abi.RecordError || out.Records[1].Error != "email does not parse" {
		t.Fatalf("records %+v", out.Records)
	}
}

func TestEditsOnJSONBatches(t *testing.T) {
	raw, err := abi.ParseBatchJSON([]byte(`{"records":[{"stream":"s","after":{"a":1,"b":"x"}},{"stream":"s","after":{"a":2,"b":"y"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(raw)
	for _, r := range b.All() {
		r.Rename("a", "id")
		r.Set("c", Bool(true))
	}
	got := string(abi.AppendBatchJSON(nil, b.Raw()))
	want := `{"records":[{"stream":"s","op":"record","after":{"id":1,"b":"x","c":true}},{"stream":"s","op":"record","after":{"id":2,"b":"y","c":true}}]}`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
