package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testLease is a lease the test loses or the runner releases.
type testLease struct {
	epoch    uint64
	once     sync.Once
	done     chan struct{}
	err      atomic.Pointer[error]
	released atomic.Bool
}

func newTestLease(epoch uint64) *testLease {
	return &testLease{epoch: epoch, done: make(chan struct{})}
}

func (l *testLease) Epoch() uint64         { return l.epoch }
func (l *testLease) Done() <-chan struct{} { return l.done }
func (l *testLease) Err() error {
	if e := l.err.Load(); e != nil {
		return *e
	}
	return nil
}
func (l *testLease) Check(context.Context) error { return l.Err() }
func (l *testLease) Blob(string) StateBlob       { return nil }
func (l *testLease) Release() error {
	l.released.Store(true)
	l.once.Do(func() { close(l.done) })
	return nil
}
func (l *testLease) lose() {
	err := fmt.Errorf("%w (test)", ErrFenced)
	l.err.Store(&err)
	l.once.Do(func() { close(l.done) })
}

// electingSource is an endless source that wins the lease it is handed.
type electingSource struct {
	endless
	leases  chan *testLease
	elected chan struct{}
	mu      sync.Mutex
	lease   *testLease
}

func newElectingSource(leases chan *testLease) *electingSource {
	return &electingSource{endless: endless{seqSource: *newSeqSource(0)}, leases: leases, elected: make(chan struct{})}
}

func (s *electingSource) Elect(ctx context.Context, _ Cluster, _ *slog.Logger) (Lease, error) {
	select {
	case l := <-s.leases:
		s.mu.Lock()
		s.lease = l
		s.mu.Unlock()
		close(s.elected)
		return l, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// leaseSink records the lease it was given.
type leaseSink struct {
	memSink
	lease atomic.Pointer[Lease]
}

func (s *leaseSink) UseLease(l Lease) { s.lease.Store(&l) }

func waitState(t *testing.T, p *Pipeline, want State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Status().State != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %v, want %v", p.Status().State, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// A singleton stands by until elected, stops at once when its lease is
// lost (acknowledging nothing after), stands by again on fresh
// components, and releases the lease on a graceful stop.
func TestRunSingletonLosesAndRegainsLease(t *testing.T) {
	leases := make(chan *testLease)
	first := newElectingSource(leases)
	sink := &leaseSink{}
	prog := ProgramFunc(func(*Record) (bool, error) { return true, nil })
	p := &Pipeline{Name: "p", Source: first, Sink: sink, Program: prog,
		Settings: Settings{BatchSize: 16, Singleton: true, Cluster: Cluster{Enabled: true, Node: "n1", HeartbeatMs: 10, FailureTimeoutMs: 100}}}
	var rebuilt atomic.Pointer[electingSource]
	rebuild := func() (*Pipeline, error) {
		s := newElectingSource(leases)
		rebuilt.Store(s)
		return &Pipeline{Source: s, Sink: &leaseSink{}, Program: prog}, nil
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.RunSingleton(ctx, context.Background(), rebuild) }()

	waitState(t, p, StateStandby)
	l1 := newTestLease(1)
	leases <- l1
	waitState(t, p, StateRunning)
	if got := sink.lease.Load(); got == nil || *got != Lease(l1) {
		t.Fatal("the sink was not given the lease")
	}
	for first.produced.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	l1.lose()
	waitState(t, p, StateStandby)
	first.seqSource.mu.Lock()
	acks := len(first.acks)
	first.seqSource.mu.Unlock()
	if rebuilt.Load() == nil {
		t.Fatal("standing by again without rebuilding the components")
	}
	l2 := newTestLease(2)
	leases <- l2
	waitState(t, p, StateRunning)
	for rebuilt.Load().produced.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	first.seqSource.mu.Lock()
	if len(first.acks) != acks {
		t.Errorf("%d acknowledgements to the old components after they stood down", len(first.acks)-acks)
	}
	first.seqSource.mu.Unlock()
	stop()
	if err := <-done; err != nil {
		t.Fatalf("RunSingleton: %v", err)
	}
	if !l2.released.Load() {
		t.Error("a graceful stop did not release the lease")
	}
	if st := p.Status().State; st != StateStopped {
		t.Errorf("state %v after the stop", st)
	}
}

// A fenced write is never skipped: on_error skip does not apply to it.
func TestFencedWriteIsNotSkipped(t *testing.T) {
	src := newSeqSource(10)
	sink := &fencedSink{}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(func(*Record) (bool, error) { return true, nil }),
		Settings: Settings{OnError: OnErrorSkip}}
	err := p.Run(context.Background())
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("Run: %v, want ErrFenced", err)
	}
	if st := p.Status(); st.Failed != 0 {
		t.Errorf("%d records skipped", st.Failed)
	}
	if len(src.acks) != 0 {
		t.Errorf("acknowledged %v", src.acks)
	}
}

type fencedSink struct{ memSink }

func (s *fencedSink) Write(context.Context, []Record) error {
	return fmt.Errorf("publish: %w", ErrFenced)
}
