package check

import (
	"testing"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
)

// checkErrs parses and checks src, failing the test on a parse error.
func checkErrs(t *testing.T, src string) source.Errors {
	t.Helper()
	f, errs := config.Parse("c.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	_, errs = Check(f, nil)
	return errs
}

const validHead = `sources:
  gen: {connector: datagen, config: {pattern: orders}}
sinks:
  console: {connector: stdout}
`

// TestOneErrorPerMistake checks that each mistake gives exactly one error,
// at its place, with the config path as the document writes it: CUE
// quotes labels that are not identifiers, the path must not.
func TestOneErrorPerMistake(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      string
	}{
		{"missing sink", validHead + "pipelines:\n  orders-to-console:\n    source: gen\n",
			`c.yaml:7:5: missing-key: pipelines.orders-to-console.sink: missing required key "sink"`},
		{"missing sink, flow", validHead + "pipelines:\n  orders-to-console: {source: gen}\n",
			`c.yaml:6:22: missing-key: pipelines.orders-to-console.sink: missing required key "sink"`},
		{"missing source", validHead + "pipelines:\n  orders-to-console:\n    sink: console\n",
			`c.yaml:7:5: missing-key: pipelines.orders-to-console.source: missing required key "source"`},
		{"missing source, key not an identifier", validHead + "pipelines:\n  \"orders to console\":\n    sink: console\n",
			`c.yaml:7:5: missing-key: pipelines."orders to console".source: missing required key "source"`},
		{"missing connector", "sources:\n  orders-gen:\n    config: {pattern: orders}\nsinks:\n  console: {connector: stdout}\npipelines:\n  p: {source: orders-gen, sink: console}\n",
			`c.yaml:3:5: missing-key: sources.orders-gen.connector: missing required key "connector"`},
		{"empty pipeline", validHead + "pipelines:\n  orders-to-console:\n    enabled: true\n",
			"c.yaml:7:5: missing-key: pipelines.orders-to-console.sink: missing required key \"sink\"\n" +
				`c.yaml:7:5: missing-key: pipelines.orders-to-console.source: missing required key "source"`},
		{"misspelt sink", validHead + "pipelines:\n  orders-to-console: {source: gen, snk: console}\n",
			`c.yaml:6:36: unknown-key: pipelines.orders-to-console.snk: unknown key "snk" (did you mean "sink"?); valid keys here: enabled, mode, settings, sink, source, tasks, transforms`},
		{"out of range under a quoted label", validHead + "pipelines:\n  orders-to-console:\n    source: gen\n    sink: console\n    settings: {rate_limit: -1}\n",
			`c.yaml:9:28: out-of-range: pipelines.orders-to-console.settings.rate_limit: int -1 is out of range: must be >=0`},
		{"wrong type under a dotted key", validHead + "pipelines:\n  orders.to.console:\n    source: gen\n    sink: console\n    enabled: maybe\n",
			`c.yaml:9:14: type-mismatch: pipelines."orders.to.console".enabled: expected bool, got string "maybe"`},
		{"transform without config", validHead + "transforms:\n  big-orders: {type: filter}\npipelines:\n  p: {source: gen, sink: console, transforms: [big-orders]}\n",
			`c.yaml:6:15: missing-key: transforms.big-orders.config.condition: missing required key "condition"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkErrs(t, tt.src).Error(); got != tt.want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestDocumentPath(t *testing.T) {
	got := documentPath([]string{"#Config", "pipelines", `"orders-to-console"`, `"a \"b\""`, "0", `#"raw"#`, "sink"})
	want := []string{"#Config", "pipelines", "orders-to-console", `a "b"`, "0", "raw", "sink"}
	if len(got) != len(want) {
		t.Fatalf("documentPath = %q", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("documentPath = %q, want %q", got, want)
			break
		}
	}
}
