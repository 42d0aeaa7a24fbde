package runtime

import (
	"fmt"
	"time"
)

// BatchProgram is a Program with a stage that works on a whole source
// batch (enrich: one lookup for the batch's keys). The driver calls
// ProcessBatch once per source batch instead of Process per record.
//
// ProcessBatch runs the program over recs in place and returns, for each
// record by index, what Process would have returned for it (a failure
// leaves that record as the failing stage found it). The slice belongs to
// the program and is valid until the next call. Like Process, it is never
// called concurrently for one pipeline.
type BatchProgram interface {
	Program
	ProcessBatch(recs []Record) []Outcome
}

// Outcome is one record's result from BatchProgram.ProcessBatch: keep
// false when a stage dropped it, Err a *StageError when one failed.
type Outcome struct {
	Keep bool
	Err  error
}

// startBatching sets up the sink batch (Settings.SinkBatch): kept records
// gather in acc until it is full or its timer fires, then go to the sink
// as one write. Without it each source batch's kept records are one write.
func (d *driver) startBatching() {
	sb := d.p.Settings.SinkBatch
	if !sb.Enabled() {
		return
	}
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

// process runs the program over the records of one source batch and
// hands the kept ones to the sink.
func (d *driver) process(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	p := d.p
	p.stats().In.Add(uint64(len(recs)))
	if p.Observer != nil {
		p.Observer.SourceBatch(p.Name, len(recs))
	}
	if t := recs[len(recs)-1].Time; !t.IsZero() {
		p.eventLag.Store(int64(time.Since(t)) + 1)
		if p.parent != nil {
			p.parent.eventLag.Store(int64(time.Since(t)) + 1)
		}
	}
	// The segment learns the position of the last record processed when it
	// is sealed: the batch's last one, read before the swaps below move it,
	// or on a flush inside the batch the record that filled the sink batch.
	// (Copying each record's position as it goes costs a few percent of the
	// driver's per-record time.)
	last := recs[len(recs)-1].Position
	var outs []Outcome
	if bp, ok := p.Program.(BatchProgram); ok {
		outs = bp.ProcessBatch(recs)
	}
	kept := 0
	for i := range recs {
		r := &recs[i]
		var keep bool
		var err error
		if outs != nil {
			keep, err = outs[i].Keep, outs[i].Err
		} else {
			keep, err = p.Program.Process(r)
		}
		if err != nil {
			if e := d.programFailed(r, err); e != nil {
				return e
			}
			continue
		}
		if !keep {
			p.stats().Dropped.Add(1)
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
			d.last, d.hasLast = d.acc[d.accN-1].Position, true
			if err := d.flushAcc(); err != nil {
				return err
			}
		}
	}
	d.last, d.hasLast = last, true
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
	if hs, ok := d.p.Sink.(HoldingSink); ok {
		return d.flushHeld(hs, recs)
	}
	d.tr.Hold(id)
	d.seal()
	// The callbacks may run after an asynchronous sink returned, when the
	// reader may already refill recs' slots: they use copies.
	n, stream, first := len(recs), recs[0].Stream, recs[0].Position
	err := d.submit(d.p.Sink, recs, func() {
		d.p.stats().Out.Add(uint64(n))
		d.tr.Release(id)
	}, func(err error) {
		d.fail(&RecordError{Pipeline: d.p.Name, Stream: stream, Position: first, Err: fmt.Errorf("sink acknowledged failure of %d records: %w", n, err)})
	})
	if err == nil {
		return nil
	}
	return d.sinkFailed(id, recs, err)
}
