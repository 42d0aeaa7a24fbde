package cdc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// bigRows is the size of the large-transaction tests: 200,000 rows, or
// 1,000,000 with RIVVEN_LONG_TESTS=1.
func bigRows() int {
	if os.Getenv("RIVVEN_LONG_TESTS") == "1" {
		return 1_000_000
	}
	return 200_000
}

// openSmallWorkMem opens a source with protocol version proto whose
// walsender has logical_decoding_work_mem = 64kB (a startup parameter of
// the replication connection only), so every transaction larger than that
// is streamed (v2) or spilled to disk by the server (v1).
func openSmallWorkMem(t *testing.T, cfg Config, proto int) *Source {
	t.Helper()
	cfg.ProtocolVersion = proto
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.replCfg.RuntimeParams["logical_decoding_work_mem"] = "64kB"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Open(ctx); err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.proto != proto {
		t.Fatalf("protocol version %d, want %d", s.proto, proto)
	}
	return s
}

// spillFiles counts this process's open spill files (they are unlinked,
// so only /proc/self/fd shows them); -1 without /proc.
func spillFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.Contains(l, "rivven-pgcdc-") {
			n++
		}
	}
	return n
}

// waitNoSpillFiles fails unless every spill file is closed within 5 s.
func waitNoSpillFiles(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for spillFiles() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d spill files still open", spillFiles())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// source returns metadata.source.<key> of r.
func source(r runtime.Record, key string) string {
	src, _ := r.Meta.Get("source")
	v, _ := src.AsObject().Get(key)
	return v.AsString()
}

func txid(r runtime.Record) int64 {
	v, _ := r.Meta.Get("transaction_id")
	return v.AsInt()
}

func lsnOf(t *testing.T, s string) pglogrepl.LSN {
	t.Helper()
	l, err := pglogrepl.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// readIDs reads n records and checks that they are inserts whose first
// column is want(i), all in one transaction; it returns the last two
// records (only those are kept: a million records would not fit).
func readIDs(t *testing.T, s *Source, n int, want func(i int) int64) (prev, last runtime.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	batch := make([]runtime.Record, 1024)
	var xid int64
	var commit string
	for got := 0; got < n; {
		k, err := s.Read(ctx, batch[:min(len(batch), n-got)])
		if err != nil {
			t.Fatalf("read after %d of %d records: %v", got, n, err)
		}
		for _, r := range batch[:k] {
			if r.Op != runtime.OpInsert || r.After[0].AsInt() != want(got) {
				t.Fatalf("record %d is %s, want the insert of id %d", got, js(r), want(got))
			}
			if got == 0 {
				xid, commit = txid(r), source(r, "commit_lsn")
			} else if txid(r) != xid || source(r, "commit_lsn") != commit {
				t.Fatalf("record %d is of transaction %d committed at %s, want %d at %s", got, txid(r), source(r, "commit_lsn"), xid, commit)
			}
			prev, last = last, r
			got++
		}
	}
	return prev, last
}

// TestBigTransaction inserts bigRows() rows in one transaction with a
// 64kB logical_decoding_work_mem: under v2 the server streams it while in
// progress (through the spill file), under v1 it spills on its side. Each
// row arrives once, in order, with the transaction's metadata, and the
// slot does not pass the transaction before its last record is
// acknowledged.
func TestBigTransaction(t *testing.T) {
	n := bigRows()
	for _, proto := range []int{2, 1} {
		t.Run(fmt.Sprintf("v%d", proto), func(t *testing.T) {
			began := time.Now()
			db := cluster.NewDatabase(t)
			cluster.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY)`)
			s := openSmallWorkMem(t, config(db, "t"), proto)
			cluster.Exec(t, db, fmt.Sprintf(`INSERT INTO t SELECT generate_series(1, %d)`, n))
			inserted := time.Now()
			prev, last := readIDs(t, s, n, func(i int) int64 { return int64(i + 1) })
			read := time.Since(inserted)
			if proto == 2 && s.spilled.Load() == 0 {
				t.Fatal("the transaction was not streamed (nothing spilled)")
			}
			if proto == 1 && s.spilled.Load() != 0 {
				t.Fatalf("protocol v1 spilled %d bytes", s.spilled.Load())
			}
			if c := source(last, "commit_time"); !strings.HasSuffix(c, "Z") || last.Time.IsZero() {
				t.Fatalf("commit time %q / %v", c, last.Time)
			}
			commit := lsnOf(t, source(last, "commit_lsn"))
			if l := lsnOf(t, source(last, "lsn")); l >= commit || l <= lsnOf(t, source(prev, "lsn")) {
				t.Fatalf("record lsn %s not between the previous record's %s and the commit %s", l, source(prev, "lsn"), commit)
			}
			// All but the last record acknowledged: the slot stays before
			// the commit.
			if err := s.Ack(context.Background(), prev.Position); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2500 * time.Millisecond) // more than two status intervals
			if f := lsnOf(t, confirmedFlush(t, db)); f > commit {
				t.Fatalf("confirmed_flush_lsn %s passed the commit %s of a transaction not completely acknowledged", f, commit)
			}
			quiet(t, s, 500*time.Millisecond)
			if err := s.Ack(context.Background(), last.Position); err != nil {
				t.Fatal(err)
			}
			waitFlush(t, db, func(l string) bool { return lsnOf(t, l) > commit })
			waitNoSpillFiles(t)
			t.Logf("%d rows, protocol v%d: %v (setup and insert %v, read %v; spilled %d bytes)", n, proto, time.Since(began).Round(time.Millisecond),
				inserted.Sub(began).Round(time.Millisecond), read.Round(time.Millisecond), s.spilled.Load())
		})
	}
}

// TestStreamedRollbackDeliversNothing rolls back a streamed transaction:
// nothing of it arrives, and the next transaction does.
func TestStreamedRollbackDeliversNothing(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY)`)
	s := openSmallWorkMem(t, config(db, "t"), 2)
	quiet(t, s, 300*time.Millisecond) // the (empty) snapshot, then streaming starts
	ctx := context.Background()
	c := conn(t, db)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO t SELECT generate_series(1, 100000)`); err != nil {
		t.Fatal(err)
	}
	// Let the server stream part of it before the rollback.
	deadline := time.Now().Add(20 * time.Second)
	for s.spilled.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the transaction was not streamed (nothing spilled)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := spillFiles(); n == 0 {
		t.Fatal("no spill file is open while the transaction streams")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, db, `INSERT INTO t VALUES (-1)`)
	recs := read(t, s, 1)
	if recs[0].After[0].AsInt() != -1 {
		t.Fatalf("got %s, want the insert of -1", js(recs[0]))
	}
	if n := spillFiles(); n > 0 {
		t.Fatalf("%d spill files open after the rollback", n)
	}
	quiet(t, s, time.Second)
}

// TestStreamedSavepointRollback rolls back a savepoint (with a released
// nested one) inside a streamed transaction: only the rows outside it
// arrive, in order.
func TestStreamedSavepointRollback(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY)`)
	s := openSmallWorkMem(t, config(db, "t"), 2)
	cluster.Exec(t, db, `BEGIN;
INSERT INTO t SELECT generate_series(1, 30000);
SAVEPOINT a;
INSERT INTO t SELECT generate_series(30001, 40000);
SAVEPOINT b;
INSERT INTO t SELECT generate_series(40001, 50000);
RELEASE b;
INSERT INTO t SELECT generate_series(50001, 60000);
ROLLBACK TO a;
SAVEPOINT c;
INSERT INTO t SELECT generate_series(60001, 70000);
RELEASE c;
INSERT INTO t SELECT generate_series(70001, 90000);
COMMIT`)
	// 1..30000, then 60001..90000.
	readIDs(t, s, 60000, func(i int) int64 {
		if i < 30000 {
			return int64(i + 1)
		}
		return int64(i + 30001)
	})
	if s.spilled.Load() == 0 {
		t.Fatal("the transaction was not streamed (nothing spilled)")
	}
	quiet(t, s, time.Second)
}

// TestInterleavedStreamedTransactions streams two transactions at once:
// each arrives whole, in commit order.
func TestInterleavedStreamedTransactions(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY)`)
	s := openSmallWorkMem(t, config(db, "t"), 2)
	ctx := context.Background()
	a, err := conn(t, db).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := conn(t, db).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := a.Exec(ctx, `INSERT INTO t SELECT generate_series($1::int, $1::int + 4999)`, 1+i*5000); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Exec(ctx, `INSERT INTO t SELECT generate_series($1::int, $1::int + 4999)`, 100001+i*5000); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_, lastB := readIDs(t, s, 50000, func(i int) int64 { return int64(100001 + i) })
	_, lastA := readIDs(t, s, 50000, func(i int) int64 { return int64(1 + i) })
	if txid(lastA) == txid(lastB) {
		t.Fatal("both transactions have the same transaction_id")
	}
	if s.spilled.Load() == 0 {
		t.Fatal("the transactions were not streamed (nothing spilled)")
	}
	quiet(t, s, time.Second)
}

// TestLargeToast inserts a value larger than 1 MiB (stored out of line)
// and updates another column of the row: the insert has the value; the
// update has the unchanged-TOAST marker under REPLICA IDENTITY DEFAULT and
// the value under FULL. With 64kB of decoding memory the transactions are
// streamed (v2) or spilled by the server (v1).
func TestLargeToast(t *testing.T) {
	for _, proto := range []int{2, 1} {
		for _, ident := range []string{"DEFAULT", "FULL"} {
			t.Run(fmt.Sprintf("v%d/%s", proto, ident), func(t *testing.T) {
				db := cluster.NewDatabase(t)
				cluster.Exec(t, db, `CREATE TABLE docs (id int PRIMARY KEY, body text, n int)`,
					`ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL`, `ALTER TABLE docs REPLICA IDENTITY `+ident)
				s := openSmallWorkMem(t, config(db, "docs"), proto)
				// 40,000 md5 digests: 1,280,000 bytes.
				cluster.Exec(t, db, `INSERT INTO docs SELECT 1, string_agg(md5(i::text), ''), 0 FROM generate_series(1, 40000) i`,
					`UPDATE docs SET n = 1`)
				var want string
				if err := conn(t, db).QueryRow(context.Background(), `SELECT body FROM docs`).Scan(&want); err != nil {
					t.Fatal(err)
				}
				if len(want) <= 1<<20 {
					t.Fatalf("value of %d bytes, want more than 1 MiB", len(want))
				}
				recs := read(t, s, 2)
				if got := recs[0].After[1].AsString(); recs[0].Op != runtime.OpInsert || got != want {
					t.Fatalf("insert: op %s, body of %d bytes, want the %d-byte value", recs[0].Op, len(got), len(want))
				}
				up := recs[1]
				got := up.After[1].AsString()
				switch ident {
				case "DEFAULT":
					if got != UnchangedToast {
						t.Fatalf("update: body of %d bytes, want the marker %s", len(got), UnchangedToast)
					}
					if m := js(up); !strings.Contains(m, `"unchanged_toast":["body"]`) {
						t.Fatalf("metadata lacks unchanged_toast: %.300s", m)
					}
				case "FULL":
					if got != want || up.Before[1].AsString() != want {
						t.Fatalf("update: body of %d bytes (before: %d), want the %d-byte value", len(got), len(up.Before[1].AsString()), len(want))
					}
					if m := js(up); strings.Contains(m, `"unchanged_toast"`) {
						t.Fatal("metadata lists unchanged_toast under REPLICA IDENTITY FULL")
					}
				}
				if up.After[2].AsInt() != 1 {
					t.Fatalf("update: n = %v", up.After[2])
				}
				if proto == 2 && s.spilled.Load() < 1<<20 {
					t.Fatalf("the insert was not streamed (%d bytes spilled)", s.spilled.Load())
				}
			})
		}
	}
}

func TestProtocolVersionConfig(t *testing.T) {
	for _, v := range []int{-1, 3} {
		cfg := config("x")
		cfg.ProtocolVersion = v
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("protocol_version %d is not valid", v)) {
			t.Errorf("protocol_version %d: %v", v, err)
		}
	}
	for _, c := range []struct{ want, server, got int }{
		{0, 150004, 2}, {0, 140000, 2}, {0, 130011, 1}, {1, 150004, 1}, {2, 140000, 2}, {2, 130011, 0},
	} {
		got, err := protocolFor(c.want, c.server)
		if got != c.got || (err != nil) != (c.got == 0) {
			t.Errorf("protocolFor(%d, %d) = %d, %v; want %d", c.want, c.server, got, err, c.got)
		}
	}
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY)`)
	s := open(t, config(db, "t"))
	if s.proto != 2 {
		t.Fatalf("default protocol version on PostgreSQL 15: %d, want 2", s.proto)
	}
}

// TestStreamedTransactionAcrossReconnect terminates the walsender while a
// streamed transaction is in progress (part of it in the spill file): the
// next session gets the transaction again from its start, and every row
// arrives once.
func TestStreamedTransactionAcrossReconnect(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY)`)
	s := openSmallWorkMem(t, config(db, "t"), 2)
	cluster.Exec(t, db, `INSERT INTO t VALUES (0)`)
	ackAll(t, s, read(t, s, 1))
	ctx := context.Background()
	tx, err := conn(t, db).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO t SELECT generate_series(1, 50000)`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.spilled.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the transaction was not streamed (nothing spilled)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // status updates (the idle slot may advance past the transaction's start)
	cluster.Exec(t, db, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '`+slotOf(db)+`'`)
	if _, err := tx.Exec(ctx, `INSERT INTO t SELECT generate_series(50001, 100000)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	readIDs(t, s, 100000, func(i int) int64 { return int64(i + 1) })
	quiet(t, s, time.Second)
	waitNoSpillFiles(t)
}

// TestStatusUpdatesDuringLargeTransaction gives the walsender a 2 s
// wal_sender_timeout and reads a streamed transaction slowly: the status
// updates sent while the source waits keep the same connection alive (a
// timeout would reconnect and deliver the transaction again).
func TestStatusUpdatesDuringLargeTransaction(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY)`)
	cfg := config(db, "t")
	cfg.ProtocolVersion = 2
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.replCfg.RuntimeParams["logical_decoding_work_mem"] = "64kB"
	s.replCfg.RuntimeParams["wal_sender_timeout"] = "2s"
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	quiet(t, s, 300*time.Millisecond) // the (empty) snapshot, then streaming starts
	pid := func() (p int32) {
		t.Helper()
		if err := conn(t, db).QueryRow(ctx, `SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, slotOf(db)).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := pid()
	cluster.Exec(t, db, `INSERT INTO t SELECT generate_series(1, 50000)`)
	time.Sleep(3 * time.Second) // the source waits with a full buffer
	slow := func(i int) int64 {
		if i%10000 == 0 {
			time.Sleep(time.Second)
		}
		return int64(i + 1)
	}
	readIDs(t, s, 50000, slow)
	quiet(t, s, time.Second)
	if s.spilled.Load() == 0 {
		t.Fatal("the transaction was not streamed (nothing spilled)")
	}
	if after := pid(); after != before {
		t.Fatalf("the walsender changed from %d to %d: the connection timed out", before, after)
	}
}
