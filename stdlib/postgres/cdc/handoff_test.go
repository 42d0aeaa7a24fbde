package cdc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// handoffSession is a session whose records go to Read through the
// hand-off channels, with no connection (status updates are not due).
func handoffSession() *session {
	ss := testSession()
	s := ss.s
	s.recs = make(chan []runtime.Record, queuedBatches)
	s.free = make(chan []runtime.Record, queuedBatches+2)
	s.done = make(chan struct{})
	s.drainCh = make(chan struct{})
	ss.next = time.Now().Add(time.Hour)
	return ss
}

// insert decodes one insert of id in its own transaction ending at end.
func insertTx(t *testing.T, ss *session, id string, end pglogrepl.LSN) {
	t.Helper()
	ctx := context.Background()
	for _, m := range []pgMsg{
		pgMsg{'B'}.u64(uint64(end)).u64(0).u32(1),
		pgMsg{'I'}.u32(7).u8('N').tuple(id, "x", "1", nil),
		pgMsg{'C'}.u8(0).u64(uint64(end)).u64(uint64(end)).u64(0),
	} {
		if err := ss.applyData(ctx, m, end, false); err != nil {
			t.Fatal(err)
		}
	}
}

// A commit is recorded (and may move the flush position) only once the
// records of its transaction were handed to Read; when they cannot be
// handed over, the commit is dropped with them.
func TestCommitWaitsForItsRecordsToBeHandedOver(t *testing.T) {
	ss := handoffSession()
	s := ss.s
	insertTx(t, ss, "1", 0x100)
	insertTx(t, ss, "2", 0x200)
	if len(s.commits) != 0 || len(ss.marks) != 2 {
		t.Fatalf("before the hand-over: recorded %v, waiting %v", s.commits, ss.marks)
	}
	if err := ss.handOver(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(ss.marks) != 0 || len(s.commits) != 2 || s.commits[1] != (commitMark{last: 2, end: 0x200, tx: txMark{commit: 0x200, first: 1}}) {
		t.Fatalf("after the hand-over: recorded %v, waiting %v", s.commits, ss.marks)
	}
	// Acknowledging the first record passes the first transaction only.
	if err := s.Ack(context.Background(), runtime.Position{Offset: 1}); err != nil {
		t.Fatal(err)
	}
	if s.flush != 0x100 {
		t.Fatalf("flush %s after the first record, want 0/100", s.flush)
	}
	// With nothing waiting, a commit is recorded at once.
	batch := make([]runtime.Record, 8)
	if n, _, err := s.take(context.Background(), batch); err != nil || n != 2 {
		t.Fatalf("took %d records: %v", n, err)
	}
	if err := ss.applyData(context.Background(), pgMsg{'B'}.u64(0x300).u64(0).u32(2), 0x300, false); err != nil {
		t.Fatal(err)
	}
	if err := ss.applyData(context.Background(), pgMsg{'C'}.u8(0).u64(0x300).u64(0x300).u64(0), 0x300, false); err != nil {
		t.Fatal(err)
	}
	if len(s.commits) != 2 || s.commits[1].end != 0x300 {
		t.Fatalf("empty transaction: recorded %v", s.commits)
	}
	// A drain: the batch is not handed over, and its commit is dropped.
	insertTx(t, ss, "4", 0x400)
	s.draining.Store(true)
	close(s.drainCh)
	if err := ss.handOver(context.Background()); !errors.Is(err, errDrained) {
		t.Fatalf("hand-over during a drain: %v", err)
	}
	if err := s.Ack(context.Background(), runtime.Position{Offset: 2}); err != nil {
		t.Fatal(err)
	}
	if s.flush != 0x300 || len(s.commits) != 0 {
		t.Fatalf("flush %s, recorded %v: want 0/300 and nothing past the records Read got", s.flush, s.commits)
	}
}

// Read gets the records in order, across batches and however it sizes
// its own; a full batch is handed over without waiting for the network.
func TestTakeKeepsOrderAcrossBatches(t *testing.T) {
	ss := handoffSession()
	s := ss.s
	ctx := context.Background()
	const n = batchRecords + 10
	failed := make(chan error, 1)
	go func() {
		defer close(s.done)
		for i := 1; i <= n; i++ {
			m := pgMsg{'I'}.u32(7).u8('N').tuple("1", "x", "1", nil)
			if err := ss.applyData(ctx, m, pglogrepl.LSN(i), false); err != nil {
				failed <- err
				return
			}
		}
		failed <- ss.handOver(ctx)
	}()
	var got []uint64
	batch := make([]runtime.Record, 7)
	for {
		k, ended, err := s.take(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range batch[:k] {
			got = append(got, r.Position.Offset)
		}
		if ended {
			break
		}
	}
	if err := <-failed; err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("read %d records, want %d", len(got), n)
	}
	for i, o := range got {
		if o != uint64(i+1) {
			t.Fatalf("record %d has offset %d", i, o)
		}
	}
}
