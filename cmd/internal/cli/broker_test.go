package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
)

// TestDeclaredBrokerSource publishes datagen records to a topic, then
// consumes it with a broker-topic source declared under `sources`.
func TestDeclaredBrokerSource(t *testing.T) {
	srv, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	pub := filepath.Join(dir, "pub.yaml")
	writeFile(t, pub, fmt.Sprintf(`
sources:
  gen: {connector: datagen, config: {pattern: sequence, max_events: 5, events_per_second: 0}}
sinks:
  bus: {connector: rivven, config: {bootstrap_servers: [%q], topic: numbers}}
pipelines:
  p: {source: gen, sink: bus}
`, srv.Addr()))
	if out, errOut, code := mainOut(t, "run", "-c", pub); code != exitOK {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	sub := filepath.Join(dir, "sub.yaml")
	writeFile(t, sub, fmt.Sprintf(`
sources:
  bus: {connector: rivven, config: {address: %q, topics: [numbers]}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  c: {source: bus, sink: out}
`, srv.Addr()))
	out, errOut, code := mainOut(t, "check", "-c", sub, "--connect")
	if code != exitOK || !strings.Contains(out, "  OK    topic numbers: exists") {
		t.Fatalf("check --connect: exit %d\n%s%s", code, out, errOut)
	}
	stop := make(chan struct{})
	runHooks.Stop = stop
	defer func() { runHooks.Stop = nil }()
	var sout, serr syncBuffer
	done := make(chan int, 1)
	go func() { done <- Main([]string{"run", "-c", sub}, strings.NewReader(""), &sout, &serr) }()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(sout.String(), "\n") < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("consumed:\n%s\nstderr:\n%s", sout.String(), serr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	if code := <-done; code != exitOK {
		t.Fatalf("consume: exit %d: %s", code, serr.String())
	}
	if lines := strings.Split(strings.TrimSpace(sout.String()), "\n"); len(lines) != 5 || !strings.Contains(lines[0], `"event_type"`) {
		t.Fatalf("consumed %q", lines)
	}
}
