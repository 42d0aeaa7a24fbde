package stdout

import (
	"context"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// TestFormatsWriteExactJSON: a parsed JSON value (a json column, with white
// space, repeated keys, exponents and numbers beyond float64 in its text)
// reaches every text format with its tokens unchanged, on one line in
// json, tsv and text, laid out in pretty.
func TestFormatsWriteExactJSON(t *testing.T) {
	j, err := runtime.ParseJSON([]byte("{\"b\" :\t1,\n \"a\":[1.0, 1E+2, 123456789012345678901234567890.5, \"<\\ud800>\"], \"b\":{}}"))
	if err != nil {
		t.Fatal(err)
	}
	s := runtime.NewSchema(runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}}, runtime.Field{Name: "j", Type: runtime.Any})
	rec := runtime.Record{Stream: "t", Op: runtime.OpInsert, Schema: s, After: []runtime.Value{runtime.Int(1), j}}
	const data = `{"id":1,"j":{"b":1,"a":[1.0,1E+2,123456789012345678901234567890.5,"\u003c\ud800\u003e"],"b":{}}}`
	for format, want := range map[string]string{
		"json": `{"event_type":"insert","stream":"t","namespace":null,"data":` + data + "}\n",
		"tsv":  "insert\tt\t" + data + "\n",
		"text": "insert t " + data + "\n",
		"pretty": "INSERT: t\n{\n  \"id\": 1,\n  \"j\": {\n    \"b\": 1,\n    \"a\": [\n      1.0,\n      1E+2,\n" +
			"      123456789012345678901234567890.5,\n      \"\\u003c\\ud800\\u003e\"\n    ],\n    \"b\": {}\n  }\n}\n",
	} {
		var out strings.Builder
		sink, err := New(Config{Format: format}, &out)
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Write(context.Background(), []runtime.Record{rec}); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("%s:\n got %q\nwant %q", format, out.String(), want)
		}
	}
}
