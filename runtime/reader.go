package runtime

import (
	"context"
	"sync"
)

// batch is one source Read's worth of records on its way from the reader
// to the processor.
type batch struct {
	recs  []Record
	n     int
	err   error // terminal error of the reader after these records (io.EOF at the end)
	first bool  // the result of the source's first Read
}

// reader reads the source on its own goroutine. inflightBatches batches
// circulate: the reader fills one taken from free and hands it to the
// processor through full; the processor hands it back through recycle.
// So a slow processor or sink back-pressures the source. The reader
// closes full when it ends: after a Read that returned an error (io.EOF
// included), or when its context ends.
type reader struct {
	free, full chan *batch
	done       sync.WaitGroup
}

// readSize returns the number of records to read at a time and the rate
// limiter (nil without Settings.RateLimit). With a limiter, a batch is no
// bigger than its burst: a batch passes only once all of it is granted.
func (d *driver) readSize() (int, *limiter) {
	size := d.p.Settings.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	var lim *limiter
	if d.p.Settings.RateLimit > 0 {
		lim = newLimiter(d.p.Settings.RateLimit, d.p.limitClock)
		size = min(size, lim.burst())
	}
	return size, lim
}

// startReader starts reading the source in batches of size records,
// paced by lim (may be nil), until ctx ends or a Read fails.
func (d *driver) startReader(ctx context.Context, size int, lim *limiter) *reader {
	rd := &reader{free: make(chan *batch, inflightBatches), full: make(chan *batch, inflightBatches)}
	for range inflightBatches {
		rd.free <- &batch{recs: make([]Record, size)}
	}
	rd.done.Add(1)
	go func() {
		defer rd.done.Done()
		defer close(rd.full)
		d.read(ctx, rd, size, lim)
	}()
	return rd
}

func (d *driver) read(ctx context.Context, rd *reader, size int, lim *limiter) {
	for first := true; ; first = false {
		var b *batch
		select {
		case b = <-rd.free:
		case <-ctx.Done():
			return
		}
		n, err := d.p.Source.Read(ctx, b.recs[:size])
		if lim != nil && n > 0 {
			if werr := lim.wait(ctx, n); werr != nil {
				// Not granted: the records do not pass (they are not
				// acknowledged either, so they are read again next run).
				n, err = 0, werr
			}
		}
		b.n, b.err, b.first = n, err, first
		if n > 0 || err != nil {
			rd.full <- b // b belongs to the processor from here on
		} else {
			rd.free <- b
		}
		if err != nil {
			return
		}
	}
}

// recycle hands a processed batch back to the reader.
func (rd *reader) recycle(b *batch) {
	b.n, b.err = 0, nil
	rd.free <- b
}

// wait waits for the reader goroutine to end.
func (rd *reader) wait() { rd.done.Wait() }
