package httpsink

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/rivven/rivven-connect/runtime"
)

// UseErrorPolicy tells the sink the pipeline's on_error policy, before
// Open (the pipeline driver's part). With runtime.OnErrorStop and
// MaxInFlight above 1 the sink pipelines: WriteAsync encodes a write's records,
// starts its requests and returns, so up to MaxInFlight requests of
// successive writes are in flight at once (see WriteAsync). Otherwise —
// skip and dead_letter, whose record-by-record rewrite of a failed write
// needs the write's records, which only a failing Write can give the
// runtime; MaxInFlight 1, which keeps the requests in record order; and
// a sink never told — WriteAsync is Write.
func (s *Sink) UseErrorPolicy(p runtime.ErrorPolicy) {
	s.pipelined = p == runtime.OnErrorStop && s.cfg.MaxInFlight > 1
}

// WriteAsync implements runtime.AsyncSink. Unless the sink pipelines
// (UseErrorPolicy) it is Write, calling done(nil) before it returns on
// success. Pipelining, it encodes records (it keeps none of them), cuts
// them into requests like Write, starts each request once fewer than
// MaxInFlight requests of any write are in flight — it blocks until then
// — and returns nil; done then reports the write: nil once the server
// accepted every request of it, else the write's first failure in record
// order, which stops the pipeline before the write's first record. Each
// request is retried, classified and keyed exactly as in Write. From the
// first failure on the sink starts no new request and no retry, of any
// write: the writes it stops report errStopped, each after the failure
// that stopped them was reported (so the pipeline stops with that one),
// and the requests already in flight run to their answer, so writes
// before the failing one can still be acknowledged. ctx bounds the
// requests after WriteAsync returns; its end fails those in flight.
func (s *Sink) WriteAsync(ctx context.Context, records []runtime.Record, done func(error)) error {
	if !s.pipelined {
		if err := s.Write(ctx, records); err != nil {
			return err
		}
		done(nil)
		return nil
	}
	if len(records) == 0 {
		done(nil)
		return nil
	}
	fl := s.fl
	w := s.writes.Get().(*write)
	w.blk = s.blocks.Get().(*block)
	w.blk.refs.Store(1)
	w.reqs = s.split(w.blk, records, w.reqs)
	if len(w.reqs) == 0 { // the server has every record (s.done)
		w.blk.release()
		w.blk = nil
		s.writes.Put(w)
		done(nil)
		return nil
	}
	w.fl, w.ctx, w.done = fl, ctx, done
	w.pending.Store(int32(len(w.reqs)))
	for i := range w.reqs {
		rq := &w.reqs[i]
		if err := fl.acquire(ctx); err != nil {
			rq.err = err
			if !errors.Is(err, errStopped) {
				rq.err = s.failure(rq, outcome{text: "not sent: the pipeline was aborted"})
				fl.halt()
			}
			w.finished()
			continue
		}
		fl.wg.Go(func() {
			rq.err = s.sendOnce(ctx, w.blk, rq, fl)
			<-fl.sem
			if rq.err != nil && !errors.Is(rq.err, errStopped) {
				fl.halt()
			}
			w.finished()
		})
	}
	return nil
}

// sendOnce is send for a pipelined request, which is not sent at all
// once fl is halted.
func (s *Sink) sendOnce(ctx context.Context, blk *block, rq *request, fl *flight) error {
	select {
	case <-fl.stop:
		return errStopped
	default:
	}
	return s.send(ctx, blk, rq, fl.stop)
}

// flight is the state of the pipelined requests of one run: sem holds a
// token per request in flight (MaxInFlight), wg counts the goroutines of
// the requests and of the writes waiting to report, stop is closed at the
// first failure (no new request or retry), and reported once the done of
// a write with that failure (not errStopped) has returned.
type flight struct {
	sem      chan struct{}
	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
	reported chan struct{}
	repOnce  sync.Once
}

func newFlight(n int) *flight {
	return &flight{sem: make(chan struct{}, max(n, 1)), stop: make(chan struct{}), reported: make(chan struct{})}
}

// acquire takes a token of sem, or fails with errStopped once the flight
// is halted, or with ctx's error.
func (fl *flight) acquire(ctx context.Context) error {
	select {
	case <-fl.stop:
		return errStopped
	default:
	}
	select {
	case fl.sem <- struct{}{}:
		return nil
	case <-fl.stop:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (fl *flight) halt()         { fl.stopOnce.Do(func() { close(fl.stop) }) }
func (fl *flight) markReported() { fl.repOnce.Do(func() { close(fl.reported) }) }

// write is one pipelined WriteAsync: its encoded records (blk), its
// requests, and how many of them have not ended.
type write struct {
	s       *Sink
	fl      *flight
	blk     *block
	reqs    []request
	ctx     context.Context
	done    func(error)
	pending atomic.Int32
}

// finished counts one request of w as ended; after the last it releases
// w and reports the write (see WriteAsync).
func (w *write) finished() {
	if w.pending.Add(-1) != 0 {
		return
	}
	var first, stopped error
	for i := range w.reqs {
		switch err := w.reqs[i].err; {
		case err == nil:
		case errors.Is(err, errStopped):
			stopped = err
		case first == nil:
			first = err
		}
	}
	fl, ctx, done := w.fl, w.ctx, w.done
	w.blk.release()
	clear(w.reqs) // drop the errors
	w.fl, w.blk, w.ctx, w.done = nil, nil, nil, nil
	w.s.writes.Put(w)
	switch {
	case first != nil:
		done(first)
		fl.markReported()
	case stopped != nil:
		select {
		case <-fl.reported:
		case <-ctx.Done():
		}
		done(stopped)
	default:
		done(nil)
	}
}
