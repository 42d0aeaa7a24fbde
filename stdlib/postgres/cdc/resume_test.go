package cdc

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// openResume opens a source with state blob b and protocol version proto;
// streamed makes the walsender stream every transaction over 64kB (v2).
func openResume(t *testing.T, cfg Config, b runtime.StateBlob, proto int, streamed bool) *Source {
	t.Helper()
	cfg.ProtocolVersion = proto
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.UseState(b)
	if streamed {
		s.replCfg.RuntimeParams["logical_decoding_work_mem"] = "64kB"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Open(ctx); err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ids returns the id column of recs.
func ids(recs []runtime.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.After[r.Schema.Index("id")].AsInt()
	}
	return out
}

// partialOf returns the marker's partial transaction.
func partialOf(t *testing.T, b runtime.StateBlob) *partialTx {
	t.Helper()
	var m marker
	if err := json.Unmarshal(mustGet(t, b), &m); err != nil {
		t.Fatal(err)
	}
	return m.Partial
}

// A graceful stop inside a transaction: the next run delivers the rest of
// it and nothing of what was acknowledged — also when the transaction
// arrives streamed in one run and whole in the other (the same commit
// LSN, the same changes in the same order).
func TestStopInsideATransactionResumesAfterIt(t *testing.T) {
	for _, c := range []struct {
		name               string
		proto1, proto2     int
		streamed1, stream2 bool
	}{
		{"v1", 1, 1, false, false},
		{"streamed-then-whole", 2, 1, true, false},
		{"whole-then-streamed", 1, 2, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			untilStreamed(t, func() bool {
				db := cluster.NewDatabase(t)
				cluster.Exec(t, db, `CREATE TABLE r (id bigint PRIMARY KEY, v text)`)
				cfg := config(db, "r")
				// Status updates (each answered by a keepalive, which lets an idle
				// slot advance to the WAL end) only when prompted: one during the
				// INSERT would confirm a position inside the transaction, and the
				// server streams only the part of it decoded after that position.
				cfg.HeartbeatIntervalSecs = 60
				blob := newBlob(t)
				s := openResume(t, cfg, blob, c.proto1, c.streamed1)
				quiet(t, s, 200*time.Millisecond) // empty snapshot
				cluster.Exec(t, db,
					`INSERT INTO r SELECT g, repeat('v', 50) FROM generate_series(1, 1000) g`,
					`INSERT INTO r VALUES (1001, 'after')`)
				// 300 handed out, 250 acknowledged: the stop is inside the
				// transaction, and not at the end of what was handed out.
				got := read(t, s, 300)
				if c.streamed1 && s.spilled.Load() == 0 {
					abandon(s)
					return false
				}
				ackAll(t, s, got[:250])
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				p := partialOf(t, blob)
				if p == nil || p.Delivered != 250 {
					t.Fatalf("marker partial %+v; want 250 delivered", p)
				}
				s = openResume(t, cfg, blob, c.proto2, c.stream2)
				rest := read(t, s, 751)
				if c.stream2 && s.spilled.Load() == 0 {
					abandon(s)
					return false
				}
				for i, id := range ids(rest) {
					if id != int64(251+i) {
						t.Fatalf("after the stop, record %d has id %d; want %d (ids 1..250 were acknowledged)", i, id, 251+i)
					}
				}
				quiet(t, s, 300*time.Millisecond)
				ackAll(t, s, rest)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if p := partialOf(t, blob); p != nil {
					t.Errorf("marker partial %+v after the transaction was acknowledged; want none", p)
				}
				s = openResume(t, cfg, blob, c.proto2, c.stream2)
				quiet(t, s, 300*time.Millisecond)
				return true
			})
		})
	}
}

// untilStreamed runs a case (run) that needs the server to stream a
// transaction it sends again, and runs it again, on a new database, when
// run reports that the server did not: it streams only what it decodes
// past the slot's confirmed position, which a status update answering a
// keepalive sent while the INSERT was being written (the WAL writer
// flushes it under load) may have moved into the transaction. That is
// the server's timing, not the source's behaviour. Three misses fail.
func untilStreamed(t *testing.T, run func() bool) {
	t.Helper()
	for attempt := 1; !run(); attempt++ {
		if attempt == 3 {
			t.Fatal("the server did not stream the transaction in 3 attempts")
		}
		t.Logf("attempt %d: the server did not stream the transaction; again", attempt)
	}
}

// A stop that acknowledged nothing new keeps the count, one that
// acknowledged more raises it, and a changed selection delivers the
// transaction again in full (the count was taken under another one).
func TestPartialTransactionCountHolds(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE r (id bigint PRIMARY KEY, v text)`, `CREATE TABLE o (id bigint PRIMARY KEY)`)
	cfg := config(db, "r")
	blob := newBlob(t)
	s := openResume(t, cfg, blob, 1, false)
	quiet(t, s, 200*time.Millisecond)
	cluster.Exec(t, db, `INSERT INTO r SELECT g, 'v' FROM generate_series(1, 100) g`)
	ackAll(t, s, read(t, s, 40))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing new acknowledged: the count stays 40.
	s = openResume(t, cfg, blob, 1, false)
	if got := ids(read(t, s, 1)); got[0] != 41 {
		t.Fatalf("first id %d; want 41", got[0])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if p := partialOf(t, blob); p == nil || p.Delivered != 40 {
		t.Fatalf("marker partial %+v; want 40 still", p)
	}
	// Ten more acknowledged: 50.
	s = openResume(t, cfg, blob, 1, false)
	ackAll(t, s, read(t, s, 10))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if p := partialOf(t, blob); p == nil || p.Delivered != 50 {
		t.Fatalf("marker partial %+v; want 50", p)
	}
	// Another selection: the count does not apply, the transaction is
	// delivered in full.
	cfg2 := config(db, "r", "o")
	s = openResume(t, cfg2, blob, 1, false)
	all := read(t, s, 100)
	if got := ids(all); got[0] != 1 || got[99] != 100 {
		t.Fatalf("under another selection: ids %d..%d; want 1..100", got[0], got[99])
	}
	ackAll(t, s, all)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if p := partialOf(t, blob); p != nil {
		t.Errorf("marker partial %+v after the transaction was acknowledged; want none", p)
	}
}
