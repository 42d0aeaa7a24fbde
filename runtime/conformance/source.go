package conformance

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// SourceOptions describe the source under test.
type SourceOptions struct {
	// Records is how many records the suite reads; the source must produce
	// at least that many (or end with io.EOF after at least that many).
	Records int
	// Resumes says that a new source continues after the last acknowledged
	// position (a Resumable source given a state directory, or one with a
	// server-side position). When false, the source is documented to
	// restart from its beginning (datagen), and the suite checks that
	// instead.
	Resumes bool
	// StateDir, when Resumes is set and the source is Resumable, is where
	// the driver keeps its position; "" = a temporary directory.
	StateDir string
}

// heldRecord is a deep copy of what a sink was handed.
type heldRecord struct {
	stream string
	pos    uint64
	after  []runtime.Value
	before []runtime.Value
}

// memSink accepts everything and can report what it holds.
type memSink struct {
	mu   sync.Mutex
	recs []heldRecord
	// onWrite runs after each accepted write.
	onWrite func(n int)
	writes  int
}

func (m *memSink) Open(context.Context) error { return nil }
func (m *memSink) Close() error               { return nil }
func (m *memSink) Write(_ context.Context, rs []runtime.Record) error {
	m.mu.Lock()
	for _, r := range rs {
		m.recs = append(m.recs, heldRecord{r.Stream, r.Position.Offset,
			append([]runtime.Value(nil), r.After...), append([]runtime.Value(nil), r.Before...)})
	}
	m.writes++
	n := m.writes
	m.mu.Unlock()
	if m.onWrite != nil {
		m.onWrite(n)
	}
	return nil
}

func (m *memSink) held() []heldRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]heldRecord(nil), m.recs...)
}

// limitSource stops a source after max records (graceful end).
type limitSource struct {
	runtime.Source
	left int
}

func (l *limitSource) Read(ctx context.Context, b []runtime.Record) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if len(b) > l.left {
		b = b[:l.left]
	}
	n, err := l.Source.Read(ctx, b)
	l.left -= n
	if err == nil && l.left <= 0 {
		err = io.EOF
	}
	return n, err
}

// ackRecorder records the positions acknowledged to the source.
type ackRecorder struct {
	runtime.Source
	mu   sync.Mutex
	acks []uint64
}

func (a *ackRecorder) Ack(ctx context.Context, p runtime.Position) error {
	a.mu.Lock()
	a.acks = append(a.acks, p.Offset)
	a.mu.Unlock()
	return a.Source.Ack(ctx, p)
}

func (a *ackRecorder) last() (uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.acks) == 0 {
		return 0, false
	}
	return a.acks[len(a.acks)-1], true
}

// resumable adds Resume to a wrapper of a Resumable source, so the
// driver still sees the interface through the suite's wrappers.
type resumable struct {
	runtime.Source
	inner runtime.Resumable
}

func (r resumable) Resume(p runtime.Position) error { return r.inner.Resume(p) }

// wrap limits src to max records and records its acknowledgements; the
// result is Resumable when src is.
func wrap(src runtime.Source, max int) (*ackRecorder, runtime.Source) {
	rec := &ackRecorder{Source: &limitSource{Source: src, left: max}}
	if rs, ok := src.(runtime.Resumable); ok {
		return rec, resumable{Source: rec, inner: rs}
	}
	return rec, rec
}

// RunSource runs the source suite. newSource returns a new, unopened
// source; two sources it returns must produce the same records (a fixed
// seed), except that a resuming source continues after its acknowledged
// position.
func RunSource(t *testing.T, newSource func(t *testing.T) runtime.Source, opts SourceOptions) {
	n := opts.Records
	if n <= 0 {
		n = 1000
	}
	t.Run("records", func(t *testing.T) {
		sink := &memSink{}
		src, wrapped := wrap(newSource(t), n)
		p := &runtime.Pipeline{Name: "conformance", Source: wrapped, Sink: sink, Program: runtime.ProgramFunc(keepAll),
			Settings: runtime.Settings{BatchSize: 37}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := sink.held()
		if len(got) != n {
			t.Fatalf("read %d records, want %d", len(got), n)
		}
		for i, r := range got {
			if r.stream == "" {
				t.Fatalf("record %d has no stream", i)
			}
			if i > 0 && r.pos <= got[i-1].pos {
				t.Fatalf("position %d after %d: positions must increase with every record", r.pos, got[i-1].pos)
			}
		}
		if last, ok := src.last(); !ok || last != got[n-1].pos {
			t.Errorf("last acknowledged position %d (%v), want %d", last, ok, got[n-1].pos)
		}
	})

	t.Run("slots-do-not-alias", func(t *testing.T) {
		src := newSource(t)
		if err := src.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		batch := make([]runtime.Record, 16)
		for round := range 3 {
			k, err := src.Read(context.Background(), batch)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			// Write a distinct mark into every slot's row, then check each
			// slot still holds its own mark: a shared backing array would
			// show another slot's.
			for i := range batch[:k] {
				if row := batch[i].Row(); len(row) > 0 {
					row[0] = runtime.Int(int64(1000*round + i))
				}
			}
			for i := range batch[:k] {
				if row := batch[i].Row(); len(row) > 0 && row[0].AsInt() != int64(1000*round+i) {
					t.Fatalf("round %d: slot %d holds slot %d's mark: slots share row memory", round, i, row[0].AsInt()-int64(1000*round))
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
		}
	})

	t.Run("read-honours-cancel", func(t *testing.T) {
		src := newSource(t)
		if err := src.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() {
			_, err := src.Read(ctx, make([]runtime.Record, 8))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				// A source with records at hand may return them; a second
				// read must see the cancellation.
				_, err = src.Read(ctx, make([]runtime.Record, 8))
			}
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
				t.Errorf("Read with a cancelled context returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Read ignored a cancelled context")
		}
	})

	t.Run("crash-replay", func(t *testing.T) {
		dir := opts.StateDir
		if dir == "" {
			dir = t.TempDir()
		}
		settings := runtime.Settings{BatchSize: 10, StateDir: dir}
		sink1 := &memSink{}
		abort, crash := context.WithCancelCause(context.Background())
		sink1.onWrite = func(w int) {
			if w == 5 {
				crash(errors.New("simulated crash"))
			}
		}
		src1, wrapped1 := wrap(newSource(t), n)
		p1 := &runtime.Pipeline{Name: "conformance", Source: wrapped1, Sink: sink1, Program: runtime.ProgramFunc(keepAll), Settings: settings}
		if err := p1.RunAbortable(context.Background(), abort); !errors.Is(err, runtime.ErrAborted) {
			t.Fatalf("crashed run returned %v, want ErrAborted", err)
		}
		first := sink1.held()
		committed, ok := src1.last()
		if ok {
			covered := false
			for _, r := range first {
				if r.pos == committed {
					covered = true
				}
			}
			if !covered {
				t.Fatalf("position %d acknowledged but its record never reached the sink", committed)
			}
		}
		sink2 := &memSink{}
		inner := newSource(t)
		_, wrapped2 := wrap(inner, 10)
		p2 := &runtime.Pipeline{Name: "conformance", Source: wrapped2, Sink: sink2, Program: runtime.ProgramFunc(keepAll), Settings: settings}
		if err := p2.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		second := sink2.held()
		if len(second) == 0 {
			t.Fatal("the restarted source produced nothing")
		}
		if opts.Resumes {
			if _, resumable := inner.(runtime.Resumable); !resumable && opts.StateDir != "" {
				t.Log("note: StateDir given for a source that is not runtime.Resumable")
			}
			want := first[0].pos
			if ok {
				// the first record after the committed one, as run 1 saw it
				want = 0
				for _, r := range first {
					if r.pos > committed {
						want = r.pos
						break
					}
				}
				if want == 0 {
					t.Skip("run 1 committed everything it read; nothing to compare")
				}
			}
			if second[0].pos != want {
				t.Fatalf("replay starts at position %d, want %d (right after the last acknowledged position %d)", second[0].pos, want, committed)
			}
			return
		}
		// A source without a position restarts from its beginning.
		if second[0].pos != first[0].pos || !rowsEqual(second[0].after, first[0].after) {
			t.Fatalf("restart begins at position %d, want %d (the source's beginning)", second[0].pos, first[0].pos)
		}
	})
}

func rowsEqual(a, b []runtime.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
