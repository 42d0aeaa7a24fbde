package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// driver is the state of one run of a pipeline. Its work is split by role:
// connect.go opens and closes the source and sinks, reader.go reads the
// source on its own goroutine, process.go runs the program and batches
// for the sink, write.go writes to the sink, onerror.go applies on_error,
// acker.go acknowledges positions to the source, statedir.go keeps them in
// state_dir; this file wires them together and ends the run.
type driver struct {
	p     *Pipeline
	wctx  context.Context // context of writes and acks: ends only on abort
	abort context.Context
	lease Lease // the singleton's lease; nil on a single node

	tr        *AckTracker
	ackCh     chan struct{}
	ackMu     sync.Mutex
	sent      *Position // last position acknowledged to the source in this run
	stopAcker func()    // stops the acker goroutine and waits for it; idempotent
	store     StateBlob // where the acknowledged position is saved (resumes)
	resumes   bool

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

// run is one run of the pipeline: it prepares the source, opens the
// components, starts the acker and the reader, and moves records (loop)
// until the source ends, a stop, a failure or an abort; the deferred
// calls stop the reader and the acker and close the components.
func (d *driver) run(ctx context.Context) (err error) {
	p := d.p
	if err := d.prepare(); err != nil {
		return err
	}
	opened, stopped, err := d.open(ctx)
	defer func() { err = d.close(opened, err) }()
	if err != nil || stopped {
		return err
	}
	p.step.Store(nil)
	size, limiter := d.readSize()
	d.startDelivery()

	readCtx, stopReading := context.WithCancel(ctx)
	d.stopRead = stopReading
	defer stopReading()
	stopOnAbort := context.AfterFunc(d.abort, stopReading)
	defer stopOnAbort()
	stopping := context.AfterFunc(ctx, p.enterStopping)
	defer stopping()

	d.startAcker()
	defer d.stopAcker()
	rd := d.startReader(readCtx, size, limiter)
	defer rd.wait()

	p.state.CompareAndSwap(int32(StateStarting), int32(StateRunning))
	if ctx.Err() != nil {
		p.enterStopping()
	}
	return d.loop(ctx, rd)
}

// enterStopping moves a running pipeline to StateStopping (a stop was
// requested: it drains).
func (p *Pipeline) enterStopping() {
	p.state.CompareAndSwap(int32(StateRunning), int32(StateStopping))
}

// prepare checks what the run needs from the back end and hands the
// source, the sink, the dead-letter sink and the program their loggers
// (runtime.Logged),
// the sinks their retry report (RetryReported) and the source its state
// (statedir.go), before anything opens.
func (d *driver) prepare() error {
	p := d.p
	if p.Settings.OnError == OnErrorDeadLetter && p.DeadLetter == nil {
		return d.wrap("on_error: dead_letter", fmt.Errorf("dead-letter sink %q was not instantiated by this back end", p.Settings.DeadLetterSink))
	}
	if l, ok := p.Source.(Logged); ok {
		l.UseLogger(p.logger().With("source", p.SourceName))
	}
	if l, ok := p.Sink.(Logged); ok {
		l.UseLogger(p.logger().With("sink", p.SinkName))
	}
	if l, ok := p.DeadLetter.(Logged); ok {
		l.UseLogger(p.logger().With("sink", p.Settings.DeadLetterSink))
	}
	if l, ok := p.Program.(Logged); ok {
		l.UseLogger(p.logger()) // its batch steps' (a plugin's log calls)
	}
	if d.lease != nil {
		for _, c := range []any{p.Source, p.Sink, p.DeadLetter} {
			if u, ok := c.(LeaseUser); ok {
				u.UseLease(d.lease)
			}
		}
	}
	retried := func(err error) {
		p.stats().Retries.Add(1)
		p.setLastError(err)
	}
	for _, s := range []Sink{p.Sink, p.DeadLetter} {
		if r, ok := s.(RetryReported); ok {
			r.UseRetryReport(retried)
		}
	}
	if u, ok := p.Sink.(ErrorPolicyUser); ok {
		u.UseErrorPolicy(p.Settings.OnError)
	}
	if u, ok := p.DeadLetter.(ErrorPolicyUser); ok {
		u.UseErrorPolicy(OnErrorStop)
	}
	return d.loadState()
}

// startDelivery sets up what carries records from the program to the
// source's acknowledgement: the ack tracker (which wakes the acker), the
// slots of outstanding asynchronous writes, and the sink batch.
func (d *driver) startDelivery() {
	d.ackCh = make(chan struct{}, 1)
	d.tr = NewAckTracker(func() {
		select {
		case d.ackCh <- struct{}{}:
		default:
		}
	})
	d.slots = make(chan struct{}, inflightBatches)
	d.startBatching()
}

// loop processes the batches the reader hands over and flushes the sink
// batch when its timeout fires, until the run ends: at the source's end
// or a stop (after draining: nil or the drain's failure), on a failure
// (what completed before it is acknowledged; the failure is returned), or
// on abort (nothing more is acknowledged).
func (d *driver) loop(ctx context.Context, rd *reader) error {
	for {
		var timerC <-chan time.Time
		if d.timerOn {
			timerC = d.timer.C
		}
		select {
		case b, ok := <-rd.full:
			if !ok {
				// The reader is done: the source ended or reading stopped.
				if d.abort.Err() != nil {
					return d.aborted()
				}
				return d.end()
			}
			if e := d.process(b.recs[:b.n]); e != nil {
				return d.failRun(e)
			}
			if e := d.readError(ctx, b); e != nil {
				if fe := d.end(); fe != nil {
					return fe
				}
				return e
			}
			rd.recycle(b)
		case <-timerC:
			d.timerOn = false
			if e := d.flushAcc(); e != nil {
				return d.failRun(e)
			}
		case <-d.failed:
			return d.failRun(d.failErr)
		case <-d.abort.Done():
			return d.aborted()
		}
	}
}

// readError classifies the error the reader ended with after batch b. It
// is nil for no error, the source's end (io.EOF) and the stop request
// (a context error once ctx or abort ended; or, once ctx ended, any error
// of the source's first Read — a connection closed under it — which is
// logged as a stop before the source connected); any other error fails
// the run.
func (d *driver) readError(ctx context.Context, b *batch) error {
	switch {
	case b.err == nil, errors.Is(b.err, io.EOF):
	case (ctx.Err() != nil || d.abort.Err() != nil) && isContextErr(b.err):
		// the stop request, seen by the reader
	case ctx.Err() != nil && b.first:
		d.stoppedBeforeConnected("source", d.p.SourceName, b.err)
	default:
		return d.wrap("read source", b.err)
	}
	return nil
}

// end drains the run after the last batch (writing the sink batch) and
// returns nil, or the failure the drain ran into.
func (d *driver) end() error {
	if e := d.drain(true); e != nil {
		return d.failRun(e)
	}
	return nil
}

// failRun ends the run on failure e: it stops reading, acknowledges what
// completed before e (without writing the sink batch) and returns e.
func (d *driver) failRun(e error) error {
	d.stopRead()
	_ = d.drain(false)
	return e
}

// drain writes the pending sink batch (when flush), has a HoldingSink
// store what it holds (when flush), waits for every outstanding
// asynchronous write, stops the acker and makes the final
// acknowledgement. It returns the flush's failure, else the first
// asynchronous one; on abort it stops waiting and returns the abort.
func (d *driver) drain(flush bool) error {
	var ferr error
	if flush && d.accN > 0 {
		ferr = d.flushAcc()
	}
	if ferr == nil {
		ferr = d.settleHeld(flush)
	}
	for d.held < cap(d.slots) {
		select {
		case d.slots <- struct{}{}:
			d.held++
		case <-d.abort.Done():
			return d.aborted()
		}
	}
	d.stopAcker()
	d.ack()
	if ferr != nil {
		return ferr
	}
	return d.asyncErr()
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
