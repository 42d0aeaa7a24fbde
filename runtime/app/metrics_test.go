package app

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// documentedSeries returns the metric names SPEC.md's settings.metrics row
// lists (brace groups expanded, labels dropped), without the lag gauges,
// which exist only once the lag is known.
func documentedSeries(t *testing.T) []string {
	t.Helper()
	spec, err := os.ReadFile("../../SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for line := range strings.SplitSeq(string(spec), "\n") {
		if strings.HasPrefix(line, "| `metrics.enabled`") {
			row = line
		}
	}
	if row == "" {
		t.Fatal("SPEC.md has no settings.metrics row")
	}
	var names []string
	for _, m := range regexp.MustCompile("`(?:rivven_connect|…)_([a-z_]*)(?:\\{([a-z_,]+)\\}(_[a-z_]+))?").FindAllStringSubmatch(row, -1) {
		base := []string{m[1]}
		if m[3] != "" {
			base = nil
			for _, alt := range strings.Split(m[2], ",") {
				base = append(base, m[1]+alt+m[3])
			}
		}
		for _, n := range base {
			if !strings.Contains(n, "lag") {
				names = append(names, n)
			}
		}
	}
	if len(names) < 15 {
		t.Fatalf("found only %v in SPEC.md's metrics row", names)
	}
	return names
}

// TestMetricsOnTheHealthListenerFromTheStart enables only the health
// server and scrapes its /metrics (at settings.metrics.path) before any
// record was read: every documented series is there, at zero, for every
// pipeline.
func TestMetricsOnTheHealthListenerFromTheStart(t *testing.T) {
	proc := runtime.DefaultProcess()
	proc.Health.Enabled, proc.Health.Port = true, 0
	proc.Metrics.Path = "/prom"
	a, b := newOpenBlocker(), newOpenBlocker()
	pipes := []*runtime.Pipeline{
		{Name: "a", SourceName: "gen-a", SinkName: "out-a", Source: a, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll), Settings: runtime.Settings{Process: proc},
			Transforms: []string{"big-orders", "no-tests"}},
		{Name: "b", SourceName: "gen-b", SinkName: "out-b", Source: b, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll), Settings: runtime.Settings{Process: proc}},
	}
	addrs, stop := run(t, pipes, RunOptions{})
	<-a.entered
	<-b.entered
	if _, ok := addrs["metrics"]; ok {
		t.Error("a metrics server was started although settings.metrics is off")
	}
	code, m := get(t, "http://"+addrs["health"]+"/prom")
	if code != 200 {
		t.Fatalf("GET /prom on the health listener = %d %s", code, m)
	}
	if code, _ := get(t, "http://"+addrs["health"]+"/metrics"); code != 404 {
		t.Errorf("GET /metrics = %d; the metrics are at settings.metrics.path", code)
	}
	lines := strings.Split(m, "\n")
	has := func(prefix, value string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, " "+value) {
				return true
			}
		}
		return false
	}
	for _, name := range documentedSeries(t) {
		full := "rivven_connect_" + name
		for _, p := range []string{"a", "b"} {
			var prefix, value = full + `{pipeline="` + p + `"`, "0"
			switch name {
			case "uptime_seconds":
				if !strings.Contains(m, "\n"+full+" ") {
					t.Errorf("%s missing", full)
				}
				continue
			case "pipeline_state":
				prefix, value = full+`{pipeline="`+p+`",state="starting"}`, "1"
			case "source_events_total":
				prefix = full + `{source="gen-` + p + `"}`
			case "sink_events_total":
				prefix = full + `{sink="out-` + p + `"}`
			case "stage_failures_total":
				prefix = full + `{pipeline="` + p + `",stage="sink"}`
			case "source_batch_records", "sink_batch_records", "sink_write_seconds":
				prefix = full + `_count{pipeline="` + p + `"}`
			}
			if !has(prefix, value) {
				t.Errorf("pipeline %s: no %s… %s before the first record", p, prefix, value)
			}
		}
	}
	// Each transform's failure series, at zero before any failure.
	for _, stage := range []string{"big-orders", "no-tests"} {
		if prefix := `rivven_connect_stage_failures_total{pipeline="a",stage="` + stage + `"}`; !has(prefix, "0") {
			t.Errorf("no %s 0 before the first record", prefix)
		}
	}
	if strings.Contains(m, `stage_failures_total{pipeline="b",stage="big-orders"}`) {
		t.Error("pipeline b has a series for a transform of pipeline a")
	}
	if c := stop(); c != ExitOK {
		t.Errorf("exit %d", c)
	}
}

// TestHealthPathWinsOnTheHealthListener: when the health endpoint has the
// metrics' path, the health listener serves health there.
func TestHealthPathWinsOnTheHealthListener(t *testing.T) {
	p := &runtime.Pipeline{Name: "p", Source: &source{n: 1, block: true}, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll),
		Settings: runtime.Settings{Process: runtime.Process{ShutdownTimeoutMs: 30_000, Health: runtime.Server{Enabled: true, Path: "/metrics"}}}}
	addrs, stop := run(t, []*runtime.Pipeline{p}, RunOptions{})
	code, body := get(t, "http://"+addrs["health"]+"/metrics")
	if code != 200 || !strings.Contains(body, `"status": "healthy"`) {
		t.Errorf("GET /metrics = %d %s", code, body)
	}
	if c := stop(); c != ExitOK {
		t.Errorf("exit %d", c)
	}
}

// TestRoutesOfSharedListener: health and metrics on one address share a
// listener; a path both claim is an error naming it, not a panic.
func TestRoutesOfSharedListener(t *testing.T) {
	proc := runtime.Process{Health: runtime.Server{Enabled: true, Port: 1, Path: "/x"}, Metrics: runtime.Server{Enabled: true, Port: 1, Path: "/x"}}
	_, err := serve(proc, nil, RunOptions{}, NewMetrics(nil, nil), time.Time{}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "both serve /x on 127.0.0.1:1") {
		t.Errorf("got %v", err)
	}
}
