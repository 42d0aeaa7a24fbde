// Package schemas maps stream schemas to schema languages and holds the
// codecs: JSON Schema rendering (for discover catalogs), Avro schemas and a
// reflection-free Avro binary codec over runtime rows, Parsing Canonical
// Form fingerprints, the Confluent wire format, schema inference from
// samples, and the compatibility checks (Avro and JSON Schema) that a
// schema registry applies; JSON Schema validation (santhosh-tekuri's
// validator); Protobuf: .proto text from stream schemas, compiled at run time
// (protocompile), a direct codec checked against proto.Marshal and
// dynamicpb, the Confluent wire format with message indexes, the
// compatibility rules and a canonical form. The registry is in
// schemas/registry.
package schemas

import "github.com/rivven/rivven-connect/runtime"

// JSONSchema returns the JSON Schema (draft 2020-12 subset) of records
// with schema s, as plain data ready for encoding/json. Fields are listed
// as required unless nullable.
func JSONSchema(s *runtime.Schema) map[string]any {
	return objectSchema(s.Fields, false)
}

func objectSchema(fields []runtime.Field, open bool) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range fields {
		if f.Type.Kind == runtime.KindAbsent {
			continue
		}
		props[f.Name] = TypeSchema(f.Type, f.Nullable)
		if !f.Nullable {
			required = append(required, f.Name)
		}
	}
	out := map[string]any{"type": "object", "properties": props, "required": required}
	if !open {
		out["additionalProperties"] = false
	}
	return out
}

// TypeSchema returns the JSON Schema of one field type.
func TypeSchema(t runtime.Type, nullable bool) map[string]any {
	var out map[string]any
	switch t.Kind {
	case runtime.KindBool:
		out = map[string]any{"type": "boolean"}
	case runtime.KindInt:
		out = map[string]any{"type": "integer"}
	case runtime.KindFloat:
		out = map[string]any{"type": "number"}
	case runtime.KindString:
		out = map[string]any{"type": "string"}
	case runtime.KindObject:
		out = objectSchema(t.Fields, t.Open)
	case runtime.KindArray:
		out = map[string]any{"type": "array"}
		if t.Elem != nil {
			out["items"] = TypeSchema(*t.Elem, false)
		}
	default:
		return map[string]any{}
	}
	if nullable {
		out["type"] = []any{out["type"], "null"}
	}
	return out
}
