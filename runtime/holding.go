package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// HoldingSink is a Sink that keeps the records of many writes before it
// stores them together, in units it decides (the s3 sink stores a set of
// objects at once), so a record may become durable long after the write
// that carried it — after any number of later writes.
//
// The driver calls Hold instead of Write and WriteAsync, and does not
// bound how many writes are held: the sink bounds its own memory (its
// units' size) and back-pressures by blocking in Hold. The driver
// acknowledges positions only at the ends of the pieces Hold makes, so a
// sink whose units end at piece ends makes every acknowledged position a
// unit boundary: a replay from it starts a new unit, as the run that
// acknowledged it did.
//
// Lifecycle: Open; Hold from one goroutine; Settle once when the driver
// drains (the source ended, or a graceful stop); Close exactly once. Write
// must still store durably before it returns: the driver calls it for
// dead letters and for on_error's record-by-record isolation after a
// failed Hold. When the run fails or is aborted Settle is not called;
// Close then discards what is held without storing it, and no done is
// called after Close returns (the records are replayed on the next
// start).
type HoldingSink interface {
	Sink
	// Hold takes recs and must not retain the slice or the records after
	// returning. It divides recs into consecutive pieces, each inside one
	// unit, by calling piece(i) for increasing i, the last call with
	// i = len(recs)-1: piece(i) makes the records after the previous
	// call's i, through recs[i], one piece. The sink keeps each unit's
	// pieces and, once the unit is stored or lost, passes them all to
	// HeldStored in one call (exactly once per piece, from any goroutine).
	// When Hold returns an error it took none of recs and called piece
	// never; the driver treats the error like a failed Write (retries
	// when Retriable, then on_error). Hold may block while earlier units
	// are being stored. ctx ends only when the run is aborted.
	Hold(ctx context.Context, recs []Record, piece func(i int) HeldPiece) error
	// Settle stores every unit the sink holds and returns once every piece
	// has been passed to HeldStored: nil when all were stored, else the
	// first failure. ctx ends only when the run is aborted.
	Settle(ctx context.Context) error
}

// HeldPiece is one piece of a HoldingSink's Hold: records the sink keeps
// in one unit. Its zero value is not a piece.
type HeldPiece struct {
	done func(error)
}

// HeldStored reports the pieces of one unit stored (err nil) or lost (the
// pipeline then stops with its position before the first of them). It
// releases them last to first, so the acknowledged position moves past the
// whole unit at once and never stops inside it; a crash then leaves the
// source's position at a unit's end. It may be called from any goroutine.
func HeldStored(pieces []HeldPiece, err error) {
	if err != nil { // the first failure names the unit's first record
		for _, p := range pieces {
			if p.done != nil {
				p.done(err)
			}
		}
		return
	}
	for i := len(pieces) - 1; i >= 0; i-- {
		if pieces[i].done != nil {
			pieces[i].done(err)
		}
	}
}

// flushHeld is flush for a HoldingSink: recs (kept records of the open
// segment, not yet sealed) go to hs.Hold, and each piece hs makes becomes
// a segment of its own, sealed at the piece's last record (the last piece
// at the last record processed, d.last), held until its done.
func (d *driver) flushHeld(hs HoldingSink, recs []Record) error {
	var start int
	var pieceErr error
	piece := func(i int) HeldPiece {
		if i < start || i >= len(recs) || pieceErr != nil {
			if pieceErr == nil {
				pieceErr = fmt.Errorf("sink made a piece ending at record %d of a write of %d after one ending at %d", i, len(recs), start-1)
			}
			return HeldPiece{}
		}
		n := i - start + 1
		first, stream := recs[start].Position, recs[start].Stream
		id := d.tr.Current()
		d.tr.Hold(id)
		if i == len(recs)-1 {
			d.seal()
		} else {
			d.tr.Extend(recs[i].Position)
			d.tr.Close()
		}
		start = i + 1
		var once sync.Once
		return HeldPiece{done: func(err error) {
			once.Do(func() {
				if err != nil {
					d.fail(&RecordError{Pipeline: d.p.Name, Stream: stream, Position: first,
						Err: fmt.Errorf("sink lost %d held records: %w", n, err)})
					return
				}
				d.p.stats().Out.Add(uint64(n))
				d.tr.Release(id)
			})
		}}
	}
	err := d.withRetry(func() error {
		t0 := time.Now()
		err := hs.Hold(d.wctx, recs, piece)
		if d.p.Observer != nil {
			d.p.Observer.SinkWrite(d.p.Name, len(recs), time.Since(t0), err)
		}
		if err == nil && start != len(recs) && pieceErr == nil {
			pieceErr = fmt.Errorf("sink took %d records but made pieces of %d", len(recs), start)
		}
		return err
	})
	if pieceErr != nil {
		return d.wrap("sink", pieceErr)
	}
	if err == nil {
		return nil
	}
	id := d.tr.Current()
	d.tr.Hold(id)
	d.seal()
	return d.sinkFailed(id, recs, err)
}

// settleHeld has a HoldingSink store what it holds when the driver drains
// with flush (the source ended or a graceful stop); it returns once every
// piece is stored or lost, or the run is aborted.
func (d *driver) settleHeld(flush bool) error {
	hs, ok := d.p.Sink.(HoldingSink)
	if !ok || !flush {
		return nil
	}
	if err := hs.Settle(d.wctx); err != nil {
		if d.abort.Err() != nil {
			return d.aborted()
		}
		return d.wrap("sink: store held records", err)
	}
	return nil
}
