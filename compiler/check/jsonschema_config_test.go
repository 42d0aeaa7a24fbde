package check_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"

	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/golden/goldentest"
)

var update = flag.Bool("update", false, "rewrite testdata/config.schema.json")

// configSchemaGolden is the checked-in output of `rivven-connect spec --config`.
var configSchemaGolden = filepath.Join("testdata", "config.schema.json")

func encodedConfigSchema(t *testing.T) []byte {
	t.Helper()
	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := s.ConfigJSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	b, err := check.EncodeJSONSchema(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConfigJSONSchemaGolden pins the whole-document schema; a change to
// cue/*.cue or to the translation shows up as a diff of the golden file
// (go test ./compiler/check -run ConfigJSONSchemaGolden -update).
func TestConfigJSONSchemaGolden(t *testing.T) {
	got := encodedConfigSchema(t)
	if again := encodedConfigSchema(t); !bytes.Equal(got, again) {
		t.Fatal("two renderings of the schema differ: the output is not deterministic")
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(configSchemaGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(configSchemaGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(configSchemaGolden)
	if err != nil {
		t.Fatalf("%v (run go test ./compiler/check -run ConfigJSONSchemaGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale (run go test ./compiler/check -run ConfigJSONSchemaGolden -update and review the diff); first difference at line %d", configSchemaGolden, firstDiffLine(got, want))
	}
}

func firstDiffLine(a, b []byte) int {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// compiledConfigSchema compiles the whole-document schema with an
// independent validator (draft 2020-12), loading nothing from outside.
func compiledConfigSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(encodedConfigSchema(t)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(check.ConfigSchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(check.ConfigSchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// yamlInstance reads a YAML config as the JSON value an editor's schema
// check sees: mappings with their keys' text, scalars with their YAML 1.2
// types, ${VAR} references unexpanded.
func yamlInstance(text string) (any, error) {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := map[string]any{}
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}

// errorPaths lists the config paths (config.JoinPath spelling) that a
// validation error blames: where each leaf error is, and for an unknown
// or missing key the key itself.
func errorPaths(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		loc := e.InstanceLocation
		switch k := e.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				seen[config.JoinPath(append(slices.Clone(loc), p))] = true
			}
		case *kind.Required:
			for _, p := range k.Missing {
				seen[config.JoinPath(append(slices.Clone(loc), p))] = true
			}
		default:
			if len(e.Causes) == 0 {
				seen[config.JoinPath(loc)] = true
			}
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestConfigJSONSchemaExamples: every example config is valid.
func TestConfigJSONSchemaExamples(t *testing.T) {
	sch := compiledConfigSchema(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := yamlInstance(string(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: the schema refuses a valid example:\n%v", f, err)
		}
	}
}

// goldenError is one line of a golden case's out/errors.
var goldenError = regexp.MustCompile(`^[^:]+:\d+:\d+: ([a-z-]+): (\S+): (.*)$`)

// isShapeError reports whether a checker error is about the document's
// shape as the CUE definitions state it, which the schema states too: an
// unknown key or connector, a missing required key, a wrong type, a value
// out of range or not among the allowed ones.
func isShapeError(code, msg string) bool {
	switch code {
	case "unknown-key", "unknown-connector":
		return true
	case "missing-key":
		return strings.HasPrefix(msg, "missing required key ")
	case "type-mismatch":
		return strings.HasPrefix(msg, "expected ")
	case "out-of-range":
		return strings.Contains(msg, " is out of range: must be ")
	case "invalid-value":
		return strings.Contains(msg, " is not one of ") || strings.Contains(msg, " must match ")
	}
	return false
}

// semanticCodes are errors about meaning, not shape: a case with only
// these has a well-shaped document, which the schema must accept.
var semanticCodes = map[string]bool{
	"unknown-reference": true, "condition-syntax": true, "condition-type": true,
	"unknown-field": true, "bad-mask-path": true, "no-pipelines": true, "unset-variable": true,
}

// TestConfigJSONSchemaGoldenCases validates the config of every golden
// case: one the checker accepts must pass; one whose errors include shape
// errors must fail, blaming each of their paths; one with only semantic
// errors must pass. Other failing cases (server-side rules the schema
// cannot state, YAML the editor would flag itself) are not asserted.
func TestConfigJSONSchemaGoldenCases(t *testing.T) {
	sch := compiledConfigSchema(t)
	cases, err := goldentest.Load(filepath.Join("..", "..", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	var accepted, rejected int
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg := c.Sections["pipeline.yaml"]
			errText, expectsErrors := c.Sections["out/errors"]
			var shape []string
			semanticOnly := expectsErrors
			for _, line := range strings.Split(strings.TrimSpace(errText), "\n") {
				if strings.HasPrefix(line, "pipeline.lock.yaml:") {
					continue // the schema lock's own errors: not the config's shape
				}
				m := goldenError.FindStringSubmatch(line)
				if m == nil {
					semanticOnly = false
					continue
				}
				if isShapeError(m[1], m[3]) {
					shape = append(shape, m[2])
				}
				if !semanticCodes[m[1]] {
					semanticOnly = false
				}
			}
			inst, err := yamlInstance(cfg)
			if err != nil {
				if expectsErrors {
					return // the YAML itself is broken; the checker says so
				}
				t.Fatalf("pipeline.yaml does not read as YAML: %v", err)
			}
			verr := sch.Validate(inst)
			switch {
			case !expectsErrors || semanticOnly:
				if verr != nil {
					t.Errorf("the schema refuses a well-shaped config:\n%v", verr)
				}
				accepted++
			case len(shape) > 0:
				if verr == nil {
					t.Fatalf("the schema accepts a config with shape errors at %v", shape)
				}
				blamed := errorPaths(verr)
				for _, p := range shape {
					if !slices.Contains(blamed, p) {
						t.Errorf("the checker reports %s, the schema does not (it blames %v):\n%v", p, blamed, verr)
					}
				}
				rejected++
			}
		})
	}
	if accepted == 0 || rejected == 0 {
		t.Errorf("accepted %d and rejected %d golden configs; both kinds should be present", accepted, rejected)
	}
}

// documentEnv is the environment the checker reads the documents of
// TestConfigJSONSchemaDocuments with.
var documentEnv = map[string]string{"PGPORT": "5432", "PW": "secret", "CDC": "true", "ENV": "dev",
	"CONNECTOR": "datagen", "HEALTH": "true", "N": "5"}

// checkerErrors runs the checker on doc and returns its errors.
func checkerErrors(doc string) source.Errors {
	lookup := func(k string) (string, bool) { v, ok := documentEnv[k]; return v, ok }
	f, errs := config.Parse("doc.yaml", []byte(doc), lookup)
	if f == nil {
		return errs
	}
	_, cerrs := check.Check(f, nil)
	return append(errs, cerrs...)
}

// TestConfigJSONSchemaDocuments pins what the schema says about small
// documents, and that the checker agrees: ${VAR} references pass where
// the checker takes them, shape errors fail at the paths the checker
// names.
func TestConfigJSONSchemaDocuments(t *testing.T) {
	sch := compiledConfigSchema(t)
	// The checker's refusal of these is pinned by its own tests.
	notChecked := map[string]bool{}
	const base = `
sources:
  gen: {connector: datagen, config: {pattern: orders}}
sinks:
  out: {connector: stdout}
pipelines:
  p: {source: gen, sink: out}
`
	for _, tc := range []struct {
		name, doc string
		blame     []string // nil: valid
	}{
		{"base", base, nil},
		{"env-int", "sources:\n  pg:\n    connector: postgres-cdc\n    config:\n      database: d\n      user: u\n      port: ${PGPORT}\n", nil},
		{"env-int-quoted-default", `sources: {pg: {connector: postgres-cdc, config: {database: d, user: u, port: "${PGPORT:-5432}", password: "${PW}"}}}`, nil},
		{"env-bool", "sources:\n  gen:\n    connector: datagen\n    config:\n      cdc_mode: \"${CDC}\"\n      include_sequence: ${SEQ:-true}\n", nil},
		{"env-enum", `sources: {gen: {connector: datagen, config: {pattern: "${PATTERN:-sequence}"}}}`, nil},
		{"env-in-pattern-string", `sources: {pg: {connector: postgres-cdc, config: {database: d, user: u, slot_name: "slot_${ENV}"}}}`, nil},
		{"env-connector", `sources: {gen: {connector: "${CONNECTOR}"}}`, nil},
		{"env-settings", `settings: {health: {enabled: "${HEALTH}", port: "${HEALTH_PORT:-8080}"}, log_level: "${LOG_LEVEL:-info}"}`, nil},
		{"start-offset-timestamp", "broker: {bootstrap_servers: [\"b:9092\"]}\nsinks: {s: {connector: stdout, topics: [a], start_offset: {timestamp: \"2026-01-02T03:04:05Z\"}}}", nil},
		{"start-offset-word", `sources: {r: {connector: rivven, config: {address: "b:9092", topics: [a], start_offset: latest}}}`, nil},
		{"custom-fields", `sources: {gen: {connector: datagen, config: {custom_fields: {a: 1, b: x, c: null, d: 1.5, e: true}}}}`, nil},
		{"version", `version: "1.0"`, nil},

		{"unknown-top-level-key", "pipelins: {}\n" + base, []string{"pipelins"}},
		{"eps-string", `sources: {gen: {connector: datagen, config: {events_per_second: fast}}}`, []string{"sources.gen.config.events_per_second"}},
		{"eps-float", `sources: {gen: {connector: datagen, config: {events_per_second: 1.5}}}`, []string{"sources.gen.config.events_per_second"}},
		{"eps-too-big", `sources: {gen: {connector: datagen, config: {events_per_second: 100001}}}`, []string{"sources.gen.config.events_per_second"}},
		{"eps-partial-reference", `sources: {gen: {connector: datagen, config: {events_per_second: "1${N}"}}}`, []string{"sources.gen.config.events_per_second"}},
		{"eps-bad-variable-name", `sources: {gen: {connector: datagen, config: {events_per_second: "${1N}"}}}`, []string{"sources.gen.config.events_per_second"}},
		{"unknown-source-connector", `sources: {gen: {connector: datagn}}`, []string{"sources.gen.connector"}},
		{"unknown-sink-connector", `sinks: {out: {connector: stdot}}`, []string{"sinks.out.connector"}},
		{"unknown-transform-type", `transforms: {t: {type: filtr, config: {condition: "true"}}}`, []string{"transforms.t.type"}},
		{"missing-connector", `sources: {gen: {config: {}}}`, []string{"sources.gen.connector"}},
		{"key-of-another-connector", `sources: {gen: {connector: datagen, config: {slot_name: x}}}`, []string{"sources.gen.config.slot_name"}},
		{"missing-required-config-key", `transforms: {m: {type: field-mask, config: {strategy: hash}}}`, []string{"transforms.m.config.fields"}},
		{"empty-mask-fields", `transforms: {m: {type: field-mask, config: {fields: []}}}`, []string{"transforms.m.config.fields"}},
		{"bad-enum", `sinks: {out: {connector: stdout, config: {format: yaml}}}`, []string{"sinks.out.config.format"}},
		{"bad-slot-name", `sources: {pg: {connector: postgres-cdc, config: {database: d, user: u, slot_name: Bad-Slot}}}`, []string{"sources.pg.config.slot_name"}},
		{"closed-nested-struct", `settings: {health: {enabled: true, host: x}}`, []string{"settings.health.host"}},
		{"closed-start-offset", `sinks: {s: {connector: stdout, start_offset: {timestamp: x, zone: y}}}`, []string{"sinks.s.start_offset"}},
		{"pipeline-without-sink", `pipelines: {p: {source: gen}}`, []string{"pipelines.p.sink"}},
		{"config-null", `sinks: {out: {connector: stdout, config: }}`, []string{"sinks.out.config"}},
		{"version-2", `version: "2.0"`, []string{"version"}},
		{"plugin-without-path", "plugins: {p: {config: {}}}\n" + base, []string{"plugins.p.path"}},
		{"distributed-off", "distributed: {enabled: false, node_id: \"${NODE:-n1}\", failover: {heartbeat_interval_ms: 500}}\n" + base, nil},
		{"distributed-bad-failover", "distributed: {enabled: false, failover: {heartbeat_interval_ms: 0}}\n" + base, []string{"distributed.failover.heartbeat_interval_ms"}},
		{"pipeline-bad-mode", "distributed: {enabled: false}\n" + strings.Replace(base, "sink: out}", "sink: out, mode: leader}", 1), []string{"pipelines.p.mode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := yamlInstance(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			verr := sch.Validate(inst)
			checked := map[string]bool{}
			var shaky []string
			for _, e := range checkerErrors(tc.doc) {
				checked[e.Path] = true
				// The documents are fragments: names they use need not exist.
				if e.Code != source.CodeNoPipelines && e.Code != source.CodeUnknownRef {
					shaky = append(shaky, e.Error())
				}
			}
			if tc.blame == nil {
				if verr != nil {
					t.Errorf("refused:\n%v", verr)
				}
				if len(shaky) > 0 {
					t.Errorf("the checker refuses what the schema accepts:\n%s", strings.Join(shaky, "\n"))
				}
				return
			}
			if verr == nil {
				t.Fatalf("accepted; want errors at %v", tc.blame)
			}
			blamed := errorPaths(verr)
			for _, p := range tc.blame {
				if !slices.Contains(blamed, p) {
					t.Errorf("no error at %s; errors at %v:\n%v", p, blamed, verr)
				}
				if !notChecked[tc.name] && !checked[p] {
					t.Errorf("the checker reports no error at %s, the schema does; the checker says:\n%s", p, strings.Join(shaky, "\n"))
				}
			}
		})
	}
}

// TestConfigJSONSchemaShape pins the parts editors rely on.
func TestConfigJSONSchemaShape(t *testing.T) {
	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := s.ConfigJSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if doc["$schema"] != check.JSONSchemaDraft || doc["$id"] != check.ConfigSchemaID || doc["title"] == "" || doc["additionalProperties"] != false {
		t.Errorf("header: $schema %v, $id %v, title %v, additionalProperties %v", doc["$schema"], doc["$id"], doc["title"], doc["additionalProperties"])
	}
	props := doc["properties"].(map[string]any)
	var keys []string
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"broker", "distributed", "pipelines", "plugins", "schema_registry", "settings", "sinks", "sources", "transforms", "version"}
	if !slices.Equal(keys, want) {
		t.Errorf("top-level keys %v, want %v", keys, want)
	}
	for _, k := range check.UnavailableSections() {
		p := props[k].(map[string]any)
		if _, ok := p["not"]; !ok || !strings.Contains(p["description"].(string), "not yet available") || p["deprecationMessage"] == nil {
			t.Errorf("%s is not marked unavailable: %v", k, p)
		}
	}
	if pl := props["plugins"].(map[string]any); pl["not"] != nil || pl["additionalProperties"] == nil {
		t.Errorf("plugins is marked unavailable or has no entry schema: %v", pl)
	}
	defs := doc["$defs"].(map[string]any)
	for _, kind := range []string{"sources", "sinks", "transforms"} {
		names, _ := s.Connectors(kind)
		for _, n := range names {
			d, ok := defs[kind+"."+n].(map[string]any)
			if !ok {
				t.Errorf("no $defs entry for %s %s", kind, n)
				continue
			}
			if d["title"] != n || d["description"] == nil {
				t.Errorf("%s.%s: title %v, description %v", kind, n, d["title"], d["description"])
			}
		}
	}
	// Descriptions and defaults reach the connector schemas, beside the
	// ${VAR} alternative.
	eps := defs["sources.datagen"].(map[string]any)["properties"].(map[string]any)["events_per_second"].(map[string]any)
	if fmt.Sprint(eps["default"]) != "10" || eps["description"] == nil || len(eps["anyOf"].([]any)) != 2 {
		t.Errorf("events_per_second: %v", eps)
	}
}
