package schemas_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
)

func js(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return m
}

func TestCheckJSONSchema(t *testing.T) {
	const (
		a       = `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`
		aNum    = `{"type":"object","properties":{"a":{"type":"number"}},"required":["a"]}`
		aStr    = `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`
		aB      = `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a","b"]}`
		aBOpt   = `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"]}`
		aClosed = `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}`
		nested1 = `{"type":"object","properties":{"o":{"type":"object","properties":{"x":{"type":"string"}},"required":[]}}}`
		nested2 = `{"type":"object","properties":{"o":{"type":"object","properties":{"x":{"type":"string"}},"required":["x"]}}}`
	)
	cases := []struct {
		name     string
		level    schemas.Compatibility
		versions []string
		fail     string
	}{
		{"none", schemas.CompatNone, []string{a, aStr}, ""},
		{"backward/new optional property", schemas.CompatBackward, []string{a, aBOpt}, ""},
		{"backward/new required property", schemas.CompatBackward, []string{a, aB}, "$.b: property is required by the reader"},
		{"backward/widen integer to number", schemas.CompatBackward, []string{a, aNum}, ""},
		{"backward/integer to string", schemas.CompatBackward, []string{a, aStr}, "$.a: type integer is no longer allowed"},
		{"backward/closed drops property", schemas.CompatBackward, []string{aBOpt, aClosed}, "$.b: property is not allowed"},
		{"backward/nested new required", schemas.CompatBackward, []string{nested1, nested2}, "$.o.x"},
		{"forward/removed optional property", schemas.CompatForward, []string{aBOpt, a}, ""},
		{"forward/removed required property", schemas.CompatForward, []string{aB, a}, "(forward): $.b: property is required"},
		{"full/optional property added", schemas.CompatFull, []string{a, aBOpt}, ""},
		{"full/required property added", schemas.CompatFull, []string{a, aB}, "(backward)"},
		{"backward/only latest", schemas.CompatBackward, []string{a, aB, aB}, ""},
		{"backward_transitive", schemas.CompatBackwardTransitive, []string{a, aB, aB}, "version 1"},
		{"forward/only latest", schemas.CompatForward, []string{aB, aBOpt, aBOpt}, ""},
		{"forward_transitive", schemas.CompatForwardTransitive, []string{aB, aBOpt, aBOpt}, "version 1 (forward)"},
		{"full_transitive/pass", schemas.CompatFullTransitive, []string{a, aBOpt, aBOpt}, ""},
		{"full_transitive/fail", schemas.CompatFullTransitive, []string{aB, aBOpt, aBOpt}, "version 1 (forward)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var vs []map[string]any
			for _, v := range tc.versions {
				vs = append(vs, js(t, v))
			}
			err := schemas.CheckJSONSchema(tc.level, vs[len(vs)-1], vs[:len(vs)-1])
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

// TestCheckJSONSchemaStream: JSONSchema output of an evolving stream schema.
func TestCheckJSONSchemaStream(t *testing.T) {
	id := runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}}
	note := runtime.Field{Name: "note", Type: runtime.Type{Kind: runtime.KindString}}
	v1 := schemas.JSONSchema(runtime.NewSchema(id))
	note.Nullable = true
	if err := schemas.CheckJSONSchema(schemas.CompatBackward, schemas.JSONSchema(runtime.NewSchema(id, note)), []map[string]any{v1}); err != nil {
		t.Errorf("nullable column: %v", err)
	}
	note.Nullable = false
	err := schemas.CheckJSONSchema(schemas.CompatBackward, schemas.JSONSchema(runtime.NewSchema(id, note)), []map[string]any{v1})
	if err == nil || !strings.Contains(err.Error(), "$.note") {
		t.Errorf("required column: %v", err)
	}
}
