package schemas

import (
	"fmt"
	"slices"
)

// CheckJSONSchema is CheckAvro for JSON Schemas given as plain data (as
// JSONSchema returns them, or decoded with encoding/json). It applies the
// structural subset of Confluent's JSON Schema rules that matters for
// record streams: see JSONSchemaCanRead.
func CheckJSONSchema(level Compatibility, candidate map[string]any, previous []map[string]any) error {
	if _, err := ParseCompatibility(string(level)); err != nil {
		return err
	}
	return checkLevels(level, len(previous), func(v int, backward bool) []Incompatibility {
		if backward {
			return JSONSchemaCanRead(candidate, previous[v])
		}
		return JSONSchemaCanRead(previous[v], candidate)
	})
}

// JSONSchemaCanRead returns the changes that make documents valid under
// writer invalid under reader; none when reader accepts them all. The rules,
// applied to the root and recursively to the properties both declare and to
// array items:
//   - every type writer allows must be allowed by reader ("number" covers
//     "integer"; a schema without "type" allows every type);
//   - a property reader requires must be required by writer, so a new
//     required property breaks backward and a removed one breaks forward;
//   - when reader is closed (additionalProperties false), every property
//     writer declares must be declared by reader.
func JSONSchemaCanRead(reader, writer map[string]any) []Incompatibility {
	var out []Incompatibility
	jsonCanRead(&out, "$", reader, writer)
	return out
}

func jsonCanRead(out *[]Incompatibility, path string, r, w map[string]any) {
	add := func(p, format string, args ...any) {
		*out = append(*out, Incompatibility{Path: p, Reason: fmt.Sprintf(format, args...)})
	}
	rt, wt := jsonTypes(r), jsonTypes(w)
	if rt != nil {
		if wt == nil {
			add(path, "type narrowed from any to %v", rt)
			return
		}
		for _, t := range wt {
			if !slices.Contains(rt, t) && (t != "integer" || !slices.Contains(rt, "number")) {
				add(path, "type %s is no longer allowed (now %v)", t, rt)
			}
		}
	}
	wreq := jsonStrings(w["required"])
	for _, p := range jsonStrings(r["required"]) {
		if !slices.Contains(wreq, p) {
			add(path+"."+p, "property is required by the reader but optional in the writer")
		}
	}
	rp, _ := r["properties"].(map[string]any)
	wp, _ := w["properties"].(map[string]any)
	closed := r["additionalProperties"] == false
	names := make([]string, 0, len(wp))
	for name := range wp {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rs, ok := rp[name].(map[string]any)
		if !ok {
			if closed {
				add(path+"."+name, "property is not allowed by the reader's closed object")
			}
			continue
		}
		if ws, ok := wp[name].(map[string]any); ok {
			jsonCanRead(out, path+"."+name, rs, ws)
		}
	}
	ri, rok := r["items"].(map[string]any)
	wi, wok := w["items"].(map[string]any)
	if rok && wok {
		jsonCanRead(out, path+"[]", ri, wi)
	}
}

// jsonTypes returns the "type" keyword as a list; nil when absent.
func jsonTypes(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case nil:
		return nil
	default:
		return jsonStrings(t)
	}
}

func jsonStrings(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
