package conformance

import (
	"context"
	"sync"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// refSink is the reference sink: it keeps deep copies of what it accepts.
type refSink struct {
	mu   sync.Mutex
	recs []runtime.Record
}

func (r *refSink) Open(context.Context) error { return nil }
func (r *refSink) Close() error               { return nil }
func (r *refSink) Write(_ context.Context, rs []runtime.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range rs {
		x.After = append([]runtime.Value(nil), x.After...)
		r.recs = append(r.recs, x)
	}
	return nil
}

func TestReferenceSink(t *testing.T) {
	var cur *refSink
	RunSink(t, func(*testing.T) runtime.Sink { cur = &refSink{}; return cur }, func(*testing.T) []runtime.Record {
		cur.mu.Lock()
		defer cur.mu.Unlock()
		return append([]runtime.Record(nil), cur.recs...)
	})
}

// refSource is a Resumable source of endless records.
type refSource struct{ SeqSource }

func (r *refSource) Resume(p runtime.Position) error { r.Next = p.Offset + 1; return nil }

func TestReferenceResumableSource(t *testing.T) {
	RunSource(t, func(*testing.T) runtime.Source { return &refSource{SeqSource{N: 1 << 40}} }, SourceOptions{Records: 500, Resumes: true})
}

func TestReferenceRestartingSource(t *testing.T) {
	RunSource(t, func(*testing.T) runtime.Source { return &SeqSource{N: 1 << 40} }, SourceOptions{Records: 500})
}

// TestSuiteCatchesALossySink: the suite's coverage check sees a record
// that a sink claimed but dropped.
func TestSuiteCatchesALossySink(t *testing.T) {
	var cur *lossySink
	read := func(*testing.T) []runtime.Record {
		cur.mu.Lock()
		defer cur.mu.Unlock()
		return append([]runtime.Record(nil), cur.recs...)
	}
	// Run the round trip by hand: the suite's own check must see the loss.
	cur = &lossySink{}
	p := &runtime.Pipeline{Name: "c", Source: &SeqSource{N: 100}, Sink: cur, Program: runtime.ProgramFunc(keepAll)}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o, ok := covers(offsets(t, read(t)), 0, 99); ok {
		t.Fatal("covers missed a lost record")
	} else if o != 50 {
		t.Errorf("first missing %d, want 50", o)
	}
}

type lossySink struct{ refSink }

func (l *lossySink) Write(ctx context.Context, rs []runtime.Record) error {
	var keep []runtime.Record
	for _, r := range rs {
		if r.Position.Offset != 50 {
			keep = append(keep, r)
		}
	}
	return l.refSink.Write(ctx, keep)
}
