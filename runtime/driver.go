package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"
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
	// OnErrorDeadLetter sends the record to the dead-letter target.
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

// inflightBatches bounds the batches between the reader and the processor,
// so a slow sink back-pressures the source.
const inflightBatches = 4

// Pipeline is one source → program → sink flow, ready to run. All fields
// are set by the back end that built it; Run does not modify them.
type Pipeline struct {
	Name     string
	Source   Source
	Program  Program
	Sink     Sink
	Settings Settings

	// Counters, safe to read concurrently while the pipeline runs.
	Stats Stats
}

// Stats are a pipeline's running counters.
type Stats struct {
	In      atomic.Uint64 // records read from the source
	Out     atomic.Uint64 // records accepted by the sink
	Dropped atomic.Uint64 // records a filter dropped
	Failed  atomic.Uint64 // records skipped by on_error: skip
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

type batch struct {
	recs []Record
	n    int
	err  error // terminal error of the reader after these records (io.EOF at the end)
}

// Run runs p until its source ends (io.EOF: returns nil), ctx is cancelled
// (the batches already read are processed and written, then Run returns
// nil), or a failure the error policy does not absorb (returned). It opens
// and closes the source and the sink.
func (p *Pipeline) Run(ctx context.Context) (err error) {
	wrap := func(what string, e error) error { return fmt.Errorf("pipeline %q: %s: %w", p.Name, what, e) }
	if e := p.Source.Open(ctx); e != nil {
		_ = p.Source.Close()
		return wrap("open source", e)
	}
	defer func() {
		if e := p.Source.Close(); e != nil && err == nil {
			err = wrap("close source", e)
		}
	}()
	if e := p.Sink.Open(ctx); e != nil {
		_ = p.Sink.Close()
		return wrap("open sink", e)
	}
	defer func() {
		if e := p.Sink.Close(); e != nil && err == nil {
			err = wrap("close sink", e)
		}
	}()

	size := p.Settings.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	free := make(chan *batch, inflightBatches)
	for range inflightBatches {
		free <- &batch{recs: make([]Record, size)}
	}
	full := make(chan *batch, inflightBatches)

	var limiter *rate.Limiter
	if p.Settings.RateLimit > 0 {
		limiter = rate.NewLimiter(rate.Limit(p.Settings.RateLimit), max(p.Settings.RateLimit, size))
		if p.Settings.RateLimit < size {
			size = p.Settings.RateLimit
		}
	}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		for {
			var b *batch
			select {
			case b = <-free:
			case <-readCtx.Done():
				return
			}
			n, err := p.Source.Read(readCtx, b.recs[:size])
			if limiter != nil && n > 0 {
				if werr := limiter.WaitN(readCtx, n); werr != nil && err == nil {
					err = werr
				}
			}
			b.n, b.err = n, err
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

	for b := range full {
		if e := p.process(ctx, b.recs[:b.n]); e != nil {
			stopReading()
			for range full { // let the reader finish
			}
			return e
		}
		switch {
		case b.err == nil, errors.Is(b.err, io.EOF):
		case errors.Is(b.err, context.Canceled) && ctx.Err() != nil:
		default:
			return wrap("read source", b.err)
		}
		b.n, b.err = 0, nil
		free <- b
	}
	return nil
}

// process runs the program over recs, writes the kept records and acks.
func (p *Pipeline) process(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	p.Stats.In.Add(uint64(len(recs)))
	kept := 0
	for i := range recs {
		keep, err := p.Program.Process(&recs[i])
		if err != nil {
			if p.Settings.OnError == OnErrorSkip {
				p.Stats.Failed.Add(1)
				continue
			}
			return &RecordError{Pipeline: p.Name, Stream: recs[i].Stream, Position: recs[i].Position, Err: err}
		}
		if !keep {
			p.Stats.Dropped.Add(1)
			continue
		}
		if kept != i {
			recs[kept], recs[i] = recs[i], recs[kept]
		}
		kept++
	}
	last := recs[len(recs)-1].Position
	if kept > 0 {
		// Records were swapped; the last position is the max over the batch.
		for i := range recs {
			if recs[i].Position.Offset > last.Offset {
				last = recs[i].Position
			}
		}
		if err := p.Sink.Write(ctx, recs[:kept]); err != nil {
			return &RecordError{Pipeline: p.Name, Stream: recs[0].Stream, Position: recs[0].Position, Err: fmt.Errorf("sink write: %w", err)}
		}
		p.Stats.Out.Add(uint64(kept))
	}
	if err := p.Source.Ack(ctx, last); err != nil {
		return fmt.Errorf("pipeline %q: ack position %d: %w", p.Name, last.Offset, err)
	}
	return nil
}

// RunAll runs every pipeline concurrently and returns when all have
// finished. A pipeline that ends lets the others run on. The result joins
// the errors of the pipelines that failed.
func RunAll(ctx context.Context, ps []*Pipeline) error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Run(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
