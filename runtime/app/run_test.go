package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/health"
)

var schema = runtime.NewSchema(runtime.Field{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}}, runtime.Field{Name: "token", Type: runtime.Type{Kind: runtime.KindString}})

// source emits n records, then blocks until its context ends (n < 0: never
// ends by itself after the first -n records either). With tokens, record i
// has the position token "cursor-i".
type source struct {
	n, next int
	block   bool
	tokens  bool
}

func (s *source) Open(context.Context) error                  { return nil }
func (s *source) Close() error                                { return nil }
func (s *source) Ack(context.Context, runtime.Position) error { return nil }
func (s *source) Read(ctx context.Context, b []runtime.Record) (int, error) {
	if s.next >= s.n {
		if !s.block {
			return 0, io.EOF
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}
	k := 0
	for ; k < len(b) && s.next < s.n; k++ {
		b[k] = runtime.Record{Stream: "s", Schema: schema, Position: runtime.Position{Offset: uint64(s.next)}, Time: time.Now().Add(-time.Hour),
			After: []runtime.Value{runtime.Int(int64(s.next)), runtime.String("tok")}}
		if s.tokens {
			b[k].Position.Token = fmt.Sprintf("cursor-%d", s.next)
		}
		s.next++
	}
	return k, nil
}

type sink struct {
	mu      sync.Mutex
	got     []runtime.Record
	err     error
	slow    time.Duration
	writing atomic.Int32 // writes in progress
}

func (s *sink) Open(context.Context) error { return nil }
func (s *sink) Close() error               { return nil }
func (s *sink) Write(ctx context.Context, rs []runtime.Record) error {
	s.writing.Add(1)
	defer s.writing.Add(-1)
	if s.slow > 0 {
		select {
		case <-time.After(s.slow):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	for _, r := range rs {
		s.got = append(s.got, runtime.Record{Schema: r.Schema, After: append([]runtime.Value(nil), r.After...)})
	}
	return nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// run starts Run in the background and returns the server addresses and
// a function that stops the run and returns its exit code.
func run(t *testing.T, pipes []*runtime.Pipeline, opts RunOptions) (map[string]string, func() int) {
	t.Helper()
	addrs := map[string]string{}
	var mu sync.Mutex
	ready := make(chan struct{}, 4)
	opts.Listening = func(name, addr string) {
		mu.Lock()
		addrs[name] = addr
		mu.Unlock()
		ready <- struct{}{}
	}
	stop := make(chan struct{})
	opts.Stop = stop
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	code := make(chan int, 1)
	go func() { code <- Run(pipes, opts) }()
	want := 0
	for _, p := range pipes[:1] {
		if p.Settings.Process.Health.Enabled {
			want++
		}
		if p.Settings.Process.Metrics.Enabled {
			want++
		}
	}
	for range want {
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
			t.Fatal("servers did not start")
		}
	}
	var once sync.Once
	return addrs, func() int {
		once.Do(func() { close(stop) })
		return <-code
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serving is the default process settings with both servers enabled, on
// free ports.
func serving() runtime.Process {
	p := runtime.DefaultProcess()
	p.Health.Enabled, p.Health.Port = true, 0
	p.Metrics.Enabled, p.Metrics.Port = true, 0
	return p
}

func TestHealthReadyLiveAndMetrics(t *testing.T) {
	p := &runtime.Pipeline{Name: "orders", Source: &source{n: 50, block: true}, Sink: &sink{},
		Program:  runtime.ProgramFunc(func(r *runtime.Record) (bool, error) { return r.After[0].AsInt()%5 != 0, nil }),
		Settings: runtime.Settings{Process: serving()}}
	addrs, stop := run(t, []*runtime.Pipeline{p}, RunOptions{Names: map[string]health.Names{"orders": {Source: "gen", Sink: "console"}}})
	base := "http://" + addrs["health"]
	waitFor(t, "records", func() bool { return p.Stats.Out.Load() == 40 })

	code, body := get(t, base+"/health")
	if code != 200 {
		t.Fatalf("/health = %d %s", code, body)
	}
	var rep health.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	pp := rep.Pipelines[0]
	if rep.Status != "healthy" || pp.State != "running" || pp.RecordsIn != 50 || pp.RecordsOut != 40 || pp.Dropped != 10 ||
		pp.AckedOffset == nil || *pp.AckedOffset != 49 || rep.Sources[0].Name != "gen" || rep.Sinks[0].Name != "console" {
		t.Errorf("report %s", body)
	}
	for _, key := range []string{`"status"`, `"broker_connected"`, `"sources"`, `"sinks"`, `"uptime_secs"`, `"events_processed"`, `"errors_count"`, `"last_error"`} {
		if !strings.Contains(body, key) {
			t.Errorf("report lacks the original's key %s", key)
		}
	}
	if code, body := get(t, base+"/ready"); code != 200 || !strings.Contains(body, `"ready": true`) {
		t.Errorf("/ready = %d %s", code, body)
	}
	if code, body := get(t, base+"/live"); code != 200 || !strings.Contains(body, `"alive": true`) {
		t.Errorf("/live = %d %s", code, body)
	}
	_, m := get(t, "http://"+addrs["metrics"]+"/metrics")
	for _, want := range []string{
		`rivven_connect_records_in_total{pipeline="orders"} 50`,
		`rivven_connect_records_out_total{pipeline="orders"} 40`,
		`rivven_connect_records_dropped_total{pipeline="orders"} 10`,
		`rivven_connect_source_events_total{source="gen"} 50`,
		`rivven_connect_sink_events_total{sink="console"} 40`,
		`rivven_connect_pipeline_state{pipeline="orders",state="running"} 1`,
		`rivven_connect_sink_write_seconds_bucket{pipeline="orders",le=`,
		`rivven_connect_sink_batch_records_count{pipeline="orders"}`,
		`rivven_connect_uptime_seconds`,
		`rivven_connect_source_lag_seconds{pipeline="orders"} 3600`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.HasPrefix(addrs["health"], "127.0.0.1:") {
		t.Errorf("health bound %s, want loopback by default", addrs["health"])
	}
	if c := stop(); c != ExitOK {
		t.Errorf("exit %d", c)
	}
}

func TestHealthIs503WhenAPipelineFails(t *testing.T) {
	bad := &runtime.Pipeline{Name: "bad", Source: &source{n: 5}, Sink: &sink{err: errors.New("disk full")},
		Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }), Settings: runtime.Settings{Process: serving()}}
	good := &runtime.Pipeline{Name: "good", Source: &source{n: 5, block: true}, Sink: &sink{},
		Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }), Settings: runtime.Settings{Process: serving()}}
	addrs, stop := run(t, []*runtime.Pipeline{bad, good}, RunOptions{})
	waitFor(t, "failure", func() bool { return bad.Status().State == runtime.StateFailed })
	code, body := get(t, "http://"+addrs["health"]+"/health")
	if code != 503 || !strings.Contains(body, `"unhealthy"`) || !strings.Contains(body, "disk full") {
		t.Errorf("/health = %d %s", code, body)
	}
	if code, _ := get(t, "http://"+addrs["health"]+"/ready"); code != 503 {
		t.Errorf("/ready = %d with a failed pipeline", code)
	}
	if c := stop(); c != ExitFailure {
		t.Errorf("exit %d, want 1", c)
	}
}

// TestCanarySecretNeverLeaks runs a pipeline whose failures carry a secret
// value, and searches logs, health, metrics and dead letters for it.
func TestCanarySecretNeverLeaks(t *testing.T) {
	const canary = "CANARY-s3cr3t-7f1d"
	dlq := &sink{}
	flaky := &flakySink{fails: 2, ferr: runtime.Retriable(fmt.Errorf("auth failed for password %s", canary))}
	p := &runtime.Pipeline{Name: "pii", Source: &source{n: 20, block: true}, Sink: flaky, DeadLetter: dlq,
		Program: runtime.ProgramFunc(func(r *runtime.Record) (bool, error) {
			if r.After[0].AsInt() == 3 {
				return false, &runtime.StageError{Stage: "check", Err: fmt.Errorf("token %s rejected", canary)}
			}
			return true, nil
		}),
		Settings: runtime.Settings{OnError: runtime.OnErrorDeadLetter, DeadLetterSink: "dlq", Process: serving(),
			Retry: runtime.Retry{MaxRetries: 5, InitialBackoffMs: 1, MaxBackoffMs: 1, BackoffMultiplier: 1}}}
	var logs bytes.Buffer
	addrs, stop := run(t, []*runtime.Pipeline{p}, RunOptions{Stderr: &syncWriter{w: &logs}, Verbose: true, Secrets: []string{canary}})
	waitFor(t, "records", func() bool { return p.Stats.Out.Load() == 19 })
	_, h := get(t, "http://"+addrs["health"]+"/health")
	_, m := get(t, "http://"+addrs["metrics"]+"/metrics")
	if c := stop(); c != ExitOK {
		t.Errorf("exit %d", c)
	}
	var letters strings.Builder
	for _, r := range dlq.got {
		letters.Write(runtime.AppendJSONRow(nil, r.Schema, r.After, "", 0))
	}
	if len(dlq.got) != 1 || !strings.Contains(dlq.got[0].After[runtime.DeadLetterSchema.Index("error")].AsString(), runtime.SecretMask) {
		t.Errorf("dead letters: %s", letters.String())
	}
	if !strings.Contains(h, runtime.SecretMask) {
		t.Errorf("health should show the redacted last error: %s", h)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("logs lack the retry warning: %s", logs.String())
	}
	for where, text := range map[string]string{"logs": logs.String(), "health": h, "metrics": m, "dead letters": letters.String()} {
		if strings.Contains(text, canary) || strings.Contains(text, "s3cr3t") {
			t.Errorf("the canary secret leaked into %s:\n%s", where, text)
		}
	}
}

type flakySink struct {
	sink
	fails int
	calls int
	ferr  error
}

func (f *flakySink) Write(ctx context.Context, rs []runtime.Record) error {
	f.calls++
	if f.calls <= f.fails {
		return f.ferr
	}
	return f.sink.Write(ctx, rs)
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func TestShutdownTimeoutAbortsASlowDrain(t *testing.T) {
	snk := &sink{slow: 10 * time.Second}
	p := &runtime.Pipeline{Name: "slow", Source: &source{n: 1 << 20, block: true}, Sink: snk,
		Program:  runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }),
		Settings: runtime.Settings{BatchSize: 4, Process: runtime.Process{ShutdownTimeoutMs: 100}}}
	var logs bytes.Buffer
	_, stop := run(t, []*runtime.Pipeline{p}, RunOptions{Stderr: &syncWriter{w: &logs}})
	waitFor(t, "a slow write in progress", func() bool { return snk.writing.Load() > 0 })
	start := time.Now()
	code := stop()
	if code != ExitFailure {
		t.Errorf("exit %d, want 1 after the deadline", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stop took %v with a 100ms shutdown_timeout", d)
	}
	if !strings.Contains(logs.String(), "shutdown_timeout") {
		t.Errorf("stderr does not say why: %s", logs.String())
	}
}

// TestNoGracePeriod: shutdown_timeout 0 (ShutdownTimeoutMs 0, the zero
// Process) stops at once, without waiting for the write in progress.
func TestNoGracePeriod(t *testing.T) {
	snk := &sink{slow: 10 * time.Second}
	p := &runtime.Pipeline{Name: "slow", Source: &source{n: 1 << 20, block: true}, Sink: snk,
		Program:  runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }),
		Settings: runtime.Settings{BatchSize: 4, Process: runtime.Process{LogLevel: "info", ShutdownTimeoutMs: 0}}}
	var logs bytes.Buffer
	_, stop := run(t, []*runtime.Pipeline{p}, RunOptions{Stderr: &syncWriter{w: &logs}})
	waitFor(t, "a slow write in progress", func() bool { return snk.writing.Load() > 0 })
	start := time.Now()
	if code := stop(); code != ExitFailure {
		t.Errorf("exit %d, want 1: no grace period", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stop took %v without a grace period", d)
	}
	if !strings.Contains(logs.String(), "shutdown_timeout (0s) expired") {
		t.Errorf("stderr does not say why: %s", logs.String())
	}
}

func TestGracefulStopDrainsAndExitsZero(t *testing.T) {
	snk := &sink{slow: 2 * time.Millisecond}
	p := &runtime.Pipeline{Name: "p", Source: &source{n: 1 << 20, block: true}, Sink: snk,
		Program:  runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }),
		Settings: runtime.Settings{BatchSize: 8, Process: runtime.DefaultProcess()}}
	_, stop := run(t, []*runtime.Pipeline{p}, RunOptions{})
	waitFor(t, "records written", func() bool { return p.Stats.Out.Load() > 0 })
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	st := p.Status()
	if st.In != st.Out || st.Acked == nil || st.Acked.Offset != st.Out-1 || st.State != runtime.StateStopped {
		t.Errorf("after a graceful stop: %+v", st)
	}
}

func TestLogLevels(t *testing.T) {
	for _, tc := range []struct {
		level   string
		verbose bool
		debug   bool
		info    bool
	}{{"", false, false, true}, {"debug", false, true, true}, {"warn", false, false, false}, {"warn", true, true, true}, {"trace", false, true, true}} {
		var b bytes.Buffer
		l, err := NewLogger(&b, tc.level, tc.verbose, func(s string) string { return s })
		if err != nil {
			t.Fatal(err)
		}
		l.Debug("d")
		l.Info("i")
		if got := strings.Contains(b.String(), "msg=d"); got != tc.debug {
			t.Errorf("level %q verbose %v: debug shown = %v", tc.level, tc.verbose, got)
		}
		if got := strings.Contains(b.String(), "msg=i"); got != tc.info {
			t.Errorf("level %q verbose %v: info shown = %v", tc.level, tc.verbose, got)
		}
	}
	if _, err := NewLogger(io.Discard, "loud", false, nil); err == nil {
		t.Error("unknown level accepted")
	}
}

func TestFinishedLogShowsTheAckedPosition(t *testing.T) {
	for _, tc := range []struct {
		tokens bool
		want   string
	}{
		{false, " acked_position=4\n"},
		{true, " acked_position.offset=4 acked_position.token=cursor-4\n"},
	} {
		logs := &syncWriter{w: &bytes.Buffer{}}
		p := &runtime.Pipeline{Name: "p", Source: &source{n: 5, tokens: tc.tokens}, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll)}
		if code := Run([]*runtime.Pipeline{p}, RunOptions{Stderr: logs}); code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		out := logs.w.(*bytes.Buffer).String()
		if !strings.Contains(out, `msg="pipeline finished" pipeline=p`) || !strings.Contains(out, tc.want) {
			t.Errorf("tokens %v: want %q in the summary: %s", tc.tokens, tc.want, out)
		}
	}
}
