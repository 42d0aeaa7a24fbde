package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func keepAll(*Record) (bool, error) { return true, nil }

// durableSet records which positions a sink has durably accepted, and
// checks every acknowledgement against it.
type durableSet struct {
	mu      sync.Mutex
	durable map[uint64]bool
	t       *testing.T
}

func (d *durableSet) add(offs ...uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.durable == nil {
		d.durable = map[uint64]bool{}
	}
	for _, o := range offs {
		d.durable[o] = true
	}
}

// checkPrefix fails unless every position 0..pos is durable (the sources
// of these tests emit consecutive offsets; filters may drop some: skip
// lets those through).
func (d *durableSet) checkPrefix(pos uint64, skip func(uint64) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for o := uint64(0); o <= pos; o++ {
		if !d.durable[o] && (skip == nil || !skip(o)) {
			d.t.Errorf("acknowledged position %d while record %d is not durable", pos, o)
			return
		}
	}
}

// asyncSink completes writes after a random delay, so completions arrive
// out of order.
type asyncSink struct {
	memSink
	set     *durableSet
	rng     *rand.Rand
	maxWait time.Duration
	active  atomic.Int32
	peak    atomic.Int32
	wg      sync.WaitGroup
}

func (a *asyncSink) WriteAsync(_ context.Context, rs []Record, done func(error)) error {
	offs := make([]uint64, len(rs))
	vals := make([]int64, len(rs))
	for i := range rs {
		offs[i], vals[i] = rs[i].Position.Offset, rs[i].After[0].AsInt()
	}
	wait := time.Duration(a.rng.Int64N(int64(a.maxWait)))
	if n := a.active.Add(1); n > a.peak.Load() {
		a.peak.Store(n)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		time.Sleep(wait)
		a.set.add(offs...)
		a.mu.Lock()
		a.got = append(a.got, vals...)
		a.mu.Unlock()
		a.active.Add(-1)
		done(nil)
	}()
	return nil
}

type checkingSource struct {
	*seqSource
	set  *durableSet
	skip func(uint64) bool
}

func (c *checkingSource) Ack(ctx context.Context, p Position) error {
	c.set.checkPrefix(p.Offset, c.skip)
	return c.seqSource.Ack(ctx, p)
}

func TestAsyncSinkOutOfOrderCompletionsNeverPassAGap(t *testing.T) {
	set := &durableSet{t: t}
	src := &checkingSource{seqSource: newSeqSource(3000), set: set, skip: func(o uint64) bool { return o%2 == 1 }}
	sink := &asyncSink{set: set, rng: rand.New(rand.NewPCG(7, 7)), maxWait: 3 * time.Millisecond}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepEven), Settings: Settings{BatchSize: 32}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sink.wg.Wait()
	if len(sink.got) != 1500 || p.Stats.Out.Load() != 1500 {
		t.Fatalf("sink got %d records (Out=%d), want 1500", len(sink.got), p.Stats.Out.Load())
	}
	if last := src.acks[len(src.acks)-1]; last != 2999 {
		t.Errorf("last ack %d, want 2999", last)
	}
	if peak := sink.peak.Load(); peak > inflightBatches {
		t.Errorf("%d async writes outstanding at once; the bound is %d", peak, inflightBatches)
	}
	if sink.peak.Load() < 2 {
		t.Log("note: writes never overlapped; out-of-order completion not exercised")
	}
}

// recSink records the size of every write.
type recSink struct {
	memSink
	sizes []int
}

func (r *recSink) Write(ctx context.Context, rs []Record) error {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(rs))
	r.mu.Unlock()
	return r.memSink.Write(ctx, rs)
}

func TestSinkBatchMaxRecords(t *testing.T) {
	src, sink := newSeqSource(1000), &recSink{}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll),
		Settings: Settings{BatchSize: 64, SinkBatch: SinkBatch{MaxRecords: 100}}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, n := range sink.sizes {
		if n != 100 {
			t.Errorf("write %d has %d records, want 100", i, n)
		}
	}
	if len(sink.got) != 1000 {
		t.Fatalf("got %d records", len(sink.got))
	}
	for i, v := range sink.got {
		if v != int64(i) {
			t.Fatalf("record %d = %d: order lost", i, v)
		}
	}
	for i := 1; i < len(src.acks); i++ {
		if src.acks[i] <= src.acks[i-1] {
			t.Fatalf("acks not increasing: %v", src.acks)
		}
	}
	if last := src.acks[len(src.acks)-1]; last != 999 {
		t.Errorf("last ack %d", last)
	}
}

func TestSinkBatchAckNeverPrecedesWrite(t *testing.T) {
	src := newSeqSource(500)
	sink := &memSink{}
	checked := &ackChecker{seqSource: src, sink: sink, t: t}
	p := &Pipeline{Name: "p", Source: checked, Sink: sink, Program: ProgramFunc(keepAll),
		Settings: Settings{BatchSize: 7, SinkBatch: SinkBatch{MaxRecords: 50}}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if checked.count == 0 || len(sink.got) != 500 {
		t.Fatalf("acks %d, written %d", checked.count, len(sink.got))
	}
}

// slowSource emits one record every interval, forever.
type slowSource struct {
	seqSource
	interval time.Duration
}

func (s *slowSource) Read(ctx context.Context, batch []Record) (int, error) {
	if err := Sleep(ctx, s.interval); err != nil {
		return 0, err
	}
	s.n = s.next + 2 // never at the end
	return s.seqSource.Read(ctx, batch[:1])
}

func TestSinkBatchTimeoutFlushes(t *testing.T) {
	src := &slowSource{seqSource: *newSeqSource(0), interval: 2 * time.Millisecond}
	sink := &recSink{}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll),
		Settings: Settings{SinkBatch: SinkBatch{MaxRecords: 1_000_000, TimeoutMs: 30}}}
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	waitUntil(t, "the timeout to flush two batches", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.sizes) >= 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Shutdown flushes the partial batch: everything read was written.
	if int(src.next) != len(sink.got) {
		t.Errorf("read %d, wrote %d: the partial batch was not flushed on shutdown", src.next, len(sink.got))
	}
	if src.next > 0 && src.acks[len(src.acks)-1] != uint64(src.next-1) {
		t.Errorf("last ack %d, want %d", src.acks[len(src.acks)-1], src.next-1)
	}
}

func TestSinkBatchAllDroppedStillAcks(t *testing.T) {
	// With a long batch timeout and every record dropped, the position must
	// still advance while the pipeline runs (nothing waits in the batch).
	src := &slowSource{seqSource: *newSeqSource(0), interval: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{Name: "p", Source: src, Sink: &memSink{}, Program: ProgramFunc(func(*Record) (bool, error) { return false, nil }),
		Settings: Settings{SinkBatch: SinkBatch{MaxRecords: 1000, TimeoutMs: 60_000}}}
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	waitUntil(t, "dropped records to be acknowledged while running", func() bool { return p.Status().Acked != nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// flakySink fails its first fails writes with err.
type flakySink struct {
	memSink
	fails int
	calls atomic.Int32
	err   error
}

func (f *flakySink) Write(ctx context.Context, rs []Record) error {
	if int(f.calls.Add(1)) <= f.fails {
		return f.err
	}
	return f.memSink.Write(ctx, rs)
}

func fastRetry(n int) Retry {
	return Retry{MaxRetries: n, InitialBackoffMs: 1, MaxBackoffMs: 4, BackoffMultiplier: 2}
}

func TestRetryRetriableErrors(t *testing.T) {
	src := newSeqSource(10)
	sink := &flakySink{fails: 3, err: Retriable(errors.New("broker busy"))}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{Retry: fastRetry(5)}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.Stats.Retries.Load() != 3 || len(sink.got) != 10 {
		t.Errorf("retries=%d written=%d, want 3 and 10", p.Stats.Retries.Load(), len(sink.got))
	}
	if st := p.Status(); st.State != StateStopped || st.LastError == "" {
		t.Errorf("status %+v: want stopped with the retried error remembered", st)
	}
}

func TestRetryGivesUpThenAppliesPolicy(t *testing.T) {
	t.Run("stop", func(t *testing.T) {
		src := newSeqSource(10)
		sink := &flakySink{fails: 100, err: Retriable(errors.New("broker down"))}
		p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{Retry: fastRetry(2)}}
		err := p.Run(context.Background())
		var re *RecordError
		if !errors.As(err, &re) || re.Position.Offset != 0 || !IsRetriable(err) {
			t.Fatalf("got %v", err)
		}
		if sink.calls.Load() != 3 {
			t.Errorf("%d attempts, want 1 + 2 retries", sink.calls.Load())
		}
		if len(src.acks) != 0 {
			t.Errorf("acked %v after a failed write", src.acks)
		}
		if st := p.Status(); st.State != StateFailed || st.LastError == "" {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("not-retriable", func(t *testing.T) {
		sink := &flakySink{fails: 100, err: errors.New("bad request")}
		p := &Pipeline{Name: "p", Source: newSeqSource(10), Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{Retry: fastRetry(5)}}
		if err := p.Run(context.Background()); err == nil {
			t.Fatal("no error")
		}
		if sink.calls.Load() != 1 {
			t.Errorf("%d attempts of a non-retriable error", sink.calls.Load())
		}
	})
	// max_retries: 0 is no retries, as is the zero Retry of Settings built
	// by hand.
	for name, r := range map[string]Retry{"disabled": fastRetry(0), "zero-value": {}} {
		t.Run(name, func(t *testing.T) {
			sink := &flakySink{fails: 100, err: Retriable(errors.New("busy"))}
			p := &Pipeline{Name: "p", Source: newSeqSource(10), Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{Retry: r}}
			_ = p.Run(context.Background())
			if sink.calls.Load() != 1 || p.Stats.Retries.Load() != 0 {
				t.Errorf("%d attempts, %d retries with retries disabled", sink.calls.Load(), p.Stats.Retries.Load())
			}
		})
	}
	t.Run("ten", func(t *testing.T) {
		sink := &flakySink{fails: 100, err: Retriable(errors.New("busy"))}
		r := fastRetry(DefaultRetry().MaxRetries)
		p := &Pipeline{Name: "p", Source: newSeqSource(10), Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{Retry: r}}
		_ = p.Run(context.Background())
		if sink.calls.Load() != 11 || p.Stats.Retries.Load() != 10 {
			t.Errorf("%d attempts, %d retries: want 1 + the default 10", sink.calls.Load(), p.Stats.Retries.Load())
		}
	})
	t.Run("skip-isolates", func(t *testing.T) {
		src, sink := newSeqSource(30), &memSink{failAt: 17}
		p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, OnError: OnErrorSkip}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(sink.got) != 29 || p.Stats.Failed.Load() != 1 || p.Stats.Out.Load() != 29 {
			t.Errorf("written %d failed %d out %d: only record 17 may be skipped", len(sink.got), p.Stats.Failed.Load(), p.Stats.Out.Load())
		}
		if src.acks[len(src.acks)-1] != 29 {
			t.Errorf("last ack %d", src.acks[len(src.acks)-1])
		}
	})
}

func TestBackoff(t *testing.T) {
	r := Retry{InitialBackoffMs: 100, MaxBackoffMs: 1000, BackoffMultiplier: 3}
	want := []time.Duration{100, 300, 900, 1000, 1000}
	for i, w := range want {
		if got := r.Backoff(i); got != w*time.Millisecond {
			t.Errorf("Backoff(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	// The defaults: 100 ms, doubling, at most 30 s.
	want = []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}
	for i, w := range want {
		if got := DefaultRetry().Backoff(i); got != w*time.Millisecond {
			t.Errorf("DefaultRetry().Backoff(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if r := DefaultRetry(); r.MaxRetries != 10 {
		t.Errorf("DefaultRetry() = %+v, want 10 retries", r)
	}
	// Taken as they are: a zero Retry waits 0; a cap below the initial
	// backoff is raised to it.
	if d := (Retry{}).Backoff(3); d != 0 {
		t.Errorf("zero Retry: Backoff(3) = %v, want 0", d)
	}
	if d := (Retry{InitialBackoffMs: 500, MaxBackoffMs: 100, BackoffMultiplier: 2}).Backoff(3); d != 500*time.Millisecond {
		t.Errorf("max below initial: Backoff(3) = %v, want 500ms", d)
	}
}

func TestRetryBackoffIsCancelledByAbort(t *testing.T) {
	sink := &flakySink{fails: 1 << 30, err: Retriable(errors.New("down"))}
	p := &Pipeline{Name: "p", Source: newSeqSource(10), Sink: sink, Program: ProgramFunc(keepAll),
		Settings: Settings{Retry: Retry{MaxRetries: 100, InitialBackoffMs: 60_000}}}
	abort, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(30*time.Millisecond, func() { cancel(errors.New("shutdown timeout")) })
	start := time.Now()
	err := p.RunAbortable(context.Background(), abort)
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("got %v, want ErrAborted", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("abort took %v", time.Since(start))
	}
	if st := p.Status(); st.State != StateFailed {
		t.Errorf("state %v", st.State)
	}
}

func TestAbortStopsWithoutDraining(t *testing.T) {
	src := &endless{seqSource: *newSeqSource(0)}
	sink := &memSink{delay: 5 * time.Millisecond}
	abort, cancel := context.WithCancelCause(context.Background())
	sink.onWrite = func() {
		if sink.inWrite.Load() > 0 && len(sink.got) > 50 {
			cancel(errors.New("crash"))
		}
	}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 16}}
	err := p.RunAbortable(context.Background(), abort)
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("got %v", err)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.acks) > 0 && src.acks[len(src.acks)-1] >= uint64(len(sink.got)) {
		t.Errorf("acked %d with only %d written", src.acks[len(src.acks)-1], len(sink.got))
	}
}

// dlqSink collects dead letters; failing makes it fail every write.
type dlqSink struct {
	mu      sync.Mutex
	letters []Record
	failing bool
}

func (d *dlqSink) Open(context.Context) error { return nil }
func (d *dlqSink) Close() error               { return nil }
func (d *dlqSink) Write(_ context.Context, rs []Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing {
		return errors.New("dead-letter queue unavailable")
	}
	d.letters = append(d.letters, rs...)
	return nil
}

func dlField(t *testing.T, r Record, name string) Value {
	t.Helper()
	i := DeadLetterSchema.Index(name)
	if i < 0 {
		t.Fatalf("no dead-letter field %q", name)
	}
	return r.After[i]
}

func TestDeadLetterProgramFailureHidesMaskedFields(t *testing.T) {
	schema := NewSchema(
		Field{Name: "n", Type: Type{Kind: KindInt}},
		Field{Name: "email", Type: Type{Kind: KindString}},
		Field{Name: "addr", Type: Type{Kind: KindObject}},
	)
	src := &rowSource{seqSource: newSeqSource(20), schema: schema}
	boom := errors.New("division by zero")
	prog := ProgramFunc(func(r *Record) (bool, error) {
		if r.After[0].AsInt() == 7 {
			// fails before the mask stage ran: email is still in clear
			return false, &StageError{Stage: "compute", Err: boom}
		}
		r.After[1] = String("****")
		return true, nil
	})
	sink, dlq := &memSink{}, &dlqSink{}
	p := &Pipeline{Name: "orders", Source: src, Sink: sink, Program: prog, DeadLetter: dlq,
		Settings: Settings{BatchSize: 8, OnError: OnErrorDeadLetter, DeadLetterSink: "dlq", DeadLetterMask: []string{"email", "addr.street"}}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(dlq.letters) != 1 || p.Stats.DeadLettered.Load() != 1 || p.Stats.Failed.Load() != 1 || len(sink.got) != 19 {
		t.Fatalf("letters %d deadLettered %d written %d", len(dlq.letters), p.Stats.DeadLettered.Load(), len(sink.got))
	}
	dl := dlq.letters[0]
	if dlField(t, dl, "pipeline").AsString() != "orders" || dlField(t, dl, "stage").AsString() != "compute" ||
		dlField(t, dl, "position").AsString() != "7" || dlField(t, dl, "failed_at").AsString() == "" {
		t.Errorf("envelope: %s", AppendJSONRow(nil, DeadLetterSchema, dl.After, "", 0))
	}
	if got := dlField(t, dl, "error").AsString(); got != `transform "compute": division by zero` {
		t.Errorf("error %q", got)
	}
	js := string(AppendJSONRow(nil, DeadLetterSchema, dl.After, "", 0))
	for _, leak := range []string{"user7@example.com", "7 Secret Lane"} {
		if contains(js, leak) {
			t.Errorf("dead letter leaks a masked field %q: %s", leak, js)
		}
	}
	if !contains(js, `"email":null`) || !contains(js, `"street":null`) || !contains(js, `"city":"Paris"`) {
		t.Errorf("masked fields must be null, others kept: %s", js)
	}
	if src.acks[len(src.acks)-1] != 19 {
		t.Errorf("last ack %d", src.acks[len(src.acks)-1])
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// rowSource emits rows {n, email, addr{street, city}}.
type rowSource struct {
	*seqSource
	schema *Schema
}

func (s *rowSource) Read(ctx context.Context, batch []Record) (int, error) {
	n, err := s.seqSource.Read(ctx, batch)
	for i := range batch[:n] {
		r := &batch[i]
		v := r.After[0].AsInt()
		r.Schema = s.schema
		addr := NewObject(2).Set("street", String(fmt.Sprintf("%d Secret Lane", v))).Set("city", String("Paris"))
		r.After = append(r.After[:1], String(fmt.Sprintf("user%d@example.com", v)), ObjectValue(addr))
	}
	return n, err
}

func TestDeadLetterSinkFailureSendsProgramOutput(t *testing.T) {
	src := newSeqSource(30)
	sink, dlq := &memSink{failAt: 12}, &dlqSink{}
	prog := ProgramFunc(func(r *Record) (bool, error) { return true, nil })
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: prog, DeadLetter: dlq,
		Settings: Settings{BatchSize: 10, OnError: OnErrorDeadLetter, DeadLetterSink: "dlq", DeadLetterMask: []string{"n"}}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(dlq.letters) != 1 || len(sink.got) != 29 {
		t.Fatalf("letters %d written %d", len(dlq.letters), len(sink.got))
	}
	js := string(AppendJSONRow(nil, DeadLetterSchema, dlq.letters[0].After, "", 0))
	// A sink failure dead-letters the program's output as it is (the mask
	// list applies only to records that failed inside the program).
	if !contains(js, `"stage":null`) || !contains(js, `"data":{"n":12}`) || !contains(js, `cannot write 12`) {
		t.Errorf("dead letter %s", js)
	}
}

func TestDeadLetterWriteFailureStops(t *testing.T) {
	src := newSeqSource(30)
	dlq := &dlqSink{failing: true}
	prog := ProgramFunc(func(r *Record) (bool, error) {
		if r.After[0].AsInt() == 15 {
			return false, &StageError{Stage: "t", Err: errors.New("bad")}
		}
		return true, nil
	})
	p := &Pipeline{Name: "p", Source: src, Sink: &memSink{}, Program: prog, DeadLetter: dlq,
		Settings: Settings{BatchSize: 10, OnError: OnErrorDeadLetter, DeadLetterSink: "dlq"}}
	err := p.Run(context.Background())
	var re *RecordError
	if !errors.As(err, &re) || re.Position.Offset != 15 {
		t.Fatalf("got %v", err)
	}
	if last := src.acks[len(src.acks)-1]; last >= 15 {
		t.Errorf("acked %d past the record whose dead letter failed", last)
	}
}

func TestDeadLetterWithoutSinkIsRefused(t *testing.T) {
	p := &Pipeline{Name: "p", Source: newSeqSource(3), Sink: &memSink{}, Program: ProgramFunc(keepAll),
		Settings: Settings{OnError: OnErrorDeadLetter, DeadLetterSink: "dlq"}}
	if err := p.Run(context.Background()); err == nil || !contains(err.Error(), `"dlq"`) {
		t.Fatalf("got %v", err)
	}
}

// asyncDLQ acknowledges dead letters only when released.
type asyncDLQ struct {
	dlqSink
	release chan struct{}
	pending sync.WaitGroup
}

func (a *asyncDLQ) WriteAsync(ctx context.Context, rs []Record, done func(error)) error {
	if err := a.Write(ctx, rs); err != nil {
		return err
	}
	a.pending.Add(1)
	go func() {
		defer a.pending.Done()
		<-a.release
		done(nil)
	}()
	return nil
}

// earlyAckGuard fails the test when the source is acknowledged at or past
// record 5 before released is set.
type earlyAckGuard struct {
	*seqSource
	t        *testing.T
	released atomic.Bool
}

func (g *earlyAckGuard) Ack(ctx context.Context, p Position) error {
	if p.Offset >= 5 && !g.released.Load() {
		g.t.Errorf("acked %d before the dead letter of record 5 was acknowledged", p.Offset)
	}
	return g.seqSource.Ack(ctx, p)
}

func TestDeadLetterAckedLateHoldsThePosition(t *testing.T) {
	src := &earlyAckGuard{seqSource: newSeqSource(40), t: t}
	dlq := &asyncDLQ{release: make(chan struct{})}
	prog := ProgramFunc(func(r *Record) (bool, error) {
		if r.After[0].AsInt() == 5 {
			return false, &StageError{Stage: "t", Err: errors.New("bad")}
		}
		return true, nil
	})
	p := &Pipeline{Name: "p", Source: src, Sink: &memSink{}, Program: prog, DeadLetter: dlq,
		Settings: Settings{BatchSize: 10, OnError: OnErrorDeadLetter, DeadLetterSink: "dlq"}}
	done := make(chan error)
	go func() { done <- p.Run(context.Background()) }()
	// Everything but the dead letter completes (every other record is
	// written; the acknowledgements of later batches would come with
	// their writes); the position must stay before record 5 until the
	// dead letter is acknowledged.
	waitUntil(t, "every record but the dead letter written", func() bool { return p.Stats.Out.Load() == 39 })
	src.released.Store(true)
	close(dlq.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if last := src.acks[len(src.acks)-1]; last != 39 {
		t.Errorf("last ack %d, want 39", last)
	}
}
