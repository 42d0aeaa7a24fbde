package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime/health"
)

func statusMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestStatusUnreachableSaysWhereItLooked(t *testing.T) {
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
sources: {g: {connector: datagen, config: {max_events: 1}}}
sinks: {o: {connector: stdout}}
pipelines: {p: {source: g, sink: o}}
settings: {health: {enabled: true, port: %d, path: /hc}}
`, port))
	code, _, stderr := statusMain(t, "status", "-c", cfg)
	want := fmt.Sprintf("http://127.0.0.1:%d/hc", port)
	if code != exitFailure || !strings.Contains(stderr, want) || !strings.Contains(stderr, "settings.health in "+cfg) {
		t.Errorf("exit %d, stderr %q: want 1 and the URL %s with where it came from", code, stderr, want)
	}
	code, _, stderr = statusMain(t, "status", "--url", want)
	if code != exitFailure || !strings.Contains(stderr, want) || !strings.Contains(stderr, "--url") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunServesStatus runs a config with health, metrics, sink batching,
// retries and dead letters in-process, reads it with `status`, and stops
// it: the config's settings reach the runtime.
func TestRunServesStatus(t *testing.T) {
	port := freePort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connect.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
sources:
  ev: {connector: datagen, config: {pattern: events, events_per_second: 2000, max_events: 100000, seed: 3}}
transforms:
  hide: {type: field-mask, config: {fields: [user_id], strategy: redact}}
  cmp: {type: filter, config: {condition: 'payload.referrer < "m"'}}
sinks:
  out: {connector: stdout, config: {format: json}, batch: {max_records: 20, timeout_ms: 50}}
  dlq: {connector: stdout, config: {format: json}}
pipelines:
  main: {source: ev, sink: out, transforms: [hide, cmp], settings: {on_error: dead_letter, dead_letter_sink: dlq}}
  keep-dlq: {source: ev, sink: dlq, enabled: false}
settings:
  health: {enabled: true, port: %d}
  metrics: {enabled: true, port: %d}
  retry: {max_retries: 2}
  shutdown_timeout: 10
  log_level: warn
`, port, port))
	listening := make(chan string, 2)
	stop := make(chan struct{})
	runHooks.Listening = func(name, addr string) { listening <- addr }
	runHooks.Stop = stop
	defer func() { runHooks.Listening, runHooks.Stop = nil, nil }()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- Main([]string{"run", "-c", cfg}, strings.NewReader(""), &out, &errb) }()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("health server did not start")
	}
	deadline := time.Now().Add(10 * time.Second)
	var rep health.Report
	for {
		code, stdout, stderr := statusMain(t, "status", "-c", cfg, "--format", "json")
		if code != exitOK {
			t.Fatalf("status exit %d: %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		if len(rep.Pipelines) == 1 && rep.Pipelines[0].DeadLettered > 0 && rep.Pipelines[0].RecordsOut > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %s", stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p := rep.Pipelines[0]; p.Name != "main" || p.State != "running" || p.Expected != 100000 || rep.Sources[0].Name != "ev" || rep.Sinks[0].Name != "out" {
		t.Errorf("report %+v", rep)
	}
	code, table, _ := statusMain(t, "status", "-c", cfg)
	if code != exitOK || !strings.Contains(table, "PIPELINE") || !strings.Contains(table, "main") || !strings.Contains(table, "/100000") {
		t.Errorf("status table (exit %d):\n%s", code, table)
	}
	close(stop)
	if code := <-done; code != exitOK {
		t.Fatalf("run exit %d: %s", code, errb.String())
	}
	// Dead letters went to the dlq sink (stdout too) with the masked field
	// nulled; the batches of the main sink are on the same stream.
	text := out.String()
	if !strings.Contains(text, `"stage":"cmp"`) || !strings.Contains(text, `"user_id":null`) {
		t.Errorf("no dead letter with the masked field nulled in the output")
	}
	if strings.Contains(errb.String(), "level=INFO") {
		t.Errorf("log_level: warn still logged info: %s", errb.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
