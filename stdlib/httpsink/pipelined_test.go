package httpsink_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// giveUp is how long a test server waits for requests that only a
// pipelining sink sends together. It bounds a failing run, never a
// passing one: a passing run never waits for it.
const giveUp = 60 * time.Second

// board is server-side state that request handlers wait on: the requests
// in flight (and the most seen at once) and the positions answered.
type board struct {
	t        testing.TB
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every update
	gaveUp   chan struct{}
	once     sync.Once
	inflight int
	most     int
	answered map[uint64]int // position → status answered
}

func newBoard(t testing.TB) *board {
	return &board{t: t, changed: make(chan struct{}), gaveUp: make(chan struct{}), answered: map[uint64]int{}}
}

// update runs f under the lock and wakes the waiters.
func (b *board) update(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	close(b.changed)
	b.changed = make(chan struct{})
}

// await blocks until cond (run under the lock) holds, the request ends,
// or giveUp passed without it: the test then fails, naming what, and
// every later await returns at once so that the run ends.
func (b *board) await(ctx context.Context, what string, cond func() bool) bool {
	deadline := time.NewTimer(giveUp)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		ok, ch := cond(), b.changed
		b.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-b.gaveUp:
			return false
		case <-ctx.Done():
			return false
		case <-deadline.C:
			b.once.Do(func() {
				b.t.Errorf("the server waited %v for %s: the sink did not keep requests of several writes in flight", giveUp, what)
				close(b.gaveUp)
			})
			return false
		}
	}
}

// pipelinedSink is a sink on cfg told that the pipeline's on_error is
// stop, as the runtime tells it (runtime.OnErrorStop is also the
// Pipeline's default), so that it pipelines.
func pipelinedSink(t testing.TB, cfg httpsink.Config) *httpsink.Sink {
	s := newSink(t, cfg, nil)
	s.UseErrorPolicy(runtime.OnErrorStop)
	return s
}

// times counts how often the server took each position.
func times(c *collector) map[uint64]int {
	out := map[uint64]int{}
	for _, g := range c.accepted() {
		for _, e := range g.Events {
			out[e.Position]++
		}
	}
	return out
}

// With max_in_flight 4 and sink writes of one record, the requests of
// four successive writes are in flight together: the server answers none
// until it holds four at once (a sink that sent one write's request at a
// time would never get there), and never sees more than four.
func TestPipelinedWritesOverlap(t *testing.T) {
	const n = 40
	b := newBoard(t)
	c := newCollector(t)
	c.fault = func(w http.ResponseWriter, r *http.Request, g *got, accept func()) bool {
		b.update(func() { b.inflight++; b.most = max(b.most, b.inflight) })
		defer b.update(func() { b.inflight-- })
		b.await(r.Context(), "4 requests at once", func() bool { return b.most >= 4 })
		return false
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.MaxInFlight = 4
	src := seqSource(n)
	src.Check = func(pos uint64) {
		if !c.covers(pos) {
			t.Errorf("position %d acknowledged before the server took every record up to it", pos)
		}
	}
	p := &runtime.Pipeline{Name: "overlap", Source: src, Sink: pipelinedSink(t, cfg), Program: runtime.ProgramFunc(keepAll),
		Settings: runtime.Settings{BatchSize: 1}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if last, ok := src.Last(); !ok || last != n-1 {
		t.Errorf("last acknowledged position %d (%v), want %d", last, ok, n-1)
	}
	b.mu.Lock()
	most := b.most
	b.mu.Unlock()
	if most != 4 {
		t.Errorf("at most %d requests in flight at once, want 4 (max_in_flight)", most)
	}
	got := times(c)
	for pos := range uint64(n) {
		if got[pos] != 1 {
			t.Errorf("record %d arrived %d times, want once", pos, got[pos])
		}
	}
}

// Answers that come out of order acknowledge only a contiguous prefix:
// the server answers the first record of every four only after the three
// after it, and every acknowledged position is one up to which the server
// took every record.
func TestPipelinedAcksContiguousPrefix(t *testing.T) {
	const n = 64
	b := newBoard(t)
	c := newCollector(t)
	var late atomic.Int32 // leaders taken after their followers
	c.fault = func(w http.ResponseWriter, r *http.Request, g *got, accept func()) bool {
		pos := g.Events[0].Position
		if pos%4 == 0 {
			if b.await(r.Context(), "the three requests after a held one", func() bool {
				return b.answered[pos+1]+b.answered[pos+2]+b.answered[pos+3] == 3*http.StatusOK
			}) {
				late.Add(1)
			}
		}
		accept()
		g.Status = http.StatusOK
		w.WriteHeader(http.StatusOK)
		b.update(func() { b.answered[pos] = http.StatusOK })
		return true
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.MaxInFlight = 4
	src := seqSource(n)
	var acks atomic.Int32
	src.Check = func(pos uint64) {
		acks.Add(1)
		if !c.covers(pos) {
			t.Errorf("position %d acknowledged before the server took every record up to it", pos)
		}
	}
	p := &runtime.Pipeline{Name: "reorder", Source: src, Sink: pipelinedSink(t, cfg), Program: runtime.ProgramFunc(keepAll),
		Settings: runtime.Settings{BatchSize: 1}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if last, ok := src.Last(); !ok || last != n-1 {
		t.Errorf("last acknowledged position %d (%v), want %d", last, ok, n-1)
	}
	if l := late.Load(); l != n/4 {
		t.Errorf("%d of %d held requests were answered after the three after them", l, n/4)
	}
	if acks.Load() == 0 {
		t.Error("nothing was acknowledged")
	}
}

// A request that fails for good stops the pipeline (on_error stop) at its
// own write: the writes before it, whose requests the server holds until
// it answered the failing one (so four writes are in flight), are taken
// and acknowledged, the failing record is not, and the error names it
// and the status.
func TestPipelinedFailureStopsAtItsWrite(t *testing.T) {
	// The failing record is the source's last: the driver keeps reusing
	// the slots of records it handed to WriteAsync, and a failure reported
	// while it does races with its own error message (see the report of
	// this change: runtime/process.go reads recs[0] in its lost callback).
	const n = 8
	b := newBoard(t)
	c := newCollector(t)
	c.fault = func(w http.ResponseWriter, r *http.Request, g *got, accept func()) bool {
		switch pos := g.Events[0].Position; {
		case pos == n-1:
			g.Status = http.StatusUnprocessableEntity
			w.WriteHeader(g.Status)
			_, _ = w.Write([]byte(`{"error":"record 7 is invalid"}`))
			b.update(func() { b.answered[pos] = g.Status })
			return true
		case pos >= n-4:
			b.await(r.Context(), "the failing request", func() bool { return b.answered[n-1] != 0 })
		}
		return false
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.MaxInFlight = 4
	src := seqSource(n)
	p := &runtime.Pipeline{Name: "fails", Source: src, Sink: pipelinedSink(t, cfg), Program: runtime.ProgramFunc(keepAll),
		Settings: runtime.Settings{BatchSize: 1}}
	err := p.Run(context.Background())
	var re *runtime.RecordError
	if !errors.As(err, &re) || re.Position.Offset != n-1 {
		t.Fatalf("run returned %v, want a RecordError at position %d", err, n-1)
	}
	wantErr(t, err, "422 Unprocessable Entity", "record 7 is invalid", "not retried", "1 record, position 7", "POST "+c.url())
	if last, ok := src.Last(); !ok || last != n-2 {
		t.Errorf("last acknowledged position %d (%v), want %d: the writes before the failing one were taken", last, ok, n-2)
	}
	got := times(c)
	for pos := range uint64(n) {
		want := 1
		if pos == n-1 {
			want = 0
		}
		if got[pos] != want {
			t.Errorf("record %d taken %d times, want %d", pos, got[pos], want)
		}
	}
}

// done is one WriteAsync's completion as a test sees it.
type done struct {
	ch  chan struct{}
	err error
}

func newDone() *done { return &done{ch: make(chan struct{})} }

func (d *done) call(err error) { d.err = err; close(d.ch) }

func (d *done) called() bool {
	select {
	case <-d.ch:
		return true
	default:
		return false
	}
}

// After a failure the sink starts no new request and no retry: a write
// whose request is being retried stops retrying, a later write is not
// sent, and both report errStopped only after the failure was reported,
// so that the pipeline stops with the failure.
func TestPipelinedFailureStopsOtherWrites(t *testing.T) {
	b := newBoard(t)
	c := newCollector(t)
	c.fault = func(w http.ResponseWriter, _ *http.Request, g *got, _ func()) bool {
		switch g.Events[0].Position {
		case 0: // attempts counted in answered[0]
			b.update(func() { b.answered[0]++ })
			g.Status = http.StatusServiceUnavailable
		case 1:
			g.Status = http.StatusBadRequest
		default:
			return false
		}
		w.WriteHeader(g.Status)
		return true
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.MaxInFlight = 4
	cfg.Retry = httpsink.Retry{MaxRetries: 1000, InitialBackoffMs: 1, MaxBackoffMs: 20}
	s := pipelinedSink(t, cfg)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	track := func(name string, d *done) func(error) {
		return func(err error) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			d.call(err)
		}
	}
	retried, failing, later := newDone(), newDone(), newDone()
	ctx := context.Background()
	if err := s.WriteAsync(ctx, records(0, 1), track("retried", retried)); err != nil {
		t.Fatal(err)
	}
	b.await(ctx, "retries of record 0", func() bool { return b.answered[0] >= 3 })
	if err := s.WriteAsync(ctx, records(1, 2), track("failing", failing)); err != nil {
		t.Fatal(err)
	}
	<-failing.ch
	<-retried.ch
	if err := s.WriteAsync(ctx, records(2, 3), track("later", later)); err != nil {
		t.Fatal(err)
	}
	<-later.ch
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, failing.err, "400 Bad Request", "1 record, position 1")
	for name, d := range map[string]*done{"retried": retried, "later": later} {
		if d.err == nil || !strings.Contains(d.err.Error(), "since another request failed") {
			t.Errorf("the %s write reported %v, want that it stopped for another request's failure", name, d.err)
		}
	}
	if strings.Join(order, " ") != "failing retried later" {
		t.Errorf("writes reported in the order %v, want the failure first", order)
	}
	b.mu.Lock()
	attempts := b.answered[0]
	b.mu.Unlock()
	if got := times(c); got[2] != 0 || len(c.requests()) != attempts+1 {
		t.Errorf("%d requests for %d attempts of record 0 and one of record 1; record 2 taken %d times: a request was sent after the failure",
			len(c.requests()), attempts, got[2])
	}
}

// Close waits for the requests still in flight: the write is reported
// before Close returns.
func TestPipelinedCloseWaits(t *testing.T) {
	b := newBoard(t)
	release := make(chan struct{})
	c := newCollector(t)
	c.fault = func(w http.ResponseWriter, r *http.Request, g *got, accept func()) bool {
		b.update(func() { b.inflight++ })
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.MaxInFlight = 2
	s := pipelinedSink(t, cfg)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := newDone()
	if err := s.WriteAsync(context.Background(), records(0, 3), d.call); err != nil {
		t.Fatal(err)
	}
	b.await(context.Background(), "the request", func() bool { return b.inflight == 1 })
	if d.called() {
		t.Fatal("the write was reported while the server still held its request")
	}
	closing, closed := make(chan struct{}), make(chan bool)
	go func() {
		close(closing)
		_ = s.Close()
		closed <- d.called()
	}()
	<-closing
	close(release)
	if !<-closed {
		t.Error("Close returned before the write in flight was reported")
	}
	<-d.ch
	if d.err != nil || !c.covers(2) {
		t.Errorf("the write reported %v; the server took records 0..2: %v", d.err, c.covers(2))
	}
}

// Without pipelining — on_error skip or dead_letter (the runtime rewrites
// a failed write's records one at a time, which needs WriteAsync to fail
// while it still has them), max_in_flight 1 (records in order), or no
// policy told — WriteAsync is Write: it reports the write before it
// returns, and a failure is its error (done is not called).
func TestWriteAsyncIsWriteWithoutPipelining(t *testing.T) {
	c := newCollector(t)
	c.fault = func(w http.ResponseWriter, _ *http.Request, g *got, _ func()) bool {
		if g.Events[0].Position == 9 {
			g.Status = http.StatusBadRequest
			w.WriteHeader(g.Status)
			return true
		}
		return false
	}
	c.start()
	for _, tc := range []struct {
		name   string
		policy runtime.ErrorPolicy
		tell   bool
		inFl   int
	}{
		{"skip", runtime.OnErrorSkip, true, 4},
		{"dead_letter", runtime.OnErrorDeadLetter, true, 4},
		{"stop-max_in_flight-1", runtime.OnErrorStop, true, 1},
		{"not-told", runtime.OnErrorStop, false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := httpsink.Defaults(c.url())
			cfg.MaxInFlight, cfg.MaxBatchRecords = tc.inFl, 1
			s := newSink(t, cfg, nil)
			if tc.tell {
				s.UseErrorPolicy(tc.policy)
			}
			d := newDone()
			if err := s.WriteAsync(context.Background(), records(0, 3), d.call); err != nil || !d.called() || d.err != nil {
				t.Fatalf("WriteAsync returned %v; reported before it returned: %v (%v)", err, d.called(), d.err)
			}
			called := false
			err := s.WriteAsync(context.Background(), records(8, 10), func(error) { called = true })
			wantErr(t, err, "400 Bad Request", "1 record, position 9")
			if called {
				t.Error("done was called for a write whose WriteAsync failed")
			}
		})
	}
}
