package cdc

import (
	"context"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// Decoded records travel from the stream goroutine to Read in batches,
// not one at a time: every hand-off between goroutines may wake a thread,
// which costs more than decoding a row, and costs most when another
// process keeps the cores busy. The stream goroutine appends the records
// it decodes to its batch (session.out) and hands the batch over when it
// is full, and before a receive that would wait for the network (nothing
// left in the connection's read buffer): so records never wait for more
// data, and what arrived together is handed over together.
//
// A transaction's commit is recorded (Source.commits, which lets the flush
// position pass it) only once all of its records were handed over: the
// commits decoded while records of the batch are still with the stream
// goroutine wait with the batch (session.marks), and are dropped with it
// when it cannot be handed over (a stop, a failed session). So the flush
// position never passes a record that Read did not receive.
const (
	// batchRecords is the most records handed over at once.
	batchRecords = 256
	// queuedBatches is how many handed-over batches may wait for Read.
	queuedBatches = 4
)

// newBatch returns an empty batch, recycled from Read when one is free.
func (s *Source) newBatch() []runtime.Record {
	select {
	case b := <-s.free:
		return b[:0]
	default:
		return make([]runtime.Record, 0, batchRecords)
	}
}

// recycle gives a batch Read has copied out back to the stream goroutine.
func (s *Source) recycle(b []runtime.Record) {
	clear(b) // no references to delivered rows are kept
	select {
	case s.free <- b[:0]:
	default:
	}
}

// add appends a decoded record to the batch, handing the batch over when
// it is full.
func (ss *session) add(ctx context.Context, r runtime.Record) error {
	ss.out = append(ss.out, r)
	if len(ss.out) >= batchRecords {
		return ss.handOver(ctx)
	}
	return nil
}

// handOver hands the batch to Read (waiting while Read does not take it),
// then records the commits that waited for it.
func (ss *session) handOver(ctx context.Context) error {
	if len(ss.out) == 0 {
		return nil
	}
	if err := ss.push(ctx, ss.out); err != nil {
		return err
	}
	ss.out = ss.s.newBatch()
	if len(ss.marks) > 0 {
		s := ss.s
		s.mu.Lock()
		s.commits = append(s.commits, ss.marks...)
		s.advanceLocked()
		s.mu.Unlock()
		ss.marks = ss.marks[:0]
	}
	return nil
}

// push hands b to Read, sending status updates while Read is not taking
// records. It gives up when a drain begins (Read takes no more records:
// nothing after this can be confirmed) or ctx ends.
func (ss *session) push(ctx context.Context, b []runtime.Record) error {
	s := ss.s
	if s.draining.Load() {
		return errDrained
	}
	select {
	case s.recs <- b:
		return nil
	default:
	}
	// Read is behind: keep the status updates (and so the connection)
	// alive while waiting.
	for {
		now := time.Now()
		if !now.Before(ss.next) {
			if err := ss.status(ctx); err != nil {
				return err
			}
			now = time.Now()
		}
		if ss.timer == nil {
			ss.timer = time.NewTimer(ss.next.Sub(now))
		} else {
			ss.timer.Reset(ss.next.Sub(now))
		}
		select {
		case s.recs <- b:
			ss.timer.Stop()
			return nil
		case <-ctx.Done():
			ss.timer.Stop()
			return ctx.Err()
		case <-s.drainCh:
			ss.timer.Stop()
			return errDrained
		case <-ss.timer.C:
		}
	}
}

// commit ends the current transaction: its records are the ones up to the
// last offset decoded; its end LSN may be flushed once they are all
// handed over and acknowledged.
func (ss *session) commit(end pglogrepl.LSN) {
	s := ss.s
	ss.inTx = false
	s.mu.Lock()
	defer s.mu.Unlock()
	m := commitMark{last: s.seq.Load(), end: end, tx: s.handing}
	s.handing = txMark{}
	if len(ss.out) > 0 {
		ss.marks = append(ss.marks, m) // recorded when the batch is handed over
		return
	}
	s.commits = append(s.commits, m)
	s.advanceLocked()
}

// dropBatch forgets the records not handed over when the session ends
// (a stop, a failure): the commits waiting for them are not recorded, so
// the flush position stays before them. The first of those transactions
// may have had records handed over in earlier batches: it becomes the
// transaction being handed out again, which a graceful stop records as
// delivered in part (resume.go).
func (ss *session) dropBatch() {
	if len(ss.marks) > 0 {
		s := ss.s
		s.mu.Lock()
		s.handing = ss.marks[0].tx
		s.mu.Unlock()
	}
	clear(ss.out)
	ss.out, ss.marks = ss.out[:0], ss.marks[:0]
}

// take copies queued records into batch: it waits for the first ones
// (until ctx ends or the stream goroutine ended), then takes what is
// queued without waiting. ended reports that the stream goroutine ended
// and nothing is left.
func (s *Source) take(ctx context.Context, batch []runtime.Record) (n int, ended bool, err error) {
	for n < len(batch) {
		if len(s.cur) == 0 {
			var b []runtime.Record
			select {
			case b = <-s.recs:
			default:
				if n > 0 {
					return n, false, nil
				}
				select {
				case b = <-s.recs:
				case <-ctx.Done():
					return 0, false, ctx.Err()
				case <-s.done:
					// What was handed over before the goroutine ended is
					// delivered first, then its error.
					select {
					case b = <-s.recs:
					default:
						return 0, true, nil
					}
				}
			}
			s.cur, s.curBatch = b, b
		}
		k := copy(batch[n:], s.cur)
		n += k
		s.cur = s.cur[k:]
		if len(s.cur) == 0 {
			s.recycle(s.curBatch)
			s.cur, s.curBatch = nil, nil
		}
	}
	return n, false, nil
}
