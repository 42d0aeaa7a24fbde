package runtime

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime/state"
)

// resumableSource is a seqSource that can start after a position.
type resumableSource struct {
	*seqSource
	resumedAt *Position
	opened    bool
}

func (r *resumableSource) Resume(p Position) error {
	r.resumedAt = &p
	r.next = int(p.Offset) + 1
	return nil
}

func (r *resumableSource) Open(context.Context) error { r.opened = true; return nil }

func TestStateDirResumesAfterTheLastAcknowledgedPosition(t *testing.T) {
	dir := t.TempDir()
	// First run: stop gracefully after some records.
	src1 := &resumableSource{seqSource: newSeqSource(1000)}
	sink1 := &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	sink1.onWrite = func() {
		if len(sink1.got) >= 100 {
			cancel()
		}
	}
	p1 := &Pipeline{Name: "orders", Source: src1, Sink: sink1, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, StateDir: dir}}
	if err := p1.Run(ctx); err != nil {
		t.Fatal(err)
	}
	last := src1.acks[len(src1.acks)-1]
	if int(last) != len(sink1.got)-1 {
		t.Fatalf("last ack %d with %d written", last, len(sink1.got))
	}
	// Second run: resumes right after it; no duplicates, no gap.
	src2 := &resumableSource{seqSource: newSeqSource(1000)}
	sink2 := &memSink{}
	p2 := &Pipeline{Name: "orders", Source: src2, Sink: sink2, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, StateDir: dir}}
	if err := p2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src2.resumedAt == nil || src2.resumedAt.Offset != last {
		t.Fatalf("resumed at %v, want %d", src2.resumedAt, last)
	}
	all := append(append([]int64(nil), sink1.got...), sink2.got...)
	for i, v := range all {
		if v != int64(i) {
			t.Fatalf("record %d = %d across the restart (duplicate or gap)", i, v)
		}
	}
	if len(all) != 1000 {
		t.Errorf("%d records in total", len(all))
	}
}

func TestTornStateFileStopsThePipeline(t *testing.T) {
	dir := t.TempDir()
	st, _ := state.Open(dir)
	if err := st.Put("orders", []byte(`{"offset":41}`)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(st.Path("orders"))
	if err := os.WriteFile(st.Path("orders"), data[:len(data)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	src := &resumableSource{seqSource: newSeqSource(10)}
	p := &Pipeline{Name: "orders", Source: src, Sink: &memSink{}, Program: ProgramFunc(keepAll), Settings: Settings{StateDir: dir}}
	err := p.Run(context.Background())
	var ce *state.CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `pipeline "orders"`) {
		t.Fatalf("got %v, want a CorruptError naming the pipeline", err)
	}
	if src.opened || src.resumedAt != nil || src.next != 0 {
		t.Error("the source was started despite the corrupt state: a silent restart from zero")
	}
	if st := p.Status(); st.State != StateFailed || !strings.Contains(st.LastError, "corrupt") {
		t.Errorf("status %+v", st)
	}
}

func TestStateWithoutPositionIsAnError(t *testing.T) {
	dir := t.TempDir()
	st, _ := state.Open(dir)
	_ = st.Put("p", []byte(`{}`))
	p := &Pipeline{Name: "p", Source: &resumableSource{seqSource: newSeqSource(3)}, Sink: &memSink{}, Program: ProgramFunc(keepAll), Settings: Settings{StateDir: dir}}
	if err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no position") {
		t.Fatalf("got %v", err)
	}
}

// statefulSource records the blob the driver hands it and writes to it.
type statefulSource struct {
	*seqSource
	blob   StateBlob
	called bool
}

func (s *statefulSource) UseState(b StateBlob) { s.blob, s.called = b, true }

func (s *statefulSource) Open(context.Context) error {
	if !s.called {
		return errors.New("Open before UseState")
	}
	if s.blob != nil {
		return s.blob.Put([]byte("hello"))
	}
	return nil
}

func TestStatefulSourceGetsItsBlob(t *testing.T) {
	dir := t.TempDir()
	src := &statefulSource{seqSource: newSeqSource(3)}
	p := &Pipeline{Name: "orders", Source: src, Sink: &memSink{}, Program: ProgramFunc(keepAll), Settings: Settings{StateDir: dir}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ := state.Open(dir)
	v, ok, err := st.Get("orders\x00source")
	if err != nil || !ok || string(v) != "hello" {
		t.Fatalf("blob = %q, %v, %v", v, ok, err)
	}
	if !strings.HasSuffix(src.blob.Where(), "orders%00source.state") {
		t.Fatalf("blob file %s", src.blob.Where())
	}
	// The pipeline's position file is a different one.
	if _, ok, _ := st.Get("orders"); ok {
		t.Fatal("a non-resumable source got a position file")
	}

	src2 := &statefulSource{seqSource: newSeqSource(3)}
	p2 := &Pipeline{Name: "orders", Source: src2, Sink: &memSink{}, Program: ProgramFunc(keepAll)}
	if err := p2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !src2.called || src2.blob != nil {
		t.Fatalf("without state_dir: called=%v blob=%v, want UseState(nil)", src2.called, src2.blob)
	}
}

// saverSource checks, at every Saved, that the position file already
// holds the position, and that Ack came first.
type saverSource struct {
	*resumableSource
	st     *state.Store
	acked  []Position
	saved  []Position
	badErr error
}

func (s *saverSource) Ack(ctx context.Context, pos Position) error {
	s.acked = append(s.acked, pos)
	return s.resumableSource.Ack(ctx, pos)
}

func (s *saverSource) Saved(pos Position) error {
	s.saved = append(s.saved, pos)
	v, ok, err := s.st.Get("p")
	if err != nil || !ok {
		return errors.New("Saved before the position was kept")
	}
	kept, err := decodePosition(v)
	if err != nil || kept != pos {
		s.badErr = errors.New("Saved(" + pos.String() + ") while the state file holds " + string(v))
	}
	if len(s.acked) == 0 || s.acked[len(s.acked)-1] != pos {
		s.badErr = errors.New("Saved(" + pos.String() + ") before Ack of it")
	}
	return nil
}

func TestSaverIsToldOnceThePositionIsKept(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := &saverSource{resumableSource: &resumableSource{seqSource: newSeqSource(500)}, st: st}
	p := &Pipeline{Name: "p", Source: src, Sink: &memSink{}, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, StateDir: dir}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src.badErr != nil {
		t.Fatal(src.badErr)
	}
	if len(src.saved) == 0 || src.saved[len(src.saved)-1] != src.acked[len(src.acked)-1] || src.acked[len(src.acked)-1].Offset != 499 {
		t.Fatalf("Saved with %v, acknowledged %v; want the last of both at offset 499 (the 500th record)", src.saved, src.acked)
	}

	// A failing Saved stops the pipeline, naming the position.
	src2 := &failingSaver{resumableSource: &resumableSource{seqSource: newSeqSource(50)}}
	p2 := &Pipeline{Name: "q", Source: src2, Sink: &memSink{}, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, StateDir: dir}}
	if err := p2.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "saved position") {
		t.Fatalf("run with a failing Saved: %v", err)
	}
}

type failingSaver struct{ *resumableSource }

func (failingSaver) Saved(Position) error { return errors.New("disk full") }
