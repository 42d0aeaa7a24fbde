package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stridedSource emits first, first+step, … below max (max 0: endless),
// each value its own Offset; it is a Splitter and Resumable.
type stridedSource struct {
	first, step, next, max int64
	schema                 *Schema
	resumed                bool
}

func (s *stridedSource) Split(i, n int) error {
	s.first, s.step, s.next = int64(i), int64(n), int64(i)
	return nil
}
func (s *stridedSource) Resume(p Position) error {
	s.next, s.resumed = int64(p.Offset)+s.step, true
	return nil
}
func (s *stridedSource) Open(context.Context) error          { return nil }
func (s *stridedSource) Close() error                        { return nil }
func (s *stridedSource) Ack(context.Context, Position) error { return nil }
func (s *stridedSource) Read(ctx context.Context, batch []Record) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	k := 0
	for k < len(batch) && (s.max == 0 || s.next < s.max) {
		batch[k] = Record{Stream: "s", Schema: s.schema, After: []Value{Int(s.next)}, Position: Position{Offset: uint64(s.next)}}
		s.next += s.step
		k++
	}
	if s.max > 0 && s.next >= s.max {
		return k, io.EOF
	}
	if s.max == 0 {
		time.Sleep(time.Millisecond)
	}
	return k, nil
}

// memCluster is the cluster's shared state: each task's blobs.
type memCluster struct {
	mu    sync.Mutex
	blobs map[string][]byte
}

type memBlob struct {
	c     *memCluster
	key   string
	lease *memLease
}

func (b memBlob) Get() ([]byte, bool, error) {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	v, ok := b.c.blobs[b.key]
	return v, ok, nil
}
func (b memBlob) Put(v []byte) error {
	if err := b.lease.Err(); err != nil {
		return err
	}
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	b.c.blobs[b.key] = append([]byte(nil), v...)
	return nil
}
func (b memBlob) Where() string { return b.key }

// memGen is one generation the test hands out.
type memGen struct {
	done    chan struct{}
	expired atomic.Bool
}

type memLease struct {
	c    *memCluster
	gen  *memGen
	task int
}

func (l *memLease) Epoch() uint64         { return 1 }
func (l *memLease) Done() <-chan struct{} { return l.gen.done }
func (l *memLease) Err() error {
	if l.gen.expired.Load() {
		return fmt.Errorf("%w (test)", ErrFenced)
	}
	return nil
}
func (l *memLease) Check(context.Context) error { return l.Err() }
func (l *memLease) Blob(name string) StateBlob {
	return memBlob{l.c, fmt.Sprintf("%d/%s", l.task, name), l}
}
func (l *memLease) Release() error { return nil }

// memCoordinator is the cluster status sink and its task group: Next
// hands out what the test sends on next.
type memCoordinator struct {
	c     *memCluster
	next  chan []int
	gens  chan *memGen
	calls atomic.Int32
}

func (m *memCoordinator) Open(context.Context) error            { return nil }
func (m *memCoordinator) Close() error                          { return nil }
func (m *memCoordinator) Write(context.Context, []Record) error { return nil }

func (m *memCoordinator) JoinTasks(Cluster, string, int, *slog.Logger) (TaskGroup, error) {
	return m, nil
}
func (m *memCoordinator) Leave() error { return nil }
func (m *memCoordinator) Next(ctx context.Context) (*Assignment, error) {
	m.calls.Add(1)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case tasks := <-m.next:
		g := &memGen{done: make(chan struct{})}
		m.gens <- g
		return &Assignment{Generation: uint64(m.calls.Load()), Tasks: tasks, Done: g.done, Expired: g.expired.Load, Drain: time.Second,
			Lease: func(i int) Lease { return &memLease{m.c, g, i} }}, nil
	}
}

func newScalable(n int, max int64, sink *memSink) (*Pipeline, *memCoordinator, func() (*Pipeline, error)) {
	c := &memCluster{blobs: map[string][]byte{}}
	co := &memCoordinator{c: c, next: make(chan []int, 1), gens: make(chan *memGen, 1)}
	schema := NewSchema(Field{Name: "n", Type: Type{Kind: KindInt}})
	build := func() (*Pipeline, error) {
		return &Pipeline{Name: "p", Source: &stridedSource{max: max, schema: schema}, Sink: sink,
			Program: ProgramFunc(func(*Record) (bool, error) { return true, nil }), Settings: Settings{BatchSize: 4}}, nil
	}
	p, _ := build()
	p.Settings.Tasks = n
	p.Settings.Cluster = Cluster{Enabled: true, Node: "n1", HeartbeatMs: 100, FailureTimeoutMs: 1000, Topic: "t"}
	p.ClusterStatus = co
	return p, co, build
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestScalableRunsItsTasksResumesThemAndNeverRerunsAFinishedOne(t *testing.T) {
	sink := &memSink{}
	p, co, build := newScalable(3, 30, sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.RunScalable(ctx, context.Background(), build) }()

	co.next <- []int{0, 2}
	g1 := <-co.gens
	finished := func(tasks ...int) func() bool {
		return func() bool {
			co.c.mu.Lock()
			defer co.c.mu.Unlock()
			for _, i := range tasks {
				if string(co.c.blobs[fmt.Sprintf("%d/finished", i)]) != "true" {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "tasks 0 and 2 to finish", finished(0, 2))
	co.c.mu.Lock()
	pos0, pos2 := string(co.c.blobs["0/position"]), string(co.c.blobs["2/position"])
	co.c.blobs["1/position"] = []byte(`{"offset":10}`) // task 1 ran before, up to 10
	co.c.mu.Unlock()
	if pos0 != `{"offset":27}` || pos2 != `{"offset":29}` {
		t.Fatalf("positions of the finished tasks: %s %s", pos0, pos2)
	}
	close(g1.done) // a rebalance
	co.next <- []int{0, 1}
	<-co.gens
	waitFor(t, "task 1 to finish", finished(1))
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	got := slices.Clone(sink.got)
	sink.mu.Unlock()
	slices.Sort(got)
	var want []int64
	for v := range int64(30) {
		if v%3 != 1 || v > 10 {
			want = append(want, v)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the sink got %v\nwant %v (task 0 not run again, task 1 resumed after 10)", got, want)
	}
	if out := p.Stats.Out.Load(); out != uint64(len(want)) {
		t.Errorf("the pipeline counts %d records out, its tasks wrote %d", out, len(want))
	}
}

func TestScalableStopsItsTasksAtOnceWhenTheMembershipExpires(t *testing.T) {
	sink := &memSink{}
	p, co, build := newScalable(1, 0, sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.RunScalable(ctx, context.Background(), build) }()
	co.next <- []int{0}
	g := <-co.gens
	waitFor(t, "records", func() bool { sink.mu.Lock(); defer sink.mu.Unlock(); return len(sink.got) > 20 })
	g.expired.Store(true)
	close(g.done)
	waitFor(t, "the next Next", func() bool { return co.calls.Load() == 2 })
	sink.mu.Lock()
	n := len(sink.got)
	sink.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	sink.mu.Lock()
	later := len(sink.got)
	sink.mu.Unlock()
	if later != n {
		t.Errorf("%d records written after the membership expired and the tasks stopped", later-n)
	}
	co.c.mu.Lock()
	_, fin := co.c.blobs["0/finished"]
	co.c.mu.Unlock()
	if fin {
		t.Error("an aborted task was recorded as finished")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestScalableFailsWithATaskThatFails(t *testing.T) {
	sink := &memSink{failAt: 7}
	p, co, build := newScalable(2, 0, sink)
	errc := make(chan error, 1)
	go func() { errc <- p.RunScalable(context.Background(), context.Background(), build) }()
	co.next <- []int{0, 1}
	<-co.gens
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "task 1") || !strings.Contains(err.Error(), "cannot write 7") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunScalable did not fail")
	}
	if State(p.state.Load()) != StateFailed {
		t.Errorf("state %v, want failed", State(p.state.Load()))
	}
}
