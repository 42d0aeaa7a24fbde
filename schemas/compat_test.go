package schemas_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

func rec(t *testing.T, fields string) avro.Schema {
	t.Helper()
	s, err := avro.ParseWithCache(`{"type":"record","name":"r","fields":[`+fields+`]}`, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("%s: %v", fields, err)
	}
	return s
}

const (
	fA        = `{"name":"a","type":"int"}`
	fALong    = `{"name":"a","type":"long"}`
	fAStr     = `{"name":"a","type":"string"}`
	fABytes   = `{"name":"a","type":"bytes"}`
	fANull    = `{"name":"a","type":["null","int"],"default":null}`
	fB        = `{"name":"b","type":"string"}`
	fBDefault = `{"name":"b","type":"string","default":"x"}`
	fE1       = `{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}}`
	fE2       = `{"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}}`
)

func TestCheckAvro(t *testing.T) {
	cases := []struct {
		name     string
		level    schemas.Compatibility
		versions []string // oldest first; the last one is the candidate
		fail     string   // "" = compatible; else a fragment of the error
	}{
		{"none/anything", schemas.CompatNone, []string{fA, fB}, ""},
		{"backward/add field with default", schemas.CompatBackward, []string{fA, fA + "," + fBDefault}, ""},
		{"backward/add field without default", schemas.CompatBackward, []string{fA, fA + "," + fB}, "r.b: field is read without a default"},
		{"backward/remove field", schemas.CompatBackward, []string{fA + "," + fB, fA}, ""},
		{"backward/promote int to long", schemas.CompatBackward, []string{fA, fALong}, ""},
		{"backward/narrow long to int", schemas.CompatBackward, []string{fALong, fA}, "r.a: type changed from long to int"},
		{"backward/string to bytes", schemas.CompatBackward, []string{fAStr, fABytes}, ""},
		{"backward/int to string", schemas.CompatBackward, []string{fA, fAStr}, "type changed from int to string"},
		{"backward/make nullable", schemas.CompatBackward, []string{fA, fANull}, ""},
		{"backward/make required", schemas.CompatBackward, []string{fANull, fA}, "type changed from null to int"},
		{"backward/add enum symbol", schemas.CompatBackward, []string{fE2, fE1}, ""},
		{"backward/remove enum symbol", schemas.CompatBackward, []string{fE1, fE2}, "enum symbol Y is missing"},
		{"forward/add field without default", schemas.CompatForward, []string{fA, fA + "," + fB}, ""},
		{"forward/remove field without default", schemas.CompatForward, []string{fA + "," + fB, fA}, "r.b: field is read without a default"},
		{"forward/remove field with default", schemas.CompatForward, []string{fA + "," + fBDefault, fA}, ""},
		{"forward/promote int to long", schemas.CompatForward, []string{fA, fALong}, "(forward): r.a: type changed from long to int"},
		{"full/add field with default", schemas.CompatFull, []string{fA, fA + "," + fBDefault}, ""},
		{"full/add field without default", schemas.CompatFull, []string{fA, fA + "," + fB}, "(backward): r.b"},
		{"full/remove field without default", schemas.CompatFull, []string{fA + "," + fB, fA}, "(forward): r.b"},
		{"backward/only latest", schemas.CompatBackward, []string{fA, fA + "," + fBDefault, fA + "," + fB}, ""},
		{"backward_transitive/all versions", schemas.CompatBackwardTransitive, []string{fA, fA + "," + fBDefault, fA + "," + fB}, "version 1 (backward): r.b"},
		{"backward_transitive/pass", schemas.CompatBackwardTransitive, []string{fA, fA + "," + fBDefault, fALong + "," + fBDefault}, ""},
		{"forward/only latest", schemas.CompatForward, []string{fA + "," + fB, fA + "," + fBDefault, fA}, ""},
		{"forward_transitive/all versions", schemas.CompatForwardTransitive, []string{fA + "," + fB, fA + "," + fBDefault, fA}, "version 1 (forward): r.b"},
		{"forward_transitive/pass", schemas.CompatForwardTransitive, []string{fA, fA + "," + fB, fA + "," + fB + `,{"name":"c","type":"int"}`}, ""},
		{"full/only latest", schemas.CompatFull, []string{fA, fA + "," + fBDefault, fA + "," + fB}, ""},
		{"full_transitive/all versions", schemas.CompatFullTransitive, []string{fA, fA + "," + fBDefault, fA + "," + fB}, "version 1 (backward): r.b"},
		{"full_transitive/pass", schemas.CompatFullTransitive, []string{fA, fA + "," + fBDefault, fA + "," + fBDefault + `,{"name":"c","type":"int","default":0}`}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var vs []avro.Schema
			for _, v := range tc.versions {
				vs = append(vs, rec(t, v))
			}
			err := schemas.CheckAvro(tc.level, vs[len(vs)-1], vs[:len(vs)-1])
			if tc.fail == "" {
				if err != nil {
					t.Fatalf("want compatible, got %v", err)
				}
				return
			}
			var ce *schemas.CompatError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.fail) {
				t.Fatalf("want an error containing %q, got %v", tc.fail, err)
			}
		})
	}
}

func TestParseCompatibility(t *testing.T) {
	if c, err := schemas.ParseCompatibility("backward_transitive"); err != nil || c != schemas.CompatBackwardTransitive {
		t.Errorf("= %q, %v", c, err)
	}
	if _, err := schemas.ParseCompatibility("sideways"); err == nil {
		t.Errorf("unknown level: no error")
	}
	if err := schemas.CheckAvro("sideways", rec(t, fA), nil); err == nil {
		t.Errorf("CheckAvro with unknown level: no error")
	}
}

// TestCompatStreamEvolution: a stream schema gaining a nullable column is a
// backward-compatible new version; gaining a required one is not.
func TestCompatStreamEvolution(t *testing.T) {
	s1, _ := datagen.Schema(datagen.Config{Pattern: "orders"})
	add := func(f runtime.Field) avro.Schema {
		s := runtime.NewSchema(append(append([]runtime.Field(nil), s1.Fields...), f)...)
		c, err := schemas.NewAvroCodec(s, "orders")
		if err != nil {
			t.Fatal(err)
		}
		return c.Schema()
	}
	c1, err := schemas.NewAvroCodec(s1, "orders")
	if err != nil {
		t.Fatal(err)
	}
	v1 := []avro.Schema{c1.Schema()}
	str := runtime.Type{Kind: runtime.KindString}
	if err := schemas.CheckAvro(schemas.CompatBackward, add(runtime.Field{Name: "note", Type: str, Nullable: true}), v1); err != nil {
		t.Errorf("nullable column: %v", err)
	}
	err = schemas.CheckAvro(schemas.CompatBackward, add(runtime.Field{Name: "note", Type: str}), v1)
	if err == nil || !strings.Contains(err.Error(), "orders.note") {
		t.Errorf("required column: err = %v", err)
	}
}
