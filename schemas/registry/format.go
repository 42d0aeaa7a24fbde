package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/rivven/rivven-connect/schemas"
)

// The schema types, spelled as the REST API's "schemaType". An empty type
// means TypeAvro.
const (
	TypeAvro     = "AVRO"
	TypeJSON     = "JSON"
	TypeProtobuf = "PROTOBUF"
)

// Format is what the Registry needs to know about one schema type. Both
// functions must be safe for concurrent use and must not keep their
// arguments.
type Format struct {
	// Canonical validates schema and returns its canonical form: two
	// schemas with the same canonical form are the same schema and share
	// an id.
	Canonical func(schema string) (string, error)
	// Check reports whether candidate may follow previous (schema texts
	// that passed Canonical, oldest first) under level, as schemas.CheckAvro
	// does: nil when compatible, an error wrapping a *schemas.CompatError
	// when not (its Version is a 1-based position in previous). Any other
	// error is reported as an invalid schema.
	Check func(level schemas.Compatibility, candidate string, previous []string) error
}

// builtinFormats returns the formats every Registry knows: AVRO and JSON.
func builtinFormats() map[string]Format {
	return map[string]Format{
		TypeAvro: {Canonical: schemas.ParseAvroCanonical, Check: checkAvro},
		TypeJSON: {Canonical: canonicalJSON, Check: checkJSON},
	}
}

func parseAvro(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

func checkAvro(level schemas.Compatibility, candidate string, previous []string) error {
	c, err := parseAvro(candidate)
	if err != nil {
		return fmt.Errorf("avro schema: %w", err)
	}
	prev := make([]avro.Schema, len(previous))
	for i, p := range previous {
		if prev[i], err = parseAvro(p); err != nil {
			return fmt.Errorf("previous avro schema %d: %w", i+1, err)
		}
	}
	return schemas.CheckAvro(level, c, prev)
}

// decodeJSONSchema decodes a JSON Schema document, which must be one JSON
// object with nothing after it.
func decodeJSONSchema(text string) (map[string]any, error) {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("json schema: data after the schema document")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("json schema: the schema must be a JSON object")
	}
	return m, nil
}

// canonicalJSON returns the compact JSON encoding of the schema with
// object keys sorted and numbers kept as written.
func canonicalJSON(text string) (string, error) {
	m, err := decodeJSONSchema(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", fmt.Errorf("json schema: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func checkJSON(level schemas.Compatibility, candidate string, previous []string) error {
	c, err := decodeJSONSchema(candidate)
	if err != nil {
		return err
	}
	prev := make([]map[string]any, len(previous))
	for i, p := range previous {
		if prev[i], err = decodeJSONSchema(p); err != nil {
			return fmt.Errorf("previous schema %d: %w", i+1, err)
		}
	}
	return schemas.CheckJSONSchema(level, c, prev)
}
