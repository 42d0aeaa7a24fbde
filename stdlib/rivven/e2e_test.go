// End-to-end tests of the broker connector: configs compiled and run by the
// real interpreter (compiler.Compile, compiler.Interpret, runtime.RunAll)
// against brokertest, the in-process test double of rivvend.
package rivven_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

var clock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// lines is a goroutine-safe writer that counts lines.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSuffix(l.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// pipelines compiles yaml (${VAR}s from vars) and instantiates it.
func pipelines(t *testing.T, yaml string, vars map[string]string, out, errw *lines) []*runtime.Pipeline {
	t.Helper()
	p, errs := compiler.Compile("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if len(errs) > 0 {
		t.Fatalf("compile: %v", errs)
	}
	pipes, err := compiler.Interpret(p, runtime.Env{Now: func() time.Time { return clock }, Stdout: out, Stderr: errw})
	if err != nil {
		t.Fatalf("interpret: %v", err)
	}
	return pipes
}

// runUntil runs pipes until want(lines so far) holds, then stops them
// gracefully; it fails the test after 20 s.
func runUntil(t *testing.T, pipes []*runtime.Pipeline, out *lines, want func([]string) bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runtime.RunAll(ctx, pipes) }()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-done:
			return err
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("timed out; %d lines so far", len(out.get()))
		case <-time.After(5 * time.Millisecond):
			if want(out.get()) {
				cancel()
				return <-done
			}
		}
	}
}

func startBroker(t *testing.T, cfg brokertest.Config) *brokertest.Server {
	t.Helper()
	s, err := brokertest.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// direct returns what datagen → stdout prints for the datagen config dg.
func direct(t *testing.T, dg, stdout string) []string {
	t.Helper()
	yaml := fmt.Sprintf(`
sources: {gen: {connector: datagen, config: %s}}
sinks: {out: {connector: stdout, config: %s}}
pipelines: {p: {source: gen, sink: out}}
`, dg, stdout)
	var out, errw lines
	if err := runtime.RunAll(context.Background(), pipelines(t, yaml, nil, &out, &errw)); err != nil {
		t.Fatal(err)
	}
	return out.get()
}

// viaBroker runs datagen → rivven sink → broker → broker-topic source →
// stdout, both pipelines concurrently, until want lines arrived.
func viaBroker(t *testing.T, addr, dg, stdout, topicConfig string, want int) []string {
	t.Helper()
	yaml := fmt.Sprintf(`
broker: {bootstrap_servers: ["%s"]}
settings: {retry: {initial_backoff_ms: 5, max_backoff_ms: 50}}
sources:
  gen: {connector: datagen, topic: events, topic_config: %s, config: %s}
sinks:
  out: {connector: stdout, topics: [events], consumer_group: g, start_offset: earliest, config: %s}
`, addr, topicConfig, dg, stdout)
	var out, errw lines
	err := runUntil(t, pipelines(t, yaml, nil, &out, &errw), &out, func(l []string) bool { return len(l) >= want })
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, strings.Join(errw.get(), "\n"))
	}
	return out.get()
}

// TestEndToEnd: records that went through the broker print exactly as
// datagen's printed directly (one partition keeps the order; the
// consumer's positions start at 0 like datagen's).
func TestEndToEnd(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	for _, c := range []struct{ name, dg, stdout string }{
		{"orders-json-meta", `{pattern: orders, events_per_second: 0, max_events: 300, seed: 42}`, `{format: json, include_metadata: true}`},
		{"events-pretty", `{pattern: events, events_per_second: 0, max_events: 50, seed: 7}`, `{format: pretty}`},
		{"cdc-metrics-json", `{pattern: metrics, cdc_mode: true, events_per_second: 0, max_events: 300, seed: 3, include_sequence: true, custom_fields: {env: prod, n: 1.5}}`, `{format: json, include_metadata: true}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := direct(t, c.dg, c.stdout)
			got := viaBroker(t, s.Addr(), c.dg, c.stdout, `{partitions: 1}`, len(want))
			if !slices.Equal(got, want) {
				t.Fatalf("records differ\n--- via broker ---\n%s\n--- direct ---\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
		// Each case publishes to "events"; start the next from a clean broker.
		s.Close()
		s = startBroker(t, brokertest.Config{})
	}
}

// TestEndToEndPartitioned: with 3 partitions the consumer interleaves
// partitions, so compare as sets; change events of one row stay in order
// because the implied sink keys them by the row's key field.
func TestEndToEndPartitioned(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	dg := `{pattern: users, cdc_mode: true, events_per_second: 0, max_events: 600, seed: 11}`
	want := direct(t, dg, `{format: json}`)
	got := viaBroker(t, s.Addr(), dg, `{format: json}`, `{partitions: 3}`, len(want))
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Fatal("the records differ as a set")
	}
	byKey := func(ls []string) map[string][]string {
		m := map[string][]string{}
		for _, l := range ls {
			i := strings.Index(l, `"user_id":"`)
			k := l[i+11 : i+11+13]
			m[k] = append(m[k], l)
		}
		return m
	}
	g, w := byKey(got), byKey(want)
	for k, seq := range w {
		if !slices.Equal(g[k], seq) {
			t.Fatalf("changes of row %s out of order:\n%s\nwant\n%s", k, strings.Join(g[k], "\n"), strings.Join(seq, "\n"))
		}
	}
	parts := 0
	for p := range uint32(3) {
		if len(s.Records("events", p)) > 0 {
			parts++
		}
	}
	if parts < 2 {
		t.Fatalf("keyed records used %d of 3 partitions", parts)
	}
}

// TestDropMidBatch: the broker drops the connection around publishes and
// consumes (applied but unanswered, and not applied); the client
// reconnects, the runtime retries, and nothing is lost or duplicated.
func TestDropMidBatch(t *testing.T) {
	for _, c := range []struct {
		name   string
		kind   wire.RequestKind
		action brokertest.Action
	}{
		{"publish-applied-reply-lost", wire.KindIdempotentPublishBatch, brokertest.DropAfterHandling},
		{"publish-not-applied", wire.KindIdempotentPublishBatch, brokertest.DropBeforeHandling},
		{"consume-reply-lost", wire.KindConsume, brokertest.DropAfterHandling},
		{"commit-reply-lost", wire.KindCommitOffset, brokertest.DropAfterHandling},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startBroker(t, brokertest.Config{})
			drops := 0
			var mu sync.Mutex
			s.SetFault(func(ri brokertest.RequestInfo) brokertest.Fault {
				if ri.Kind != c.kind {
					return brokertest.Fault{}
				}
				mu.Lock()
				defer mu.Unlock()
				// Drop the 2nd, 4th and 6th request of the kind; commits,
				// which may be few (a group member commits its
				// acknowledged prefix, not every record), from the 1st.
				if (ri.Seq%2 == 0 || c.kind == wire.KindCommitOffset) && drops < 3 {
					drops++
					return brokertest.Fault{Action: c.action}
				}
				return brokertest.Fault{}
			})
			dg := `{pattern: orders, events_per_second: 0, max_events: 2000, seed: 5}`
			want := direct(t, dg, `{format: json, include_metadata: true}`)
			got := viaBroker(t, s.Addr(), dg, `{format: json, include_metadata: true}`, `{partitions: 1}`, len(want))
			time.Sleep(50 * time.Millisecond) // a duplicate would arrive now
			mu.Lock()
			n := drops
			mu.Unlock()
			if n == 0 {
				t.Fatal("no fault was injected")
			}
			if log := s.Records("events", 0); len(log) != len(want) {
				t.Fatalf("the broker holds %d records, want %d", len(log), len(want))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("records differ: got %d lines, want %d", len(got), len(want))
			}
		})
	}
}

// TestAuthFailure: a wrong password is reported clearly, naming the user,
// and the password appears nowhere.
func TestAuthFailure(t *testing.T) {
	s := startBroker(t, brokertest.Config{Users: map[string]string{"alice": "right-password"}, RequireAuth: true})
	const secret = "wrong-Passw0rd-31337"
	yaml := fmt.Sprintf(`
broker:
  bootstrap_servers: ["%s"]
  auth: {mechanism: scram-sha-256, username: alice, password: "${BROKER_PASSWORD}"}
sources:
  gen: {connector: datagen, topic: events, config: {pattern: orders, events_per_second: 0, max_events: 10, seed: 1}}
sinks:
  out: {connector: stdout, topics: [events], config: {format: json}}
`, s.Addr())
	var out, errw lines
	pipes := pipelines(t, yaml, map[string]string{"BROKER_PASSWORD": secret}, &out, &errw)
	err := runtime.RunAll(context.Background(), pipes)
	if err == nil {
		t.Fatal("run succeeded with a wrong password")
	}
	msg := err.Error()
	for _, want := range []string{`pipeline "gen-to-topic": open sink: cannot connect to the broker at`, `authentication failed`, `user "alice"`, `pipeline "topic-to-out": open source:`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if all := msg + strings.Join(errw.get(), "\n") + strings.Join(out.get(), "\n"); strings.Contains(all, secret) {
		t.Fatalf("the password leaked:\n%s", all)
	}

	// The right password works.
	out, errw = lines{}, lines{}
	pipes = pipelines(t, yaml, map[string]string{"BROKER_PASSWORD": "right-password"}, &out, &errw)
	if err := runUntil(t, pipes, &out, func(l []string) bool { return len(l) >= 10 }); err != nil {
		t.Fatal(err)
	}
}

// TestConsumerRestart: a consumer stopped mid-run (gracefully, or aborted
// without draining) and started again resumes from its committed offsets:
// nothing is lost; after a graceful stop nothing is repeated either.
func TestConsumerRestart(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(fmt.Sprintf("abort=%v", abort), func(t *testing.T) {
			s := startBroker(t, brokertest.Config{})
			const total = 3000
			produce := fmt.Sprintf(`
broker: {bootstrap_servers: ["%s"]}
sources:
  gen: {connector: datagen, topic: events, topic_config: {partitions: 3}, config: {pattern: sequence, events_per_second: 0, max_events: %d, seed: 9}}
`, s.Addr(), total)
			var out, errw lines
			if err := runtime.RunAll(context.Background(), pipelines(t, produce, nil, &out, &errw)); err != nil {
				t.Fatal(err)
			}
			consume := fmt.Sprintf(`
broker: {bootstrap_servers: ["%s"]}
sinks:
  out: {connector: stdout, topics: [events], consumer_group: restart, batch: {max_records: 50, timeout_ms: 5}, config: {format: text}}
`, s.Addr())
			// First run: stop after some records.
			var first, second lines
			pipes := pipelines(t, consume, nil, &first, &errw)
			ctx, cancel := context.WithCancel(context.Background())
			abortCtx, abortNow := context.WithCancelCause(context.Background())
			defer abortNow(nil)
			done := make(chan error, 1)
			go func() { done <- runtime.RunAllAbortable(ctx, abortCtx, pipes) }()
			for len(first.get()) < 500 {
				time.Sleep(time.Millisecond)
			}
			if abort {
				abortNow(errors.New("killed"))
			} else {
				cancel()
			}
			err := <-done
			cancel()
			if abort != (err != nil) {
				t.Fatalf("first run: %v", err)
			}
			a := first.get()
			if len(a) >= total {
				t.Fatalf("the first run read everything (%d); the test needs a mid-run stop", len(a))
			}
			// Second run: the rest.
			seen := map[string]int{}
			for _, l := range a {
				seen[l]++
			}
			pipes = pipelines(t, consume, nil, &second, &errw)
			if err := runUntil(t, pipes, &second, func(l []string) bool {
				n := map[string]bool{}
				for _, x := range a {
					n[x] = true
				}
				for _, x := range l {
					n[x] = true
				}
				return len(n) >= total
			}); err != nil {
				t.Fatal(err)
			}
			b := second.get()
			for _, l := range b {
				seen[l]++
			}
			if len(seen) != total {
				t.Fatalf("%d distinct records after the restart, want %d", len(seen), total)
			}
			if !abort && len(a)+len(b) != total {
				t.Fatalf("graceful stop: %d + %d records, want %d without repeats", len(a), len(b), total)
			}
			t.Logf("first run %d records, second %d (%d repeated)", len(a), len(b), len(a)+len(b)-total)
		})
	}
}

// TestDeadLetterTopic: records a transform fails on go to
// settings.dead_letter_topic on the broker, with their masked fields
// hidden, and the pipeline goes on.
func TestDeadLetterTopic(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	yaml := fmt.Sprintf(`
broker: {bootstrap_servers: ["%s"]}
sources:
  gen: {connector: datagen, config: {pattern: users, events_per_second: 0, max_events: 20, seed: 4}}
transforms:
  hide: {type: field-mask, config: {fields: [email], strategy: redact}}
  picky: {type: filter, config: {condition: 'age %% (age - age) == 0 || age > 40'}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: gen, sink: out, transforms: [hide, picky], settings: {on_error: dead_letter, dead_letter_topic: failed-users}}
`, s.Addr())
	var out, errw lines
	if err := runtime.RunAll(context.Background(), pipelines(t, yaml, nil, &out, &errw)); err != nil {
		t.Fatalf("run: %v\n%s", err, strings.Join(errw.get(), "\n"))
	}
	var dead []wire.MessageData
	for part := uint32(0); part < 16; part++ {
		dead = append(dead, s.Records("failed-users", part)...)
	}
	if len(dead) != 20 || len(out.get()) != 0 {
		t.Fatalf("%d dead letters and %d written records; want every record (age %% 0 fails) dead-lettered", len(dead), len(out.get()))
	}
	for _, m := range dead {
		v := string(m.Value)
		if !strings.Contains(v, "integer divide by zero") || !strings.Contains(v, `"picky"`) || strings.Contains(v, "@") {
			t.Errorf("dead letter should name the stage and error and hide the masked email: %s", v)
		}
	}
}
