// Package conformance is the shared acceptance suite for sources and sinks:
// every connector runs it from its own test file, so each proves the same
// delivery properties under the real pipeline driver:
//
//   - nothing is acknowledged to the source before the sink accepted it;
//   - acknowledgements that complete out of order never move the position
//     past a record that is not yet accepted;
//   - after a crash (the run is aborted mid-flight, without draining), the
//     replay starts right after the last acknowledged position and nothing
//     acknowledged is lost.
//
// Sinks call RunSink; sources call RunSource.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Schema is the schema of the records the sink suite writes: a sequence
// number and a short text.
var Schema = runtime.NewSchema(
	runtime.Field{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}},
	runtime.Field{Name: "text", Type: runtime.Type{Kind: runtime.KindString}},
)

// Stream is the stream name of the sink suite's records.
const Stream = "conformance"

// record returns the suite's record at offset n.
func record(dst *runtime.Record, n uint64) {
	*dst = runtime.Record{
		Stream:   Stream,
		Op:       runtime.OpInsert,
		Schema:   Schema,
		After:    append(dst.After[:0], runtime.Int(int64(n)), runtime.String(fmt.Sprintf("record %d <&>", n))),
		Time:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(n) * time.Millisecond),
		Position: runtime.Position{Offset: n},
	}
}

// SeqSource is a source of records 0..N-1 (after Next, where a run
// resumes like a source with a server-side position), made by Record (nil:
// the sink suite's records), calling Check on every acknowledgement and
// failing the run when positions go back. The sink suite runs sinks with
// it; sink packages' own tests may too. Read is called from one goroutine,
// Ack and Last from any.
type SeqSource struct {
	N, Next uint64
	Record  func(dst *runtime.Record, n uint64)
	Check   func(pos uint64)
	mu      sync.Mutex
	acks    []uint64
}

func (s *SeqSource) Open(context.Context) error { return nil }
func (s *SeqSource) Close() error               { return nil }
func (s *SeqSource) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rec := s.Record
	if rec == nil {
		rec = record
	}
	k := 0
	for k < len(batch) && s.Next < s.N {
		rec(&batch[k], s.Next)
		s.Next++
		k++
	}
	if s.Next == s.N {
		return k, io.EOF
	}
	return k, nil
}

func (s *SeqSource) Ack(_ context.Context, p runtime.Position) error {
	if s.Check != nil {
		s.Check(p.Offset)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.acks) > 0 && p.Offset < s.acks[len(s.acks)-1] {
		return fmt.Errorf("conformance: acknowledged position went back from %d to %d", s.acks[len(s.acks)-1], p.Offset)
	}
	s.acks = append(s.acks, p.Offset)
	return nil
}

// Last returns the last acknowledged position; ok is false before any.
func (s *SeqSource) Last() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.acks) == 0 {
		return 0, false
	}
	return s.acks[len(s.acks)-1], true
}

func keepAll(*runtime.Record) (bool, error) { return true, nil }

// offsets returns the positions of recs, failing on foreign records.
func offsets(t *testing.T, recs []runtime.Record) []uint64 {
	t.Helper()
	out := make([]uint64, len(recs))
	for i, r := range recs {
		if r.Stream != Stream {
			t.Fatalf("read returned a record of stream %q, want %q", r.Stream, Stream)
		}
		out[i] = r.Position.Offset
	}
	return out
}

// covers reports whether offs holds every offset in [from, to].
func covers(offs []uint64, from, to uint64) (uint64, bool) {
	have := make(map[uint64]bool, len(offs))
	for _, o := range offs {
		have[o] = true
	}
	for o := from; o <= to; o++ {
		if !have[o] {
			return o, false
		}
	}
	return 0, true
}

// RunSink runs the sink suite. newSink returns a new, unopened sink (the
// suite opens and closes it through the driver). read returns, in the
// order accepted, the records that the sink most recently returned by
// newSink has durably accepted; only Stream and Position must survive the
// round trip, and After when the sink can give it back (it is compared
// when present). read must be safe to call while the sink's Write runs.
func RunSink(t *testing.T, newSink func(t *testing.T) runtime.Sink, read func(t *testing.T) []runtime.Record) {
	t.Run("round-trip", func(t *testing.T) {
		const n = 500
		src := &SeqSource{N: n}
		p := &runtime.Pipeline{Name: "conformance", Source: src, Sink: newSink(t), Program: runtime.ProgramFunc(keepAll),
			Settings: runtime.Settings{BatchSize: 64}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := read(t)
		offs := offsets(t, got)
		if len(offs) != n {
			t.Fatalf("the sink holds %d records, want %d", len(offs), n)
		}
		for i, o := range offs {
			if o != uint64(i) {
				t.Fatalf("record %d has position %d: order lost", i, o)
			}
			if a := got[i].After; len(a) > 0 && a[0].AsInt() != int64(o) {
				t.Fatalf("record at position %d reads back n=%v", o, a[0])
			}
		}
		if last, ok := src.Last(); !ok || last != n-1 {
			t.Errorf("last acknowledged position %d (%v), want %d", last, ok, n-1)
		}
	})

	t.Run("no-ack-before-accept", func(t *testing.T) {
		src := &SeqSource{N: 300}
		src.Check = func(pos uint64) {
			if o, ok := covers(offsets(t, read(t)), 0, pos); !ok {
				t.Errorf("position %d acknowledged while record %d is not in the sink", pos, o)
			}
		}
		p := &runtime.Pipeline{Name: "conformance", Source: src, Sink: newSink(t), Program: runtime.ProgramFunc(keepAll),
			Settings: runtime.Settings{BatchSize: 16, SinkBatch: runtime.SinkBatch{MaxRecords: 40}}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, ok := src.Last(); !ok {
			t.Fatal("nothing was acknowledged")
		}
	})

	t.Run("out-of-order-acks", func(t *testing.T) {
		src := &SeqSource{N: 1000}
		inner := newSink(t)
		as := &reorderingSink{Sink: inner, rng: rand.New(rand.NewPCG(1, 2))}
		src.Check = func(pos uint64) {
			if o, ok := as.completedThrough(pos); !ok {
				t.Errorf("position %d acknowledged while the write holding record %d has not completed", pos, o)
			}
			if o, ok := covers(offsets(t, read(t)), 0, pos); !ok {
				t.Errorf("position %d acknowledged while record %d is not in the sink", pos, o)
			}
		}
		p := &runtime.Pipeline{Name: "conformance", Source: src, Sink: as, Program: runtime.ProgramFunc(keepAll),
			Settings: runtime.Settings{BatchSize: 25}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		as.wait()
		if last, _ := src.Last(); last != 999 {
			t.Errorf("last acknowledged position %d, want 999", last)
		}
		if as.reordered.Load() == 0 {
			t.Log("note: no completion arrived out of order in this run")
		}
	})

	t.Run("crash-replay", func(t *testing.T) {
		const n = 2000
		// Run 1 crashes once the sink has taken a few writes.
		src1 := &SeqSource{N: n}
		abort, crash := context.WithCancelCause(context.Background())
		counting := &crashingSink{Sink: newSink(t), after: 5, crash: func() { crash(errors.New("simulated crash")) }}
		p1 := &runtime.Pipeline{Name: "conformance", Source: src1, Sink: counting, Program: runtime.ProgramFunc(keepAll),
			Settings: runtime.Settings{BatchSize: 32}}
		err := p1.RunAbortable(context.Background(), abort)
		if !errors.Is(err, runtime.ErrAborted) {
			t.Fatalf("crashed run returned %v, want ErrAborted", err)
		}
		first := offsets(t, read(t))
		committed, ok := src1.Last()
		start := uint64(0)
		if ok {
			if o, all := covers(first, 0, committed); !all {
				t.Fatalf("position %d was acknowledged but record %d was lost in the crash", committed, o)
			}
			start = committed + 1
		}
		if start >= n {
			t.Fatalf("the crash came after the end (committed %d)", committed)
		}
		// Run 2 replays from the committed position into a new sink.
		src2 := &SeqSource{N: n, Next: start}
		p2 := &runtime.Pipeline{Name: "conformance", Source: src2, Sink: newSink(t), Program: runtime.ProgramFunc(keepAll),
			Settings: runtime.Settings{BatchSize: 32}}
		if err := p2.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		second := offsets(t, read(t))
		if len(second) == 0 || second[0] != start {
			t.Fatalf("replay starts at %v, want %d (right after the last acknowledged position)", head(second), start)
		}
		if o, all := covers(second, start, n-1); !all {
			t.Fatalf("record %d missing after the replay", o)
		}
	})
}

func head(offs []uint64) any {
	if len(offs) == 0 {
		return "nothing"
	}
	return offs[0]
}

// reorderingSink turns a synchronous sink into an AsyncSink whose
// completions arrive in random order after random delays.
type reorderingSink struct {
	runtime.Sink
	rng       *rand.Rand
	mu        sync.Mutex
	done      []span // completed writes
	wg        sync.WaitGroup
	lastDone  atomic.Int64
	reordered atomic.Int64
	seq       int64
}

type span struct{ from, to uint64 }

func (r *reorderingSink) WriteAsync(ctx context.Context, recs []runtime.Record, done func(error)) error {
	if err := r.Sink.Write(ctx, recs); err != nil {
		return err
	}
	sp := span{recs[0].Position.Offset, recs[len(recs)-1].Position.Offset}
	r.seq++
	seq := r.seq
	wait := time.Duration(r.rng.Int64N(int64(2 * time.Millisecond)))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		time.Sleep(wait)
		if prev := r.lastDone.Swap(seq); prev > seq {
			r.reordered.Add(1)
		}
		r.mu.Lock()
		r.done = append(r.done, sp)
		r.mu.Unlock()
		done(nil)
	}()
	return nil
}

// completedThrough reports whether every record 0..pos belongs to a write
// whose completion was reported, or the first one that does not.
func (r *reorderingSink) completedThrough(pos uint64) (uint64, bool) {
	r.mu.Lock()
	spans := append([]span(nil), r.done...)
	r.mu.Unlock()
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	next := uint64(0)
	for _, s := range spans {
		if s.from > next {
			break
		}
		if s.to+1 > next {
			next = s.to + 1
		}
	}
	if next > pos {
		return 0, true
	}
	return next, false
}

func (r *reorderingSink) wait() { r.wg.Wait() }

// crashingSink calls crash after its after-th successful write.
type crashingSink struct {
	runtime.Sink
	after, n int
	crash    func()
}

func (c *crashingSink) Write(ctx context.Context, recs []runtime.Record) error {
	if err := c.Sink.Write(ctx, recs); err != nil {
		return err
	}
	c.n++
	if c.n == c.after {
		c.crash()
	}
	return nil
}
