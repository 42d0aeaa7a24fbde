package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime/state"
)

// ErrorPolicy says what a pipeline does with a record whose transform or
// sink write fails.
type ErrorPolicy uint8

// The error policies of settings.on_error.
const (
	// OnErrorStop stops the pipeline; its position stays before the record.
	OnErrorStop ErrorPolicy = iota
	// OnErrorSkip drops the record, counts it, and goes on.
	OnErrorSkip
	// OnErrorDeadLetter sends the record to the dead-letter sink and goes
	// on once the dead letter is acknowledged.
	OnErrorDeadLetter
)

var policyNames = [...]string{"stop", "skip", "dead_letter"}

func (p ErrorPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "unknown"
}

// DefaultBatchSize is the number of records read from a source at a time
// when a pipeline does not set BatchSize.
const DefaultBatchSize = 256

// inflightBatches bounds the source batches between the reader and the
// processor, and separately the outstanding writes to an AsyncSink, so a
// slow sink back-pressures the source.
const inflightBatches = 4

// Pipeline is one source → program → sink flow, ready to run. The back end
// that built it sets the fields; app.Run may set Observer, Logger and
// Redact. Run does not modify them.
type Pipeline struct {
	Name string
	// SourceName and SinkName are the config names of the source and sink
	// (for health and metrics labels).
	SourceName, SinkName string
	// SourceConnector and SinkConnector are their connector types
	// ("postgres-cdc", "stdout"), for progress displays; "" = not told.
	SourceConnector, SinkConnector string

	Source   Source
	Program  Program
	Sink     Sink
	Settings Settings
	// DeadLetter receives dead letters when Settings.OnError is
	// OnErrorDeadLetter: the sink that Settings.DeadLetterSink names,
	// instantiated by the back end. The driver opens and closes it.
	DeadLetter Sink
	// Expected is the number of records the source will produce when that
	// is known in advance (datagen max_events); 0 = unknown.
	Expected uint64
	// Observer, when set, is told about batches, sink writes and stage
	// failures (metrics).
	Observer Observer
	// Logger receives the driver's structured logs; nil discards them.
	Logger *slog.Logger
	// Redact, when set, hides secrets in every error text that leaves the
	// driver through logs, status or dead letters.
	Redact func(string) string
	// Now is the clock of dead letters' failed_at; nil = time.Now.
	Now func() time.Time

	// Stats are the running counters, safe to read concurrently.
	Stats Stats

	state   atomic.Int32
	retry   atomic.Bool // a sink write is being retried
	lastErr atomic.Pointer[string]
	acked   atomic.Pointer[Position]
	started atomic.Int64 // unix nanoseconds
	ended   atomic.Int64 // unix nanoseconds; 0 = not ended
	step    atomic.Pointer[step]
	// limitClock is the rate limiter's clock; nil = the wall clock (tests
	// set a virtual one).
	limitClock clock
	// eventLag is 1 + the EventLag of the newest record in nanoseconds;
	// 0 = none read yet.
	eventLag atomic.Int64
}

// Stats are a pipeline's running counters.
type Stats struct {
	In           atomic.Uint64 // records read from the source
	Out          atomic.Uint64 // records the sink durably accepted
	Dropped      atomic.Uint64 // records a filter dropped
	Failed       atomic.Uint64 // records skipped or dead-lettered by on_error
	DeadLettered atomic.Uint64 // of Failed, records the dead-letter sink accepted
	Retries      atomic.Uint64 // sink write retries
}

// Observer is told what a running pipeline does, for metrics. Methods are
// called from the pipeline's goroutines and must be cheap and safe for
// concurrent use.
type Observer interface {
	// SourceBatch reports a batch of n records read from the source.
	SourceBatch(pipeline string, n int)
	// SinkWrite reports one write attempt of n records to the pipeline's
	// sink (dead-letter writes included) that took d and ended with err.
	SinkWrite(pipeline string, n int, d time.Duration, err error)
	// StageFailed reports a record that failed in a transform ("" for the
	// sink).
	StageFailed(pipeline, stage string)
}

// State is the lifecycle state of a pipeline.
type State int32

// The pipeline states, as health and status report them.
const (
	StateStarting  State = iota // opening its source and sinks
	StateRunning                // moving records
	StateUnhealthy              // running, but retrying a failing sink write
	StateStopping               // draining after a stop request
	StateStopped                // ended cleanly
	StateFailed                 // ended with an error
)

var stateNames = [...]string{"starting", "running", "unhealthy", "stopping", "stopped", "failed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Status is a snapshot of a pipeline for health, status and progress.
type Status struct {
	Name                                            string
	State                                           State
	In, Out, Dropped, Failed, DeadLettered, Retries uint64
	// Expected is Pipeline.Expected.
	Expected uint64
	// Acked is the last position acknowledged to the source; nil = none.
	Acked *Position
	// LastError is the last failure, secrets redacted; "" = none.
	LastError string
	// Started is when Run began; zero before.
	Started time.Time
	// Ended is when Run returned; zero while it runs (and before).
	Ended time.Time
	// EventLag is how long before it was read the newest record read so far
	// happened (read time − the record's event time); valid when HasEventLag
	// (a record with an event time was read).
	EventLag    time.Duration
	HasEventLag bool
	// SourceLag is the source's own measure of how far behind it is (see
	// Lagger), in SourceLagUnit; valid when HasSourceLag.
	SourceLag     uint64
	SourceLagUnit string
	HasSourceLag  bool
}

// Status returns a snapshot of p's state and counters.
func (p *Pipeline) Status() Status {
	s := Status{
		Name: p.Name, State: State(p.state.Load()),
		In: p.Stats.In.Load(), Out: p.Stats.Out.Load(), Dropped: p.Stats.Dropped.Load(),
		Failed: p.Stats.Failed.Load(), DeadLettered: p.Stats.DeadLettered.Load(), Retries: p.Stats.Retries.Load(),
		Expected: p.Expected, Acked: p.acked.Load(),
	}
	if s.State == StateRunning && p.retry.Load() {
		s.State = StateUnhealthy
	}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	if ns := p.started.Load(); ns != 0 {
		s.Started = time.Unix(0, ns)
	}
	if ns := p.ended.Load(); ns != 0 {
		s.Ended = time.Unix(0, ns)
	}
	if lag := p.eventLag.Load(); lag != 0 {
		s.EventLag, s.HasEventLag = max(time.Duration(lag-1), 0), true
	}
	if l, ok := p.Source.(Lagger); ok && s.State != StateStarting {
		s.SourceLag, s.SourceLagUnit, s.HasSourceLag = l.SourceLag()
	}
	return s
}

func (p *Pipeline) redact(s string) string {
	if p.Redact != nil {
		return p.Redact(s)
	}
	return s
}

func (p *Pipeline) setLastError(err error) {
	msg := p.redact(err.Error())
	p.lastErr.Store(&msg)
}

// RecordError says which record a pipeline failed on and why.
type RecordError struct {
	Pipeline string
	Stream   string
	Position Position
	Err      error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("pipeline %q: record at position %d of stream %q: %v", e.Pipeline, e.Position.Offset, e.Stream, e.Err)
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// ErrAborted is wrapped by the error of a run that was aborted (its abort
// context ended) before it could drain.
var ErrAborted = errors.New("aborted")

type batch struct {
	recs  []Record
	n     int
	err   error // terminal error of the reader after these records (io.EOF at the end)
	first bool  // the result of the source's first Read
}

// Run runs p until its source ends (io.EOF: returns nil), ctx is cancelled
// (reading stops; the records already read are processed, written and
// acknowledged; Run returns nil), or a failure the error policy does not
// absorb (returned). It opens and closes the source and the sinks. A stop
// (ctx cancelled) that comes while the source or a sink is still opening
// is a clean end too: the Open, or the source's first Read, that fails
// once ctx is done does not fail the run; Run logs "stopped before source
// NAME connected" (with the error when it is not the context's own), closes
// what it opened and returns nil. With Settings.RateLimit, a batch read
// passes on only once the limiter has granted every record in it.
func (p *Pipeline) Run(ctx context.Context) error {
	return p.RunAbortable(ctx, context.WithoutCancel(ctx))
}

// RunAbortable is Run with a second context: when abort ends, the run
// stops at once without draining — writes in progress are cancelled,
// nothing more is acknowledged — and returns an error wrapping ErrAborted
// and abort's cause. Sink writes use abort as their context, so a graceful
// stop (ctx) never cancels a write in progress. The records not
// acknowledged are replayed by the next run (at-least-once).
func (p *Pipeline) RunAbortable(ctx, abort context.Context) (err error) {
	p.ended.Store(0)
	p.step.Store(nil)
	p.started.Store(time.Now().UnixNano())
	p.state.Store(int32(StateStarting))
	defer func() {
		p.retry.Store(false)
		p.step.Store(nil)
		p.ended.Store(time.Now().UnixNano())
		if err != nil {
			p.setLastError(err)
			p.state.Store(int32(StateFailed))
			p.logger().Error("pipeline failed", "pipeline", p.Name, "error", p.redact(err.Error()))
		} else {
			p.state.Store(int32(StateStopped))
		}
	}()
	d := &driver{p: p, wctx: abort, abort: abort, failed: make(chan struct{})}
	return d.run(ctx)
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return discardLogger
}

var discardLogger = slog.New(slog.DiscardHandler)

// driver is the state of one run of a pipeline.
type driver struct {
	p     *Pipeline
	wctx  context.Context // context of writes and acks: ends only on abort
	abort context.Context

	tr      *AckTracker
	ackCh   chan struct{}
	ackMu   sync.Mutex
	sent    *Position // last position acknowledged to the source
	store   *state.Store
	resumes bool

	slots    chan struct{} // outstanding async writes
	held     int           // slots taken by the final drain
	failOnce sync.Once     // first asynchronous failure
	failErr  error         // set before failed is closed
	failed   chan struct{} // closed on an asynchronous failure
	stopRead context.CancelFunc

	// the last position processed in the open segment
	last    Position
	hasLast bool

	// sink batching
	batching bool
	acc      []Record
	accN     int
	timer    *time.Timer
	timerOn  bool

	skipLog logLimiter
}

func (d *driver) wrap(what string, e error) error {
	return fmt.Errorf("pipeline %q: %s: %w", d.p.Name, what, e)
}

func (d *driver) run(ctx context.Context) (err error) {
	p := d.p
	if p.Settings.OnError == OnErrorDeadLetter && p.DeadLetter == nil {
		return d.wrap("on_error: dead_letter", fmt.Errorf("dead-letter sink %q was not instantiated by this back end", p.Settings.DeadLetterSink))
	}
	if l, ok := p.Source.(Logged); ok {
		l.UseLogger(p.logger().With("source", p.SourceName))
	}
	if err := d.loadState(); err != nil {
		return err
	}
	p.setStep("opening source", p.SourceName, false)
	if e := p.Source.Open(ctx); e != nil {
		_ = p.Source.Close()
		if ctx.Err() != nil {
			d.stoppedBeforeConnected("source", p.SourceName, e)
			return nil
		}
		return d.wrap("open source", e)
	}
	defer func() {
		if e := p.Source.Close(); e != nil && err == nil {
			err = d.wrap("close source", e)
		}
	}()
	type namedSink struct {
		s          Sink
		what, name string
	}
	sinks := []namedSink{{p.Sink, "sink", p.SinkName}}
	if p.Settings.OnError == OnErrorDeadLetter {
		sinks = append(sinks, namedSink{p.DeadLetter, "dead-letter sink", p.Settings.DeadLetterSink})
	}
	for _, s := range sinks {
		p.setStep("opening "+s.what, s.name, true)
		if e := s.s.Open(ctx); e != nil {
			_ = s.s.Close()
			if ctx.Err() != nil {
				d.stoppedBeforeConnected(s.what, s.name, e)
				return nil
			}
			return d.wrap("open "+s.what, e)
		}
		defer func() {
			if e := s.s.Close(); e != nil && err == nil {
				err = d.wrap("close "+s.what, e)
			}
		}()
	}

	p.step.Store(nil)
	size := p.Settings.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	var limiter *limiter
	if p.Settings.RateLimit > 0 {
		limiter = newLimiter(p.Settings.RateLimit, p.limitClock)
		size = min(size, limiter.burst()) // a batch passes only once all of it is granted
	}
	d.ackCh = make(chan struct{}, 1)
	d.tr = NewAckTracker(func() {
		select {
		case d.ackCh <- struct{}{}:
		default:
		}
	})
	d.slots = make(chan struct{}, inflightBatches)
	if sb := p.Settings.SinkBatch; sb.Enabled() {
		d.batching = true
		n := sb.MaxRecords
		if n <= 0 {
			n = DefaultSinkBatchRecords
		}
		d.acc = make([]Record, n)
		if sb.TimeoutMs > 0 {
			d.timer = time.NewTimer(time.Hour)
			d.timer.Stop()
		}
	}

	free := make(chan *batch, inflightBatches)
	for range inflightBatches {
		free <- &batch{recs: make([]Record, size)}
	}
	full := make(chan *batch, inflightBatches)

	readCtx, stopReading := context.WithCancel(ctx)
	d.stopRead = stopReading
	defer stopReading()
	stopOnAbort := context.AfterFunc(d.abort, stopReading)
	defer stopOnAbort()
	stopping := context.AfterFunc(ctx, func() { p.state.CompareAndSwap(int32(StateRunning), int32(StateStopping)) })
	defer stopping()

	// The acker hands positions to the source from one goroutine.
	ackDone := make(chan struct{})
	ackStop := make(chan struct{})
	go func() {
		defer close(ackDone)
		for {
			select {
			case <-d.ackCh:
				d.ack()
			case <-ackStop:
				return
			}
		}
	}()
	stopAcker := sync.OnceFunc(func() { close(ackStop); <-ackDone })
	defer stopAcker()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		for first := true; ; first = false {
			var b *batch
			select {
			case b = <-free:
			case <-readCtx.Done():
				return
			}
			n, err := p.Source.Read(readCtx, b.recs[:size])
			if limiter != nil && n > 0 {
				if werr := limiter.wait(readCtx, n); werr != nil {
					// Not granted: the records do not pass (they are not
					// acknowledged either, so they are read again next run).
					n, err = 0, werr
				}
			}
			b.n, b.err, b.first = n, err, first
			if n > 0 || err != nil {
				full <- b // b belongs to the processor from here on
			} else {
				free <- b
			}
			if err != nil {
				return
			}
		}
	}()
	defer wg.Wait()
	p.state.CompareAndSwap(int32(StateStarting), int32(StateRunning))
	if ctx.Err() != nil {
		p.state.CompareAndSwap(int32(StateRunning), int32(StateStopping))
	}

	// finish writes what is pending, waits for outstanding writes and makes
	// the final acknowledgement.
	finish := func(flush bool) error {
		var ferr error
		if flush && d.accN > 0 {
			ferr = d.flushAcc()
		}
		for d.held < cap(d.slots) {
			select {
			case d.slots <- struct{}{}:
				d.held++
			case <-d.abort.Done():
				return d.aborted()
			}
		}
		stopAcker()
		d.ack()
		if ferr != nil {
			return ferr
		}
		return d.asyncErr()
	}
	fail := func(e error) error {
		stopReading()
		_ = finish(false) // acknowledge what completed before e
		return e
	}

	for {
		var timerC <-chan time.Time
		if d.timerOn {
			timerC = d.timer.C
		}
		select {
		case b, ok := <-full:
			if !ok {
				if err := d.abort.Err(); err != nil {
					return d.aborted()
				}
				if e := finish(true); e != nil {
					return fail(e)
				}
				return nil
			}
			if e := d.process(b.recs[:b.n]); e != nil {
				return fail(e)
			}
			switch {
			case b.err == nil, errors.Is(b.err, io.EOF):
			case (ctx.Err() != nil || d.abort.Err() != nil) && isContextErr(b.err):
				// the stop request, seen by the reader
			case ctx.Err() != nil && b.first:
				// The first Read failed because of the stop in a way that
				// does not say so (a connection closed under it).
				d.stoppedBeforeConnected("source", p.SourceName, b.err)
			default:
				if e := finish(true); e != nil {
					return fail(e)
				}
				return d.wrap("read source", b.err)
			}
			b.n, b.err = 0, nil
			free <- b
		case <-timerC:
			d.timerOn = false
			if e := d.flushAcc(); e != nil {
				return fail(e)
			}
		case <-d.failed:
			return fail(d.failErr)
		case <-d.abort.Done():
			return d.aborted()
		}
	}
}

// stoppedBeforeConnected logs that the run was stopped while the
// component what ("source", "sink") named name was still connecting, and
// so failed with err; the pipeline then ends cleanly.
func (d *driver) stoppedBeforeConnected(what, name string, err error) {
	msg := "stopped before " + what + " connected"
	if name != "" {
		msg = "stopped before " + what + " " + name + " connected"
	}
	attrs := []any{"pipeline", d.p.Name}
	if !isContextErr(err) {
		attrs = append(attrs, "error", d.p.redact(err.Error()))
	}
	d.p.logger().Info(msg, attrs...)
}

// isContextErr reports whether err is, or wraps, a context's end.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (d *driver) aborted() error {
	return d.wrap("stopped without draining", fmt.Errorf("%w: %w", ErrAborted, context.Cause(d.abort)))
}

// fail records an asynchronous failure (an async write or an
// acknowledgement) and stops reading.
func (d *driver) fail(err error) {
	d.failOnce.Do(func() {
		d.failErr = err
		close(d.failed)
		d.stopRead()
	})
}

func (d *driver) asyncErr() error {
	select {
	case <-d.failed:
		return d.failErr
	default:
		return nil
	}
}

// process runs the program over the records of one source batch and
// hands the kept ones to the sink.
func (d *driver) process(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	p := d.p
	p.Stats.In.Add(uint64(len(recs)))
	if p.Observer != nil {
		p.Observer.SourceBatch(p.Name, len(recs))
	}
	if t := recs[len(recs)-1].Time; !t.IsZero() {
		p.eventLag.Store(int64(time.Since(t)) + 1)
	}
	kept := 0
	for i := range recs {
		r := &recs[i]
		d.last, d.hasLast = r.Position, true
		keep, err := p.Program.Process(r)
		if err != nil {
			if e := d.programFailed(r, err); e != nil {
				return e
			}
			continue
		}
		if !keep {
			p.Stats.Dropped.Add(1)
			continue
		}
		if !d.batching {
			if kept != i {
				recs[kept], recs[i] = recs[i], recs[kept]
			}
			kept++
			continue
		}
		if d.accN == 0 && d.timer != nil {
			d.timer.Reset(time.Duration(p.Settings.SinkBatch.TimeoutMs) * time.Millisecond)
			d.timerOn = true
		}
		// Swap rather than copy: the source gets the batch slot's old
		// slices to reuse, the batch keeps the record's.
		d.acc[d.accN], *r = *r, d.acc[d.accN]
		d.accN++
		if d.accN == len(d.acc) {
			if err := d.flushAcc(); err != nil {
				return err
			}
		}
	}
	if !d.batching {
		return d.flush(recs[:kept])
	}
	if d.accN == 0 {
		d.seal() // only dropped or failed records since the last flush
	}
	return nil
}

// seal closes the open segment, first adding the records processed since
// the last seal (the tracker learns positions once per segment, not once
// per record).
func (d *driver) seal() {
	if d.hasLast {
		d.tr.Extend(d.last)
		d.hasLast = false
	}
	d.tr.Close()
}

func (d *driver) flushAcc() error {
	if d.timer != nil {
		d.timer.Stop()
		d.timerOn = false
	}
	n := d.accN
	d.accN = 0
	return d.flush(d.acc[:n])
}

// flush writes recs as one sink write covering the open segment, which it
// seals.
func (d *driver) flush(recs []Record) error {
	id := d.tr.Current()
	if len(recs) == 0 {
		d.seal()
		return nil
	}
	d.tr.Hold(id)
	d.seal()
	err := d.submit(d.p.Sink, recs, func() {
		d.p.Stats.Out.Add(uint64(len(recs)))
		d.tr.Release(id)
	}, func(err error) {
		d.fail(&RecordError{Pipeline: d.p.Name, Stream: recs[0].Stream, Position: recs[0].Position, Err: fmt.Errorf("sink acknowledged failure of %d records: %w", len(recs), err)})
	})
	if err == nil {
		return nil
	}
	return d.sinkFailed(id, recs, err)
}

// submit writes recs to s with retries. For a synchronous sink, durable
// runs before submit returns nil; for an AsyncSink it may run later, from
// another goroutine, and lost runs instead when the sink reports the
// records lost. A returned error means s did not take the records.
func (d *driver) submit(s Sink, recs []Record, durable func(), lost func(error)) error {
	as, ok := s.(AsyncSink)
	if !ok {
		err := d.withRetry(func() error { return d.timedWrite(s, recs) })
		if err == nil {
			durable()
		}
		return err
	}
	select {
	case d.slots <- struct{}{}:
	case <-d.failed:
		return d.failErr
	case <-d.abort.Done():
		return d.aborted()
	}
	n := len(recs)
	var start time.Time
	done := func(err error) {
		if d.p.Observer != nil {
			d.p.Observer.SinkWrite(d.p.Name, n, time.Since(start), err)
		}
		if err != nil {
			lost(err)
		} else {
			durable()
		}
		<-d.slots
	}
	err := d.withRetry(func() error {
		start = time.Now()
		err := as.WriteAsync(d.wctx, recs, done)
		if err != nil && d.p.Observer != nil {
			d.p.Observer.SinkWrite(d.p.Name, n, time.Since(start), err)
		}
		return err
	})
	if err != nil {
		<-d.slots
	}
	return err
}

func (d *driver) timedWrite(s Sink, recs []Record) error {
	start := time.Now()
	err := s.Write(d.wctx, recs)
	if d.p.Observer != nil {
		d.p.Observer.SinkWrite(d.p.Name, len(recs), time.Since(start), err)
	}
	return err
}

// withRetry runs attempt until it succeeds, fails with an error that is
// not retriable, or the retries of Settings.Retry are used up.
func (d *driver) withRetry(attempt func() error) error {
	r := d.p.Settings.Retry.normalized()
	for n := 0; ; n++ {
		err := attempt()
		if err == nil {
			if n > 0 {
				d.p.retry.Store(false)
			}
			return nil
		}
		if !IsRetriable(err) || n >= r.MaxRetries || d.wctx.Err() != nil {
			if n > 0 {
				d.p.retry.Store(false)
				err = fmt.Errorf("%w (after %d retries)", err, n)
			}
			return err
		}
		wait := r.Backoff(n)
		d.p.Stats.Retries.Add(1)
		d.p.retry.Store(true)
		d.p.setLastError(err)
		d.p.logger().Warn("sink write failed; retrying", "pipeline", d.p.Name, "retry", n+1, "of", r.MaxRetries,
			"backoff", wait, "error", d.p.redact(err.Error()))
		if serr := sleep(d.wctx, wait); serr != nil {
			d.p.retry.Store(false)
			return fmt.Errorf("%w (retry cancelled: %w)", err, d.aborted())
		}
	}
}

// sinkFailed applies on_error to a sink write of recs (segment id) that
// failed with err after its retries.
func (d *driver) sinkFailed(id SegmentID, recs []Record, err error) error {
	p := d.p
	if d.abort.Err() != nil {
		return d.aborted() // the write failed because the run was aborted
	}
	if p.Observer != nil {
		p.Observer.StageFailed(p.Name, "")
	}
	if p.Settings.OnError == OnErrorStop || errors.Is(err, ErrAborted) || d.asyncErr() != nil {
		return &RecordError{Pipeline: p.Name, Stream: recs[0].Stream, Position: recs[0].Position,
			Err: fmt.Errorf("sink write of %d records: %w", len(recs), err)}
	}
	// Isolate the records that fail: write them one at a time.
	if len(recs) > 1 {
		for i := range recs {
			one := recs[i : i+1]
			e := d.withRetry(func() error { return d.timedWrite(p.Sink, one) })
			if e == nil {
				p.Stats.Out.Add(1)
				continue
			}
			if ferr := d.recordFailed(id, &recs[i], "", e, false); ferr != nil {
				return ferr
			}
		}
	} else if ferr := d.recordFailed(id, &recs[0], "", err, false); ferr != nil {
		return ferr
	}
	d.tr.Release(id)
	return nil
}

// programFailed applies on_error to a record the program failed on.
func (d *driver) programFailed(r *Record, err error) error {
	stage := ""
	var se *StageError
	if errors.As(err, &se) {
		stage = se.Stage
	}
	if d.p.Observer != nil {
		d.p.Observer.StageFailed(d.p.Name, stage)
	}
	if d.p.Settings.OnError == OnErrorStop {
		return &RecordError{Pipeline: d.p.Name, Stream: r.Stream, Position: r.Position, Err: err}
	}
	return d.recordFailed(d.tr.Current(), r, stage, err, true)
}

// recordFailed skips or dead-letters r, which belongs to segment id.
func (d *driver) recordFailed(id SegmentID, r *Record, stage string, err error, inProgram bool) error {
	p := d.p
	where := "sink"
	if stage != "" {
		where = "transform " + stage
	}
	if p.Settings.OnError == OnErrorSkip {
		p.Stats.Failed.Add(1)
		if ok, suppressed := d.skipLog.allow(where); ok {
			p.logger().Warn("record skipped (on_error: skip)", "pipeline", p.Name, "where", where,
				"stream", r.Stream, "position", r.Position.Offset, "error", p.redact(err.Error()),
				"similar_suppressed", suppressed)
		}
		return nil
	}
	dl := DeadLetterRecord(r, DeadLetterInfo{
		Pipeline: p.Name, Stage: stage, Error: p.redact(err.Error()), Time: p.now(),
		Mask: maskIf(inProgram, p.Settings.DeadLetterMask),
	})
	d.tr.Hold(id)
	recs := []Record{dl}
	werr := d.submit(p.DeadLetter, recs, func() {
		p.Stats.Failed.Add(1)
		p.Stats.DeadLettered.Add(1)
		d.tr.Release(id)
	}, func(e error) {
		d.fail(&RecordError{Pipeline: p.Name, Stream: r.Stream, Position: r.Position, Err: fmt.Errorf("dead-letter sink %q lost the dead letter: %w", p.Settings.DeadLetterSink, e)})
	})
	if werr != nil {
		if d.abort.Err() != nil {
			return d.aborted()
		}
		return &RecordError{Pipeline: p.Name, Stream: r.Stream, Position: r.Position,
			Err: fmt.Errorf("dead-letter sink %q failed: %w (the record failed with: %v)", p.Settings.DeadLetterSink, werr, err)}
	}
	return nil
}

func maskIf(ok bool, m []string) []string {
	if ok {
		return m
	}
	return nil
}

// ack hands the tracker's acknowledged position to the source (and the
// state store) if it advanced.
func (d *driver) ack() {
	d.ackMu.Lock()
	defer d.ackMu.Unlock()
	pos, ok := d.tr.Acked()
	if !ok || (d.sent != nil && pos.Offset <= d.sent.Offset) || d.abort.Err() != nil {
		return
	}
	if err := d.p.Source.Ack(d.wctx, pos); err != nil {
		d.fail(d.wrap(fmt.Sprintf("ack position %d", pos.Offset), err))
		return
	}
	if d.resumes {
		if err := d.store.Put(d.p.Name, encodePosition(pos)); err != nil {
			d.fail(d.wrap("save state", err))
			return
		}
	}
	d.sent = &pos
	d.p.acked.Store(&pos)
}

// loadState hands a Stateful source its blob, and opens the state store
// of a Resumable source and resumes it.
func (d *driver) loadState() error {
	sf, stateful := d.p.Source.(Stateful)
	if stateful && d.p.Settings.StateDir == "" {
		sf.UseState(nil)
	}
	rs, ok := d.p.Source.(Resumable)
	if (!ok && !stateful) || d.p.Settings.StateDir == "" {
		return nil
	}
	st, err := state.Open(d.p.Settings.StateDir)
	if err != nil {
		return d.wrap("state", err)
	}
	if stateful {
		sf.UseState(stateBlob{st, d.p.Name + "\x00source"}) // file "<name>%00source.state": no pipeline key maps there
	}
	if !ok {
		return nil
	}
	v, ok, err := st.Get(d.p.Name)
	if err != nil {
		return d.wrap("load state", err)
	}
	d.store, d.resumes = st, true
	if !ok {
		return nil
	}
	pos, err := decodePosition(v)
	if err != nil {
		return d.wrap("load state", fmt.Errorf("%s: %w", st.Path(d.p.Name), err))
	}
	if err := rs.Resume(pos); err != nil {
		return d.wrap(fmt.Sprintf("resume source at position %d", pos.Offset), err)
	}
	d.sent = &pos
	d.p.acked.Store(&pos)
	return nil
}

// stateBlob is a StateBlob over one key of a state.Store.
type stateBlob struct {
	st  *state.Store
	key string
}

func (b stateBlob) Get() ([]byte, bool, error) { return b.st.Get(b.key) }
func (b stateBlob) Put(v []byte) error         { return b.st.Put(b.key, v) }
func (b stateBlob) Where() string              { return b.st.Path(b.key) }

type statePosition struct {
	Offset *uint64 `json:"offset"`
}

func encodePosition(p Position) []byte {
	b, _ := json.Marshal(statePosition{Offset: &p.Offset})
	return b
}

func decodePosition(b []byte) (Position, error) {
	var sp statePosition
	if err := json.Unmarshal(b, &sp); err != nil || sp.Offset == nil {
		return Position{}, fmt.Errorf("state holds no position: %q", b)
	}
	return Position{Offset: *sp.Offset}, nil
}

// logLimiter lets a message of each kind through once per interval.
type logLimiter struct {
	mu         sync.Mutex
	last       map[string]time.Time
	suppressed map[string]int
}

const logInterval = 10 * time.Second

func (l *logLimiter) allow(kind string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.suppressed = map[string]time.Time{}, map[string]int{}
	}
	now := time.Now()
	if t, ok := l.last[kind]; ok && now.Sub(t) < logInterval {
		l.suppressed[kind]++
		return false, 0
	}
	n := l.suppressed[kind]
	l.last[kind], l.suppressed[kind] = now, 0
	return true, n
}

// RunAll runs every pipeline concurrently and returns when all have
// finished. A pipeline that ends lets the others run on. The result joins
// the errors of the pipelines that failed.
func RunAll(ctx context.Context, ps []*Pipeline) error {
	return RunAllAbortable(ctx, context.WithoutCancel(ctx), ps)
}

// RunAllAbortable is RunAll with RunAbortable's abort context.
func RunAllAbortable(ctx, abort context.Context, ps []*Pipeline) error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.RunAbortable(ctx, abort)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
