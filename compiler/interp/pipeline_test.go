package interp_test

import (
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/metrics"
)

// An interpreted pipeline lists its transforms by config name, in order,
// also when filters are fused into one stage; the metrics show a failure
// series for each, at zero, before any record.
func TestPipelineTransformsReachTheMetrics(t *testing.T) {
	const cfg = `
sources: {orders: {connector: datagen, config: {pattern: orders}}}
transforms:
  big: {type: filter, config: {condition: 'total_amount > 100'}}
  open: {type: filter, config: {condition: 'status != "cancelled"'}}
  pii: {type: field-mask, config: {fields: [customer_id], strategy: redact}}
sinks: {out: {connector: stdout}}
pipelines:
  p: {source: orders, sink: out, transforms: [big, open, pii]}
  bare: {source: orders, sink: out}
`
	p, errs := compiler.Compile("c.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	pipes, err := compiler.Interpret(p, runtime.Env{Now: now, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, pp := range pipes {
		got[pp.Name] = pp.Transforms
	}
	if want := []string{"big", "open", "pii"}; !slices.Equal(got["p"], want) || got["bare"] != nil {
		t.Fatalf("Transforms %q, want p: %q and bare: none", got, want)
	}
	rec := httptest.NewRecorder()
	metrics.New(pipes, nil).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, stage := range []string{"big", "open", "pii", "sink"} {
		if series := `rivven_connect_stage_failures_total{pipeline="p",stage="` + stage + `"} 0`; !strings.Contains(body, series+"\n") {
			t.Errorf("no %s before any record", series)
		}
	}
	if n := strings.Count(body, `rivven_connect_stage_failures_total{pipeline="bare"`); n != 1 {
		t.Errorf("pipeline bare has %d stage series, want the sink's only", n)
	}
}
