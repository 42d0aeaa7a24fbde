package source

import (
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// TestDecodeKeepsJSONExact: numbers and json values read from the broker
// keep their text, so what a CDC pipeline published comes back as it was,
// in every format the sink writes.
func TestDecodeKeepsJSONExact(t *testing.T) {
	j, err := runtime.ParseJSON([]byte(`{"a":1,"a":[1.0, 1E+2, 0.1000000000000000000001, 18446744073709551616, "\ud800"]}`))
	if err != nil {
		t.Fatal(err)
	}
	big, _ := runtime.ParseJSON([]byte(`-123456789012345678901234567890.5`))
	s := runtime.NewSchema(runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}}, runtime.Field{Name: "j", Type: runtime.Any}, runtime.Field{Name: "n", Type: runtime.Any})
	rec := runtime.Record{Stream: "t", Namespace: "public", Op: runtime.OpUpdate, Schema: s, Time: t0,
		Before: []runtime.Value{runtime.Int(1), j, big}, After: []runtime.Value{runtime.Int(1), j, runtime.Float(0.5)},
		Meta: runtime.NewObject(1).Set("lsn", big)}
	want := string(runtime.AppendSourceEvent(nil, &rec, true, true))
	for name, enc := range map[string]func([]byte, *runtime.Record) []byte{
		"source_event": func(b []byte, r *runtime.Record) []byte { return runtime.AppendSourceEvent(b, r, true, true) },
		"debezium":     runtime.AppendDebezium,
	} {
		var d decoder
		var got runtime.Record
		d.decode(&got, "topic", &wire.MessageData{Value: enc(nil, &rec)})
		if s := string(runtime.AppendSourceEvent(nil, &got, true, true)); s != want {
			t.Errorf("%s\n got %s\nwant %s", name, s, want)
		}
	}
	var d decoder
	var got runtime.Record
	d.decode(&got, "topic", &wire.MessageData{Value: []byte(`{"big": 18446744073709551616, "x": 1.0, "e": 1e400}`)})
	if s := row(got); s != `{"big":18446744073709551616,"x":1.0,"e":1e400}` {
		t.Errorf("plain row: %s", s)
	}
	if v := got.After[0]; v.Kind() != runtime.KindFloat || v.AsFloat() != 18446744073709551616 {
		t.Errorf("2^64 reads as %s %v", v.Kind(), v.AsFloat())
	}
}
