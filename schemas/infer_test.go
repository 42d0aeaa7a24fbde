package schemas_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

func parseLines(t *testing.T, lines ...string) []runtime.Value {
	t.Helper()
	out := make([]runtime.Value, len(lines))
	for i, l := range lines {
		v, err := runtime.ParseJSON([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out[i] = v
	}
	return out
}

func TestInfer(t *testing.T) {
	samples := parseLines(t,
		`{"id":1,"name":"a","score":1,"tags":["x"],"addr":{"city":"P","zip":1},"opt":null,"mixed":1,"list":[1,2.5]}`,
		`{"id":2,"name":"b","score":2.5,"tags":[],"addr":{"city":"Q"},"extra":true,"mixed":"s","list":[null]}`,
		`{"id":3,"name":"c","score":3,"tags":["y","z"],"addr":{"city":"R","zip":2},"opt":"v","mixed":1,"list":[]}`,
	)
	s, err := schemas.Infer(samples)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range s.Fields {
		q := ""
		if f.Nullable {
			q = "?"
		}
		got = append(got, f.Name+" "+q+f.Type.String())
	}
	want := []string{
		"id int", "name string", "score float", "tags array<string>",
		"addr object{city string, zip ?int}", "opt ?string", "mixed any",
		"list array<any>", "extra ?bool",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("Infer\n got %s\nwant %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}

	js, _ := json.Marshal(schemas.JSONSchema(s))
	for _, frag := range []string{
		`"required":["id","name","score","tags","addr","mixed","list"]`,
		`"score":{"type":"number"}`,
		`"opt":{"type":["string","null"]}`,
		`"zip":{"type":["integer","null"]}`,
	} {
		if !strings.Contains(string(js), frag) {
			t.Errorf("JSON Schema lacks %s:\n%s", frag, js)
		}
	}
	c, err := schemas.NewAvroCodec(s, "inferred")
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{
		`{"name":"score","type":"double"}`,
		`{"name":"opt","type":["null","string"]}`,
		`{"name":"mixed","type":["null","string"]}`,
		`{"name":"extra","type":["null","boolean"]}`,
	} {
		if !strings.Contains(c.Canonical(), frag) {
			t.Errorf("Avro lacks %s:\n%s", frag, c.Canonical())
		}
	}
	// Every sample encodes and round-trips under the inferred schema.
	rows := make([][]runtime.Value, len(samples))
	for i, smp := range samples {
		o := smp.AsObject()
		for _, f := range s.Fields {
			v, _ := o.Get(f.Name)
			rows[i] = append(rows[i], v)
		}
		b, err := c.Append(nil, rows[i])
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		back, err := c.Decode(b)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		// A missing nullable key decodes as an explicit null.
		want := rows[i]
		if i == 1 {
			want = append([]runtime.Value(nil), want...)
			want[4] = parseLines(t, `{"city":"Q","zip":null}`)[0]
		}
		for j := range back {
			if !back[j].Equal(want[j]) {
				t.Errorf("sample %d field %s: got %s", i, s.Fields[j].Name, runtime.AppendJSON(nil, back[j]))
			}
		}
	}
}

func TestInferErrorsAndEdges(t *testing.T) {
	if _, err := schemas.Infer([]runtime.Value{runtime.Int(1)}); err == nil || !strings.Contains(err.Error(), "sample 0 is int") {
		t.Errorf("non-object sample: err = %v", err)
	}
	s, err := schemas.Infer(nil)
	if err != nil || len(s.Fields) != 0 {
		t.Errorf("empty sample: %v, %v", s, err)
	}
	s, _ = schemas.Infer(parseLines(t, `{"a":null}`, `{"a":null}`))
	if f := s.Fields[0]; !f.Nullable || f.Type.Kind != runtime.KindNull {
		t.Errorf("only-null field = %+v, want nullable any", f)
	}
}

// TestInferDatagen: rows of a datagen pattern infer back the declared schema.
func TestInferDatagen(t *testing.T) {
	for _, p := range []string{"sequence", "random", "users", "orders", "metrics", "key_value"} {
		cfg := datagen.Config{Pattern: p, IncludeSequence: true}
		s, rows := sample(t, cfg, 300)
		got, err := schemas.InferRows(s, rows)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(schemas.JSONSchema(s))
		b, _ := json.Marshal(schemas.JSONSchema(got))
		if string(a) != string(b) {
			t.Errorf("%s:\n declared %s\n inferred %s", p, a, b)
		}
	}
}
