package check

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
)

// checkEnv parses src with env and checks it, failing on a parse error.
func checkEnv(t *testing.T, src string, env map[string]string) source.Errors {
	t.Helper()
	f, errs := config.Parse("c.yaml", []byte(src), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	_, errs = Check(f, nil)
	return errs
}

// TestEnumNamesTheAllowedValues: CUE names the document's value and the
// allowed one in either order; the message lists only allowed values.
func TestEnumNamesTheAllowedValues(t *testing.T) {
	errs := checkErrs(t, validHead+"version: \"1.1\"\npipelines:\n  p: {source: gen, sink: console}\n")
	want := `c.yaml:5:10: invalid-value: version: string "1.1" is not one of "1.0" (did you mean "1.0"?)`
	if errs.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", errs, want)
	}
	errs = checkErrs(t, "sources:\n  gen: {connector: datagen, config: {pattern: ordrs}}\nsinks:\n  console: {connector: stdout}\npipelines:\n  p: {source: gen, sink: console}\n")
	want = `c.yaml:2:47: invalid-value: sources.gen.config.pattern: string "ordrs" is not one of "events", "key_value", "metrics", "orders", "random", "sequence", "users" (did you mean "orders"?)`
	if errs.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", errs, want)
	}
}

// TestVariableValuesNotShown: a value from ${VAR} is a secret (SPEC §2.1):
// every message about it names the variable, whatever it is.
func TestVariableValuesNotShown(t *testing.T) {
	env := map[string]string{
		"V": "1.0q-secret", "CONN": "datagenq", "SINKC": "stdout-secret", "TYPE": "filterq", "SRC": "genq-secret",
		"SNK": "consoleq-secret", "TR": "bigq-secret", "FIELD": "customer_idq", "DLS": "dlq-secret", "TOPIC": "bad topic secret",
		"PATTERN": "ordersq", "STRATEGY": "redactq", "ADDR": "no-port-secret", "TS": "yesterday-secret",
	}
	src := `version: "${V}"
broker: {address: "${ADDR}"}
sources:
  gen: {connector: datagen, config: {pattern: orders}}
  bad: {connector: "${CONN}"}
  odd: {connector: datagen, config: {pattern: "${PATTERN}"}}
  pub: {connector: datagen, topic: "${TOPIC}", config: {pattern: orders}}
sinks:
  console: {connector: stdout}
  other: {connector: "${SINKC}"}
  fromtopics: {connector: stdout, topics: ["${TOPIC}"], start_offset: {timestamp: "${TS}"}}
transforms:
  big: {type: "${TYPE}", config: {condition: "quantity > 1"}}
  mask: {type: field-mask, config: {fields: ["${FIELD}"]}}
  mask2: {type: field-mask, config: {fields: [customer_id], strategy: "${STRATEGY}"}}
pipelines:
  a: {source: "${SRC}", sink: "${SNK}"}
  b: {source: gen, sink: console, transforms: ["${TR}", mask], settings: {on_error: dead_letter, dead_letter_sink: "${DLS}"}}
  c: {source: gen, sink: console, settings: {on_error: dead_letter, dead_letter_topic: "${TOPIC}"}}
`
	errs := checkEnv(t, src, env)
	out := errs.Error() + string(errs.JSON())
	for name, v := range env {
		if strings.Contains(out, v) {
			t.Errorf("the value of %s (%q) is shown:\n%s", name, v, out)
		}
	}
	for _, name := range []string{"V", "CONN", "SINKC", "TYPE", "SRC", "SNK", "TR", "FIELD", "DLS", "TOPIC", "PATTERN", "STRATEGY", "ADDR", "TS"} {
		if !strings.Contains(out, "${"+name+"}") {
			t.Errorf("no message names ${%s}:\n%s", name, errs)
		}
	}
	// The allowed values are still named.
	for _, want := range []string{
		`version: string from ${V} is not one of "1.0"`,
		`unknown source connector (from ${CONN}) (did you mean "datagen"?)`,
		`no source named (from ${SRC}); sources declared: gen, bad, odd, pub`,
		`unknown transform type (from ${TYPE}) (did you mean "filter"?)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no message says %q:\n%s", want, errs)
		}
	}
}

// TestChunkedCollections: lists and maps of more than chunkSize items are
// validated a chunk at a time; their errors are those of a small one, at
// the items' own paths and positions, each once.
func TestChunkedCollections(t *testing.T) {
	var b strings.Builder
	b.WriteString(validHead + "transforms:\n  m:\n    type: field-mask\n    config:\n      fields: [")
	for i := range 3*chunkSize + 5 {
		if i > 0 {
			b.WriteString(", ")
		}
		switch i {
		case 0, chunkSize, 2*chunkSize + 7:
			b.WriteString("7") // not a field path
		default:
			b.WriteString("order_id")
		}
	}
	b.WriteString("]\npipelines:\n")
	for i := range 2*chunkSize + 3 {
		switch i {
		case 0:
			b.WriteString("  p0: {source: gen}\n") // no sink
		case chunkSize + 1:
			b.WriteString("  p129: {source: gen, sink: console, enabled: maybe}\n")
		case 2*chunkSize + 2:
			b.WriteString("  p258: {source: gen, sink: console, snk: x}\n")
		default:
			b.WriteString("  p" + itoa(i) + ": {source: gen, sink: console, transforms: [m]}\n")
		}
	}
	errs := checkErrs(t, b.String())
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"c.yaml:9:16: type-mismatch: transforms.m.config.fields[0]: expected string, got int 7",
		"c.yaml:9:1289: type-mismatch: transforms.m.config.fields[128]: expected string, got int 7",
		"c.yaml:9:2632: type-mismatch: transforms.m.config.fields[263]: expected string, got int 7",
		"c.yaml:11:7: missing-key: pipelines.p0.sink: missing required key \"sink\"",
		"c.yaml:140:47: type-mismatch: pipelines.p129.enabled: expected bool, got string \"maybe\"",
		"c.yaml:269:38: unknown-key: pipelines.p258.snk: unknown key \"snk\" (did you mean \"sink\"?); valid keys here: enabled, mode, settings, sink, source, tasks, transforms",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
