package check

import "fmt"

// ConfigSchemaID is the "$id" of the whole-document schema.
const ConfigSchemaID = "urn:rivven-connect:config"

// pluginNamePattern is what an editor accepts as a plugin's name where a
// connector or transform type goes.
const pluginNamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"

// connectorKinds are the sections whose entries pick a connector (or a
// transform type) by the key named here, which decides the shape of their
// `config`.
var connectorKinds = []struct{ section, key, what string }{
	{"sources", "connector", "source connector"},
	{"sinks", "connector", "sink connector"},
	{"transforms", "type", "transform type"},
}

// ConfigJSONSchema renders #Config, the whole config document, as one JSON
// Schema (draft 2020-12) document for editors (yaml-language-server and
// others): every section with its doc comments as descriptions, defaults,
// enums, bounds, required keys and closed structs, as JSONSchema does for a
// connector. Besides:
//
//   - the `connector` of a source or sink and the `type` of a transform
//     are an enum of the known names, and `config` is validated by the
//     schema of the one named (if/then on the name; the connector schemas
//     live under $defs as "<section>.<name>");
//   - every scalar that a ${VAR} reference could not satisfy as written
//     also accepts one: a non-string scalar a string that is exactly one
//     ${NAME} or ${NAME:-default} reference (port: ${PGPORT}), a
//     constrained string (an enum, a pattern) any text with a reference;
//   - the sections UnavailableSections lists accept no value: `"not": {}`, a
//     description saying so, and the editor extensions deprecationMessage
//     (yaml-language-server shows it as the problem's message) and
//     doNotSuggest (no completion offers them).
//
// The result is plain data; EncodeJSONSchema writes it deterministically.
// An error means the CUE definitions lack a section this rendering expects
// (a build defect, named in the message).
func (s *Schema) ConfigJSONSchema() (map[string]any, error) {
	t := &translator{s: s, envRefs: true}
	cfg := s.Def("#Config")
	out := t.shape(cfg, 0)
	defs := envDefs()
	props, err := object(out, "#Config", "properties")
	if err != nil {
		return nil, err
	}
	strictBySection := map[string]any{}
	for _, k := range connectorKinds {
		names, values := s.Connectors(k.section)
		if len(names) == 0 {
			return nil, fmt.Errorf("the CUE definitions list no %ss (connectors.%s)", k.what, k.section)
		}
		defNames := s.DefNames(k.section)
		entry, err := object(props, "#Config", k.section, "additionalProperties")
		if err != nil {
			return nil, err
		}
		entryProps, err := object(entry, "#Config."+k.section+".<name>", "properties")
		if err != nil {
			return nil, err
		}
		name, err := object(entryProps, "#Config."+k.section+".<name>", k.key)
		if err != nil {
			return nil, err
		}
		desc := fmt.Sprintf("One of the %ss of this version.", k.what)
		if d, _ := name["description"].(string); d != "" {
			desc = fmt.Sprintf("%s (one of the %ss of this version).", trimPeriod(d), k.what)
		}
		enum := make([]any, len(names))
		for i, n := range names {
			enum[i] = n
		}
		name = t.envAlternative(map[string]any{"type": "string", "enum": enum})
		name["description"] = desc
		// Or a WASM plugin declared under plugins, which a JSON Schema
		// cannot list: in a document with a plugins section, any name a
		// plugin may have; without one, only the known names.
		strict := map[string]any{}
		for k, v := range name {
			strict[k] = v
		}
		if alts, ok := name["anyOf"].([]any); ok {
			name = map[string]any{"anyOf": append(append([]any{}, alts...), map[string]any{"type": "string", "pattern": pluginNamePattern, "description": "The name of a WASM plugin declared under plugins."}),
				"description": desc + " Or a WASM plugin declared under plugins."}
		}
		strictBySection[k.section] = map[string]any{"additionalProperties": map[string]any{"properties": map[string]any{k.key: strict}}}
		entryProps[k.key] = name
		var branches []any
		for _, n := range names {
			ref := k.section + "." + n
			v := values[n]
			if def := defNames[n]; def != "" {
				v = s.Def(def)
			}
			schema := t.shape(v, 0)
			schema["title"] = n
			if d := doc(v); d != "" {
				schema["description"] = d
			}
			defs[ref] = schema
			branches = append(branches, map[string]any{
				"if": map[string]any{
					"properties": map[string]any{k.key: map[string]any{"const": n}},
					"required":   []any{k.key},
				},
				"then": map[string]any{
					"properties": map[string]any{"config": map[string]any{"$ref": "#/$defs/" + ref}},
				},
			})
		}
		entry["allOf"] = branches
	}
	out["allOf"] = append(asList(out["allOf"]), map[string]any{
		"if":   map[string]any{"not": map[string]any{"required": []any{"plugins"}}},
		"then": map[string]any{"properties": strictBySection},
	})
	// The sections the checker refuses as not available (unavailable.go)
	// accept no value, so that an editor flags them too.
	for _, key := range UnavailableSections() {
		p, ok := props[key].(map[string]any)
		if !ok {
			continue
		}
		desc, _ := p["description"].(string)
		msg := fmt.Sprintf("%s is not yet available in this version of rivven-connect: `rivven-connect check` refuses a config with it.", key)
		props[key] = map[string]any{
			"description":        trimPeriod(desc) + ": not yet available in this version (check refuses it).",
			"not":                map[string]any{},
			"deprecationMessage": msg,
			"doNotSuggest":       true,
		}
	}
	out["$schema"] = JSONSchemaDraft
	out["$id"] = ConfigSchemaID
	out["title"] = "rivven-connect config"
	out["description"] = "A rivven-connect config document (#Config in the CUE definitions). Put `# yaml-language-server: $schema=<this file>` at the top of a config for checks, completion and hover text in editors; `rivven-connect check` remains the full check (names, conditions, servers)."
	out["$defs"] = defs
	return out, nil
}

// object follows keys from m through nested objects; what names m in the
// error.
func object(m map[string]any, what string, keys ...string) (map[string]any, error) {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("rendering %s as JSON Schema: no object at %q", what, k)
		}
		m, what = next, what+"."+k
	}
	return m, nil
}

func trimPeriod(s string) string {
	for len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
