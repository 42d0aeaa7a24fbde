package schemaformat

import (
	"bytes"
	"context"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas/registry"
)

// TestFormatsCarryExactJSON: a json column's value reaches the message of
// every typed format with its exact text (a JSON string in avro and
// protobuf, the JSON itself in json_schema).
func TestFormatsCarryExactJSON(t *testing.T) {
	const text = `{"a":1,"a":[1.0,1E+2,0.1000000000000000000001,18446744073709551616,"\ud800"]}`
	j, err := runtime.ParseJSON([]byte(`{"a": 1, "a": [1.0, 1E+2, 0.1000000000000000000001, 18446744073709551616, "\ud800"]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := runtime.NewSchema(runtime.Field{Name: "id", Type: intT}, runtime.Field{Name: "j", Type: runtime.Any, Nullable: true})
	rec := runtime.Record{Stream: "docs", Namespace: "public", Op: runtime.OpInsert, Schema: s, Time: at,
		After: []runtime.Value{runtime.Int(1), j}}
	for _, format := range Formats {
		reg, err := registry.Open(registry.Options{Formats: Protobuf})
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		enc, err := NewEncoder(format, embedded{reg})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := enc.Append(context.Background(), nil, "docs-value", &rec)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !bytes.Contains(msg, []byte(text)) {
			t.Errorf("%s: the message lacks the exact text: %q", format, msg)
		}
	}
}
