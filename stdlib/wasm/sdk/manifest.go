package sdk

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// checkManifest reports the first mistake in m, registered as kind.
func checkManifest(m *Manifest, kind string) error {
	switch {
	case m.Name == "":
		return fmt.Errorf("sdk.%s: the manifest has no Name", title(kind))
	case m.Version == "":
		return fmt.Errorf("sdk.%s: manifest %q has no Version", title(kind), m.Name)
	case m.ABI != 0 && m.ABI != abi.Version:
		return fmt.Errorf("manifest %q: ABI %d; this SDK implements ABI %d (leave ABI unset)", m.Name, m.ABI, abi.Version)
	case m.Kind != "" && m.Kind != kind:
		return fmt.Errorf("manifest %q: Kind %q registered with sdk.%s (leave Kind unset)", m.Name, m.Kind, title(kind))
	case m.Encoding != "" && m.Encoding != abi.EncodingBinary && m.Encoding != abi.EncodingJSON:
		return fmt.Errorf("manifest %q: Encoding %q is not %q or %q", m.Name, m.Encoding, abi.EncodingBinary, abi.EncodingJSON)
	case len(m.ConfigSchema) > 0 && !json.Valid(m.ConfigSchema):
		return fmt.Errorf("manifest %q: ConfigSchema is not valid JSON", m.Name)
	case m.KeepsSchema && kind != abi.KindTransform:
		return fmt.Errorf("manifest %q: KeepsSchema is for transforms; this is a %s", m.Name, kind)
	case len(m.Streams) > 0 && kind != abi.KindSource:
		return fmt.Errorf("manifest %q: Streams are for sources; this is a %s", m.Name, kind)
	case m.Splits && kind != abi.KindSource:
		return fmt.Errorf("manifest %q: Splits is for sources; this is a %s", m.Name, kind)
	}
	seen := map[streamKey]bool{}
	for _, s := range m.Streams {
		k := streamKey{s.Namespace, s.Name}
		if s.Name == "" {
			return fmt.Errorf("manifest %q: a stream has no name", m.Name)
		}
		if seen[k] {
			return fmt.Errorf("manifest %q: stream %q is declared twice", m.Name, s.Name)
		}
		seen[k] = true
		if len(s.Fields) == 0 {
			return fmt.Errorf("manifest %q: stream %q declares no fields", m.Name, s.Name)
		}
		names := map[string]bool{}
		for _, f := range s.Fields {
			if f.Name == "" || f.Type == "" {
				return fmt.Errorf("manifest %q: stream %q: every field needs a name and a type", m.Name, s.Name)
			}
			if names[f.Name] {
				return fmt.Errorf("manifest %q: stream %q: field %q is declared twice", m.Name, s.Name, f.Name)
			}
			names[f.Name] = true
		}
		for _, k := range s.Key {
			if !names[k] {
				return fmt.Errorf("manifest %q: stream %q: key field %q is not one of its fields", m.Name, s.Name, k)
			}
		}
	}
	return nil
}

func title(kind string) string {
	switch kind {
	case abi.KindTransform:
		return "Transform"
	case abi.KindSource:
		return "Source"
	}
	return "Sink"
}

type streamKey struct{ namespace, name string }

// declared is a stream of the manifest as the SDK types its records: the
// field names in order and the schema records with exactly those fields
// get.
type declared struct {
	names  []string
	schema abi.Schema
	// key: the key fields' names, for records whose fields differ.
	key []string
}

func declareStreams(specs []abi.StreamSpec) map[streamKey]*declared {
	out := map[streamKey]*declared{}
	for _, s := range specs {
		d := &declared{key: s.Key}
		pos := map[string]int{}
		for i, f := range s.Fields {
			d.names = append(d.names, f.Name)
			d.schema.Fields = append(d.schema.Fields, abi.Field{Name: f.Name, Kind: typeKind(f.Type), Nullable: f.Nullable})
			pos[f.Name] = i
		}
		for _, k := range s.Key {
			if i, ok := pos[k]; ok {
				d.schema.Key = append(d.schema.Key, i)
			}
		}
		out[streamKey{s.Namespace, s.Name}] = d
	}
	return out
}

// typeKind is the value kind of a declared type ("int", "array<string>",
// "object{…}"); KindNull (any) for a type it does not know.
func typeKind(t string) abi.Kind {
	switch t {
	case "bool":
		return abi.KindBool
	case "int":
		return abi.KindInt
	case "float":
		return abi.KindFloat
	case "string":
		return abi.KindString
	}
	switch {
	case strings.HasPrefix(t, "array"):
		return abi.KindArray
	case strings.HasPrefix(t, "object"):
		return abi.KindObject
	}
	return abi.KindNull
}
