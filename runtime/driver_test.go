package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seqSource emits records 0..n-1 with one int field "n".
type seqSource struct {
	n, next int
	schema  *Schema
	mu      sync.Mutex
	acks    []uint64
	closed  bool
	readErr error // returned once after all records, instead of io.EOF
}

func newSeqSource(n int) *seqSource {
	return &seqSource{n: n, schema: NewSchema(Field{Name: "n", Type: Type{Kind: KindInt}})}
}

func (s *seqSource) Open(context.Context) error { return nil }
func (s *seqSource) Close() error               { s.closed = true; return nil }
func (s *seqSource) Ack(_ context.Context, p Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acks = append(s.acks, p.Offset)
	return nil
}
func (s *seqSource) Read(ctx context.Context, batch []Record) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	k := 0
	for k < len(batch) && s.next < s.n {
		batch[k] = Record{Stream: "seq", Schema: s.schema, After: append(batch[k].After[:0], Int(int64(s.next))), Position: Position{Offset: uint64(s.next)}}
		s.next++
		k++
	}
	if s.next == s.n {
		if s.readErr != nil {
			return k, s.readErr
		}
		return k, io.EOF
	}
	return k, nil
}

// memSink records what it accepted; failAt makes Write fail when a batch
// contains that value.
type memSink struct {
	mu      sync.Mutex
	got     []int64
	failAt  int64
	delay   time.Duration
	inWrite atomic.Int32
	onWrite func()
}

func (m *memSink) Open(context.Context) error { return nil }
func (m *memSink) Close() error               { return nil }
func (m *memSink) Write(_ context.Context, rs []Record) error {
	m.inWrite.Add(1)
	defer m.inWrite.Add(-1)
	if m.onWrite != nil {
		m.onWrite()
	}
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		if v := r.After[0].AsInt(); m.failAt > 0 && v == m.failAt {
			return fmt.Errorf("cannot write %d", v)
		}
	}
	for _, r := range rs {
		m.got = append(m.got, r.After[0].AsInt())
	}
	return nil
}

func keepEven(r *Record) (bool, error) { return r.After[0].AsInt()%2 == 0, nil }

func TestRunDeliversInOrderAndAcksAfterWrite(t *testing.T) {
	src, sink := newSeqSource(1000), &memSink{}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepEven), Settings: Settings{BatchSize: 64}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 500 {
		t.Fatalf("sink got %d records, want 500", len(sink.got))
	}
	for i, v := range sink.got {
		if v != int64(2*i) {
			t.Fatalf("record %d = %d, want %d (order lost)", i, v, 2*i)
		}
	}
	if last := src.acks[len(src.acks)-1]; last != 999 {
		t.Errorf("last ack %d, want 999 (dropped records count as acknowledged)", last)
	}
	for i := 1; i < len(src.acks); i++ {
		if src.acks[i] <= src.acks[i-1] {
			t.Errorf("acks not increasing: %v", src.acks)
		}
	}
	if p.Stats.In.Load() != 1000 || p.Stats.Out.Load() != 500 || p.Stats.Dropped.Load() != 500 {
		t.Errorf("stats in=%d out=%d dropped=%d", p.Stats.In.Load(), p.Stats.Out.Load(), p.Stats.Dropped.Load())
	}
	if !src.closed {
		t.Error("source not closed")
	}
}

func TestAckNeverPrecedesWrite(t *testing.T) {
	src := newSeqSource(300)
	sink := &memSink{}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(func(*Record) (bool, error) { return true, nil }), Settings: Settings{BatchSize: 10}}
	// Every ack must cover only records the sink already holds.
	checked := &ackChecker{seqSource: src, sink: sink, t: t}
	p.Source = checked
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if checked.count == 0 {
		t.Fatal("no acks")
	}
}

type ackChecker struct {
	*seqSource
	sink  *memSink
	t     *testing.T
	count int
}

func (a *ackChecker) Ack(ctx context.Context, p Position) error {
	a.sink.mu.Lock()
	n := len(a.sink.got)
	a.sink.mu.Unlock()
	if uint64(n) < p.Offset+1 {
		a.t.Errorf("ack of position %d while the sink holds only %d records", p.Offset, n)
	}
	a.count++
	return a.seqSource.Ack(ctx, p)
}

func TestOnErrorStopLeavesPositionBeforeFailingRecord(t *testing.T) {
	src, sink := newSeqSource(100), &memSink{failAt: 55}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(func(*Record) (bool, error) { return true, nil }), Settings: Settings{BatchSize: 10}}
	err := p.Run(context.Background())
	var re *RecordError
	if !errors.As(err, &re) || re.Pipeline != "p" {
		t.Fatalf("want a RecordError naming the pipeline, got %v", err)
	}
	for _, a := range src.acks {
		if a >= 50 {
			t.Errorf("acked %d, past the failing batch 50..59", a)
		}
	}
	if got := src.acks[len(src.acks)-1]; got != 49 {
		t.Errorf("last ack %d, want 49", got)
	}
}

func TestOnErrorProgramFailure(t *testing.T) {
	boom := errors.New("boom")
	prog := ProgramFunc(func(r *Record) (bool, error) {
		if r.After[0].AsInt()%10 == 3 {
			return false, &StageError{Stage: "t", Err: boom}
		}
		return true, nil
	})
	t.Run("stop", func(t *testing.T) {
		src, sink := newSeqSource(50), &memSink{}
		err := (&Pipeline{Name: "p", Source: src, Sink: sink, Program: prog, Settings: Settings{BatchSize: 8}}).Run(context.Background())
		var re *RecordError
		if !errors.As(err, &re) || re.Position.Offset != 3 || !errors.Is(err, boom) {
			t.Fatalf("want failure at position 3 wrapping boom, got %v", err)
		}
		if len(src.acks) != 0 || len(sink.got) != 0 {
			t.Errorf("acks %v, sink %v: nothing of the failing batch may be acked or written", src.acks, sink.got)
		}
	})
	t.Run("skip", func(t *testing.T) {
		src, sink := newSeqSource(50), &memSink{}
		p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: prog, Settings: Settings{BatchSize: 8, OnError: OnErrorSkip}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if p.Stats.Failed.Load() != 5 || len(sink.got) != 45 {
			t.Errorf("failed=%d written=%d, want 5 and 45", p.Stats.Failed.Load(), len(sink.got))
		}
		if src.acks[len(src.acks)-1] != 49 {
			t.Errorf("skipped records must count as acknowledged: last ack %d", src.acks[len(src.acks)-1])
		}
	})
}

func TestSourceErrorIsReported(t *testing.T) {
	src := newSeqSource(20)
	src.readErr = errors.New("connection reset")
	err := (&Pipeline{Name: "p", Source: src, Sink: &memSink{}, Program: ProgramFunc(keepEven)}).Run(context.Background())
	if err == nil || !errors.Is(err, src.readErr) {
		t.Fatalf("got %v", err)
	}
}

// endless never ends; it counts what it produced.
type endless struct {
	seqSource
	produced atomic.Int64
}

func (e *endless) Read(ctx context.Context, batch []Record) (int, error) {
	e.n = e.next + len(batch) + 1
	n, err := e.seqSource.Read(ctx, batch)
	e.produced.Add(int64(n))
	return n, err
}

func TestSlowSinkBackPressuresSource(t *testing.T) {
	src := &endless{seqSource: *newSeqSource(0)}
	sink := &memSink{delay: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(func(*Record) (bool, error) { return true, nil }), Settings: Settings{BatchSize: 16}}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	produced, written := src.produced.Load(), int64(len(sink.got))
	// At most the in-flight batches (plus the one being read) may be ahead of the sink.
	if ahead := produced - written; ahead > int64((inflightBatches+1)*16) {
		t.Errorf("source ran %d records ahead of a slow sink; back-pressure bound is %d", ahead, (inflightBatches+1)*16)
	}
	if written == 0 {
		t.Error("nothing written")
	}
}

func TestCancelDrainsReadBatches(t *testing.T) {
	src := &endless{seqSource: *newSeqSource(0)}
	sink := &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	sink.onWrite = func() {
		if len(sink.got) > 100 {
			cancel()
		}
	}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(func(*Record) (bool, error) { return true, nil }), Settings: Settings{BatchSize: 16}}
	if err := p.Run(ctx); err != nil {
		t.Fatalf("a cancelled run is a clean stop, got %v", err)
	}
	if int64(len(sink.got)) != src.produced.Load() {
		t.Errorf("read %d records but wrote %d: batches read before the stop must be written", src.produced.Load(), len(sink.got))
	}
	if last := src.acks[len(src.acks)-1]; last != uint64(len(sink.got)-1) {
		t.Errorf("last ack %d, want %d", last, len(sink.got)-1)
	}
}

func TestRateLimit(t *testing.T) {
	src, sink := newSeqSource(60), &memSink{}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(func(*Record) (bool, error) { return true, nil }), Settings: Settings{RateLimit: 1000}}
	start := time.Now()
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// On the wall clock: limiting does not lose records (ratelimit_test.go
	// checks the pacing on a virtual clock).
	if len(sink.got) != 60 {
		t.Errorf("wrote %d, want 60 (in %v)", len(sink.got), time.Since(start))
	}
}

// closingProgram counts its Process calls and records when it is closed.
type closingProgram struct {
	calls       int
	closedAfter int // calls seen when Close ran; -1 before
}

func (p *closingProgram) Process(*Record) (bool, error) { p.calls++; return true, nil }
func (p *closingProgram) Close() error                  { p.closedAfter = p.calls; return nil }

// A Program holding connections (io.Closer) is closed when its pipeline
// ends, after its last Process.
func TestProgramClosedWhenThePipelineEnds(t *testing.T) {
	prog := &closingProgram{closedAfter: -1}
	p := &Pipeline{Name: "p", Source: newSeqSource(100), Sink: &memSink{}, Program: prog, Settings: Settings{BatchSize: 10}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if prog.closedAfter != 100 {
		t.Errorf("program closed after %d of 100 records (-1: never)", prog.closedAfter)
	}
}
