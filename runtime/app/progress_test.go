package app

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/health"
)

// activeSource is a source that says what it is doing.
type activeSource struct {
	source
	act atomic.Pointer[runtime.Activity]
}

func (s *activeSource) Activity() runtime.Activity {
	if a := s.act.Load(); a != nil {
		return *a
	}
	return runtime.Activity{}
}

func newActiveSource(n int, block bool, a runtime.Activity) *activeSource {
	s := &activeSource{source: source{n: n, block: block}}
	s.act.Store(&a)
	return s
}

// openBlocker's Open blocks until its context ends, then fails as a
// driver cut off mid-query does.
type openBlocker struct {
	source
	entered chan struct{}
	once    sync.Once
	closed  atomic.Bool
}

func newOpenBlocker() *openBlocker { return &openBlocker{entered: make(chan struct{})} }

func (s *openBlocker) Open(ctx context.Context) error {
	s.once.Do(func() { close(s.entered) })
	<-ctx.Done()
	return fmt.Errorf("postgres-cdc: create replication slot %q: %w", "rivven", ctx.Err())
}
func (s *openBlocker) Close() error { s.closed.Store(true); return nil }

func keepAll(*runtime.Record) (bool, error) { return true, nil }

func TestRenderActivityAndNumbers(t *testing.T) {
	for _, tc := range []struct {
		a    runtime.Activity
		want string
	}{
		{runtime.Activity{Doing: "snapshotting public.users", Done: 12_000, Total: 50_000}, "snapshotting public.users 12,000/50,000"},
		{runtime.Activity{Doing: "streaming from LSN 0/16B3748"}, "streaming from LSN 0/16B3748"},
		{runtime.Activity{Doing: "copying", Done: 1_234_567}, "copying 1,234,567"},
		{runtime.Activity{Doing: "snapshotting public.t", Done: 0, Total: 999}, "snapshotting public.t 0/999"},
		{runtime.Activity{}, ""},
	} {
		if got := renderActivity(tc.a); got != tc.want {
			t.Errorf("renderActivity(%+v) = %q, want %q", tc.a, got, tc.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1234: "-1,234", math.MinInt64: "-9,223,372,036,854,775,808"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	if got := thousands(uint64(math.MaxUint64)); got != "18,446,744,073,709,551,615" {
		t.Errorf("thousands(MaxUint64) = %q", got)
	}
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 20: "3.0 MiB", 5 << 40: "5.0 TiB"} {
		if got := bytesIEC(n); got != want {
			t.Errorf("bytesIEC(%d) = %q, want %q", n, got, want)
		}
	}
	for r, want := range map[float64]string{0: "0/s", 2.54: "2.5/s", 12.4: "12/s", 3210.2: "3,210/s"} {
		if got := perSecond(r); got != want {
			t.Errorf("perSecond(%v) = %q, want %q", r, got, want)
		}
	}
}

func TestProgressSegmentAndSummary(t *testing.T) {
	snap := runtime.Activity{Doing: "snapshotting public.users", Done: 12_000, Total: 50_000}
	st := runtime.Status{State: runtime.StateRunning, In: 12_000, Out: 11_744, HasSourceLag: true, SourceLag: 3 << 20, SourceLagUnit: "bytes"}
	if got, want := progressSegment("orders", st, snap, 3210, true), "orders: snapshotting public.users 12,000/50,000 · in 12,000 · 3,210/s · out 11,744 · lag 3.0 MiB"; got != want {
		t.Errorf("segment\n got %q\nwant %q", got, want)
	}
	bounded := runtime.Status{State: runtime.StateRunning, In: 10, Out: 8, Failed: 2, Expected: 20, HasEventLag: true, EventLag: 1500 * time.Millisecond}
	if got, want := progressSegment("gen", bounded, runtime.Activity{}, 0, false), "gen: in 10/20 (50%) · out 8 · failed 2 · lag 1.5s"; got != want {
		t.Errorf("segment\n got %q\nwant %q", got, want)
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	done := runtime.Status{State: runtime.StateStopped, In: 10_000, Out: 9_000, Dropped: 1_000, Started: t0, Ended: t0.Add(1500 * time.Millisecond)}
	if got, want := summaryLine("orders", done, t0.Add(time.Hour)), "pipeline orders: stopped after 1.5s · 10,000 in · 9,000 out · 1,000 dropped · 6,667/s"; got != want {
		t.Errorf("summary\n got %q\nwant %q (the pipeline's own elapsed time, not the run's)", got, want)
	}
	never := runtime.Status{State: runtime.StateStopped, Started: t0, Ended: t0.Add(80 * time.Millisecond)}
	if got, want := summaryLine("cdc", never, t0.Add(time.Hour)), "pipeline cdc: stopped after 80ms · 0 in · 0 out"; got != want {
		t.Errorf("summary\n got %q\nwant %q", got, want)
	}
}

func TestStartupLine(t *testing.T) {
	p := &runtime.Pipeline{Name: "orders", SourceName: "pg", SourceConnector: "postgres-cdc", SinkName: "out", SinkConnector: "stdout",
		Source: newActiveSource(0, true, runtime.Activity{Doing: "connecting to 127.0.0.1:5432"}), Sink: &sink{}}
	if got, want := startupLine(p, health.Names{}), "pipeline orders: pg (postgres-cdc) → out (stdout): connecting to 127.0.0.1:5432"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	q := &runtime.Pipeline{Name: "q", Source: &source{}, Sink: &sink{}}
	if got, want := startupLine(q, health.Names{Source: "gen", Sink: "console"}), "pipeline q: gen → console: starting"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestMeterRate(t *testing.T) {
	var m meter
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := m.rate(); ok {
		t.Error("a rate from no samples")
	}
	for i := range 20 {
		m.add(t0.Add(time.Duration(i)*200*time.Millisecond), uint64(i*100))
		if r, ok := m.rate(); i > 0 && (!ok || r != 500) {
			t.Fatalf("after %d samples: rate %v %v, want 500/s", i+1, r, ok)
		}
	}
	m.add(t0.Add(5*time.Second), 1900) // idle for a second: the rate falls
	if r, _ := m.rate(); r >= 500 {
		t.Errorf("rate %v after an idle spell", r)
	}
}

// TestFeedbackOnlyOnATerminal: stderr that is not a terminal (a pipe, a
// buffer, a file) gets the logs and none of the terminal feedback.
func TestFeedbackOnlyOnATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf syncWriter
	buf.w = &bytes.Buffer{}
	for name, w := range map[string]interface{ Write([]byte) (int, error) }{"buffer": &buf, "file": f} {
		p := &runtime.Pipeline{Name: "p", SourceName: "gen", SourceConnector: "datagen", SinkName: "out", SinkConnector: "stdout",
			Source: newActiveSource(10, false, runtime.Activity{Doing: "generating", Done: 1, Total: 10}), Sink: &sink{}, Expected: 10,
			Program: runtime.ProgramFunc(keepAll)}
		if code := Run([]*runtime.Pipeline{p}, RunOptions{Stderr: w}); code != ExitOK {
			t.Fatalf("%s: exit %d", name, code)
		}
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"buffer": buf.w.(*bytes.Buffer).String(), "file": string(b)} {
		if !strings.Contains(out, `msg="pipeline finished" pipeline=p`) {
			t.Errorf("%s: the logs are missing: %q", name, out)
		}
		for _, bad := range []string{"\r", "\x1b[", "→", "pipeline p:", "generating", "stopped after"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: terminal feedback %q written to a non-terminal: %q", name, bad, out)
			}
		}
	}
}

// TestFeedbackOnATerminal forces the feedback on (as on a terminal): the
// start-up lines, the live line with the source's activity, a summary per
// pipeline as it ends, and the live line cleared at the end.
func TestFeedbackOnATerminal(t *testing.T) {
	var tty syncWriter
	tty.w = &bytes.Buffer{}
	output := func() string {
		tty.mu.Lock()
		defer tty.mu.Unlock()
		return tty.w.(*bytes.Buffer).String()
	}
	snapSrc := newActiveSource(10, true, runtime.Activity{Doing: "snapshotting public.users", Done: 12_000, Total: 50_000})
	snap := &runtime.Pipeline{Name: "snap", SourceName: "pg", SourceConnector: "postgres-cdc", SinkName: "out", SinkConnector: "stdout",
		Source: snapSrc, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll), Settings: runtime.DefaultSettings()}
	quick := &runtime.Pipeline{Name: "quick", SourceName: "gen", SinkName: "out", Source: &source{n: 5}, Sink: &sink{},
		Program: runtime.ProgramFunc(keepAll), Settings: runtime.DefaultSettings()}
	on := true
	_, stop := run(t, []*runtime.Pipeline{snap, quick}, RunOptions{Stderr: &tty, Progress: &on})
	for _, want := range []string{
		"pipeline snap: pg (postgres-cdc) → out (stdout): snapshotting public.users 12,000/50,000\n",
		"pipeline quick: gen → out: ",
		"pipeline quick: stopped after ",
		"\r\x1b[Ksnap: snapshotting public.users 12,000/50,000 · in 10",
	} {
		waitFor(t, fmt.Sprintf("%q on the terminal", want), func() bool { return strings.Contains(output(), want) })
	}
	snapSrc.act.Store(&runtime.Activity{Doing: "streaming from LSN 0/16B3748"})
	waitFor(t, "the new activity", func() bool { return strings.Contains(output(), "\r\x1b[Ksnap: streaming from LSN 0/16B3748 · in 10") })
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	out := output()
	if !regexp.MustCompile(`pipeline snap: stopped after [0-9.]+m?s · 10 in · 10 out`).MatchString(out) {
		t.Errorf("no summary for snap: %q", out)
	}
	if !strings.HasSuffix(out, "\n") && !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("the live line is left on the terminal: %q", out[max(0, len(out)-200):])
	}
	if i := strings.Index(out, "pipeline quick: stopped after"); strings.Contains(out[i:], "quick: in") {
		t.Errorf("an ended pipeline stays on the live line: %q", out[i:])
	}
}

// TestPipelineFinishedElapsedIsItsOwn: a pipeline that ends early is
// summed up when it ends, with its own elapsed time.
func TestPipelineFinishedElapsedIsItsOwn(t *testing.T) {
	var logs syncWriter
	logs.w = &bytes.Buffer{}
	output := func() string {
		logs.mu.Lock()
		defer logs.mu.Unlock()
		return logs.w.(*bytes.Buffer).String()
	}
	quick := &runtime.Pipeline{Name: "quick", Source: &source{n: 5}, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll), Settings: runtime.DefaultSettings()}
	long := &runtime.Pipeline{Name: "long", Source: &source{n: 5, block: true}, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll), Settings: runtime.DefaultSettings()}
	_, stop := run(t, []*runtime.Pipeline{quick, long}, RunOptions{Stderr: &logs})
	waitFor(t, "quick's summary before the run ends", func() bool { return strings.Contains(output(), `msg="pipeline finished" pipeline=quick`) })
	waitFor(t, "time to pass", func() bool { return time.Since(quick.Status().Ended) > 100*time.Millisecond })
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	st := quick.Status()
	want := fmt.Sprintf("pipeline=quick in=5 out=5 dropped=0 failed=0 elapsed=%v state=stopped", st.Ended.Sub(st.Started).Round(time.Millisecond))
	if !strings.Contains(output(), want) {
		t.Errorf("want %q in\n%s", want, output())
	}
	if strings.Count(output(), "pipeline=quick in=") != 1 || strings.Count(output(), "pipeline=long in=") != 1 {
		t.Errorf("want one summary per pipeline:\n%s", output())
	}
}

func TestStopBeforeTheSourceConnectedExitsZero(t *testing.T) {
	var logs syncWriter
	logs.w = &bytes.Buffer{}
	src := newOpenBlocker()
	p := &runtime.Pipeline{Name: "cdc", SourceName: "pg", Source: src, Sink: &sink{}, Program: runtime.ProgramFunc(keepAll), Settings: runtime.DefaultSettings()}
	_, stop := run(t, []*runtime.Pipeline{p}, RunOptions{Stderr: &logs})
	<-src.entered
	if code := stop(); code != ExitOK {
		t.Errorf("exit %d, want 0", code)
	}
	out := logs.w.(*bytes.Buffer).String()
	if !strings.Contains(out, `level=INFO msg="stopped before source pg connected" pipeline=cdc`) || !strings.Contains(out, "state=stopped") ||
		strings.Contains(out, "level=ERROR") || strings.Contains(out, "run: ") {
		t.Errorf("logs:\n%s", out)
	}
	if !src.closed.Load() {
		t.Error("the source was not closed")
	}
}
