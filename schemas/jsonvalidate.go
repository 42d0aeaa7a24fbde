package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// jsonSchemaURL is the in-memory location a validator's document is
// registered under; no other location is ever loaded.
const jsonSchemaURL = "mem:///schema.json"

var jsonPrinter = message.NewPrinter(language.English)

// JSONValidator validates values against one compiled JSON Schema
// document. Documents without "$schema" are read as draft 2020-12, the
// draft JSONSchema renders. It is immutable and safe for concurrent use.
type JSONValidator struct {
	schema *jsonschema.Schema
}

// NewJSONValidator compiles doc, a JSON Schema document given either as
// JSON text ([]byte, json.RawMessage or string) or as plain data that
// encoding/json can marshal (such as JSONSchema returns). References to
// other documents are not loaded: a "$ref" that leaves doc fails to
// compile. An invalid document is an error.
func NewJSONValidator(doc any) (*JSONValidator, error) {
	var text []byte
	switch d := doc.(type) {
	case []byte:
		text = d
	case json.RawMessage:
		text = d
	case string:
		text = []byte(d)
	default:
		var err error
		if text, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("json schema: %w", err)
		}
	}
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(jsonschema.SchemeURLLoader{})
	if err := c.AddResource(jsonSchemaURL, parsed); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	sch, err := c.Compile(jsonSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return &JSONValidator{schema: sch}, nil
}

// NewRowValidator returns the validator of rows with schema s: it compiles
// JSONSchema(s), so a row passes exactly when the JSON object a JSON sink
// writes for it (runtime.AppendJSONRow) matches the stream's schema.
func NewRowValidator(s *runtime.Schema) (*JSONValidator, error) {
	return NewJSONValidator(JSONSchema(s))
}

// Validate reports whether v, seen as the JSON that runtime.AppendJSON
// writes for it, is valid. It returns nil when it is and a
// *JSONValidationError otherwise.
func (j *JSONValidator) Validate(v runtime.Value) error {
	return j.validate(jsonInstance(v))
}

// ValidateRow validates the JSON object of row under s, as
// runtime.AppendJSONRow writes it: one property per schema field, absent
// values left out. It returns nil or a *JSONValidationError.
func (j *JSONValidator) ValidateRow(s *runtime.Schema, row []runtime.Value) error {
	obj := make(map[string]any, len(row))
	for i, v := range row {
		if v.Kind() == runtime.KindAbsent || i >= len(s.Fields) {
			continue
		}
		obj[s.Fields[i].Name] = jsonInstance(v)
	}
	return j.validate(obj)
}

func (j *JSONValidator) validate(inst any) error {
	err := j.schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("json schema: %w", err)
	}
	out := &JSONValidationError{}
	collectProblems(&out.Problems, ve)
	slices.SortFunc(out.Problems, func(a, b JSONProblem) int {
		return strings.Compare(a.String(), b.String())
	})
	out.Problems = slices.Compact(out.Problems)
	return out
}

// collectProblems appends the leaves of the error tree: the causes say
// which keyword failed where, the inner nodes only that a subschema did.
func collectProblems(out *[]JSONProblem, e *jsonschema.ValidationError) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collectProblems(out, c)
		}
		return
	}
	p := JSONProblem{Path: jsonPointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(jsonPrinter)}
	if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
		p.Keyword = kp[len(kp)-1]
	}
	*out = append(*out, p)
}

func jsonPointer(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// JSONProblem is one failed assertion of a JSON Schema validation.
type JSONProblem struct {
	// Path is the JSON Pointer of the failing instance value ("/" for the
	// root, "/tags/env" for a nested property, "/items/0" for an element).
	Path string
	// Keyword is the JSON Schema keyword that failed ("type", "required",
	// "additionalProperties", …); empty when the whole subschema is false.
	Keyword string
	// Message says what is wrong, e.g. "got string, want integer".
	Message string
}

// String renders "path: keyword: message".
func (p JSONProblem) String() string {
	if p.Keyword == "" {
		return p.Path + ": " + p.Message
	}
	return p.Path + ": " + p.Keyword + ": " + p.Message
}

// JSONValidationError reports a value that a JSON Schema rejects.
type JSONValidationError struct {
	// Problems lists every failed assertion, at least one, sorted and
	// without duplicates.
	Problems []JSONProblem
}

// Error implements error: "json schema validation failed: " and the
// problems joined by "; ".
func (e *JSONValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "json schema validation failed: " + strings.Join(parts, "; ")
}

// jsonInstance converts v to the value encoding/json would decode from
// runtime.AppendJSON's output: NaN and infinities become their strings,
// absent values null, and absent object members are left out; a number
// that carries its decimal text (parsed JSON) is that text, exactly.
func jsonInstance(v runtime.Value) any {
	switch v.Kind() {
	case runtime.KindBool:
		return v.AsBool()
	case runtime.KindInt:
		return v.AsInt()
	case runtime.KindFloat:
		if text, ok := v.JSONText(); ok {
			return json.Number(text)
		}
		f := v.AsFloat()
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return f
	case runtime.KindString:
		return v.AsString()
	case runtime.KindObject:
		o := v.AsObject()
		m := make(map[string]any, len(o.Keys))
		for i, k := range o.Keys {
			if o.Values[i].Kind() != runtime.KindAbsent {
				m[k] = jsonInstance(o.Values[i])
			}
		}
		return m
	case runtime.KindArray:
		a := v.AsArray()
		out := make([]any, len(a))
		for i, e := range a {
			out[i] = jsonInstance(e)
		}
		return out
	}
	return nil
}
