package cdc

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// A publication wider than the selection (the user's own, covering tables
// of other pipelines): only the selected tables are snapshotted and
// streamed, and the unselected tables' changes still let the slot advance.
func TestSelectionFiltersAWiderPublication(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db,
		`CREATE TABLE users (id int PRIMARY KEY, name text)`,
		`CREATE TABLE orders (id int PRIMARY KEY, amount int)`,
		`INSERT INTO users VALUES (1, 'ann')`,
		`INSERT INTO orders VALUES (1, 100)`,
		`CREATE PUBLICATION p1 FOR TABLE users, orders`)
	s := open(t, config(db, "public.users"))
	snap := read(t, s, 1)
	if snap[0].Stream != "users" || snap[0].Op != runtime.OpSnapshot {
		t.Fatalf("snapshot record %s; want the users row", js(snap[0]))
	}
	ackAll(t, s, snap)
	cluster.Exec(t, db,
		`INSERT INTO orders VALUES (2, 200)`,
		`UPDATE orders SET amount = 1`,
		`DELETE FROM orders`,
		`TRUNCATE orders`,
		`INSERT INTO users VALUES (2, 'bob')`)
	got := read(t, s, 1)
	if got[0].Stream != "users" || got[0].Op != runtime.OpInsert {
		t.Fatalf("streamed %s; want the users insert (orders is not selected)", js(got[0]))
	}
	quiet(t, s, 500*time.Millisecond)
	ackAll(t, s, got)
	// check --connect says which published tables are ignored, and
	// checks the replica identity of the selected ones only.
	fs := probe(t, config(db, "public.users"))
	if !strings.Contains(fs, `ok selection: "p1" also publishes public.orders, which this source does not select`) ||
		strings.Contains(fs, "replica identity public.orders") {
		t.Errorf("probe:\n%s", fs)
	}
	// The slot passes the orders-only transactions and the users one.
	var end string
	if err := conn(t, db).QueryRow(context.Background(), `SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
		t.Fatal(err)
	}
	want, _ := pglogrepl.ParseLSN(end)
	waitFlush(t, db, func(lsn string) bool {
		got, _ := pglogrepl.ParseLSN(lsn)
		return got >= want
	})
}

// The row key: the primary key in key order, the replica identity index
// under USING INDEX, none under FULL without a primary key — the same in
// the snapshot and in the stream, and in metadata.key.
func TestRowKeyInSnapshotAndStream(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db,
		`CREATE TABLE pk (b text, a int, v text, PRIMARY KEY (a, b))`,
		`CREATE TABLE ix (id int PRIMARY KEY, code text NOT NULL, v text)`,
		`CREATE UNIQUE INDEX ix_code ON ix (code)`,
		`ALTER TABLE ix REPLICA IDENTITY USING INDEX ix_code`,
		`CREATE TABLE nokey (v text)`,
		`ALTER TABLE nokey REPLICA IDENTITY FULL`,
		`INSERT INTO pk VALUES ('x', 1, 'v')`, `INSERT INTO ix VALUES (1, 'c1', 'v')`, `INSERT INTO nokey VALUES ('v')`)
	s := open(t, config(db, "pk", "ix", "nokey"))
	recs := read(t, s, 3)
	ackAll(t, s, recs)
	cluster.Exec(t, db, `INSERT INTO pk VALUES ('y', 2, 'v')`, `DELETE FROM ix`, `INSERT INTO nokey VALUES ('w')`)
	recs = append(recs, read(t, s, 3)...)
	want := map[string]string{"pk": "a,b", "ix": "code", "nokey": ""}
	for _, r := range recs {
		if got := strings.Join(r.Schema.KeyNames(), ","); got != want[r.Stream] {
			t.Errorf("%s %s: row key %q; want %q", r.Op, r.Stream, got, want[r.Stream])
		}
		key, _ := r.Meta.Get("key")
		if (want[r.Stream] == "") != key.IsNull() {
			t.Errorf("%s %s: metadata.key %s", r.Op, r.Stream, runtime.AppendJSON(nil, key))
		}
	}
}

// A graceful stop leaves the slot's confirmed position at the end of the
// last acknowledged transaction, as the server reports it right after
// Close returns — also when the acknowledgement races the stream
// goroutine's decoding of the transaction's Commit — so the next run
// delivers none of it again.
func TestGracefulStopConfirmsEverythingAcknowledged(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE g (id int PRIMARY KEY)`)
	cfg := config(db, "g")
	cfg.HeartbeatIntervalSecs = 10 // no periodic update rescues the test
	blob := newBlob(t)
	s := openState(t, cfg, blob)
	quiet(t, s, 200*time.Millisecond) // empty snapshot
	for i := range 15 {
		cluster.Exec(t, db, fmt.Sprintf(`INSERT INTO g VALUES (%d)`, i))
		got := read(t, s, 1)
		if want := fmt.Sprintf(`{"id":%d}`, i); row(got[0], got[0].After) != want {
			t.Fatalf("run %d: got %s; want %s (delivered again, or lost)", i, row(got[0], got[0].After), want)
		}
		// Acknowledge at once and stop: the Commit may not be decoded yet.
		ackAll(t, s, got)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var end string
		if err := conn(t, db).QueryRow(context.Background(),
			`SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
			t.Fatal(err)
		}
		confirmed, _ := pglogrepl.ParseLSN(confirmedFlush(t, db))
		if e, _ := pglogrepl.ParseLSN(end); confirmed == 0 || confirmed > e {
			t.Fatalf("run %d: confirmed_flush_lsn %s (WAL end %s)", i, confirmed, end)
		}
		var m marker
		if err := json.Unmarshal(mustGet(t, blob), &m); err != nil {
			t.Fatal(err)
		}
		if rec, _ := pglogrepl.ParseLSN(m.Flushed); rec < confirmed {
			t.Fatalf("run %d: the marker records %s, behind the server's %s", i, m.Flushed, confirmed)
		}
		s = openState(t, cfg, blob)
	}
	quiet(t, s, 500*time.Millisecond)
}

func mustGet(t *testing.T, b runtime.StateBlob) []byte {
	t.Helper()
	v, ok, err := b.Get()
	if err != nil || !ok {
		t.Fatalf("state blob: %v (present %v)", err, ok)
	}
	return v
}

// A stop in the middle of the initial snapshot — also one that interrupts
// a snapshot query, which closes the source's SQL connection — drops the
// slot this run created and clears the marker.
func TestStopMidSnapshotDropsTheSlot(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE big (id int PRIMARY KEY, pad text)`,
		`INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g`)
	blob := newBlob(t)
	s := openState(t, config(db, "big"), blob)
	read(t, s, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a Read interrupted by the stop
	batch := make([]runtime.Record, 4096)
	for range 100 {
		if _, err := s.Read(ctx, batch); err != nil {
			break
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if slotExists(t, db, slotOf(db)) {
		t.Fatal("the slot this run created is still there after a stop mid-snapshot")
	}
	var m marker
	if err := json.Unmarshal(mustGet(t, blob), &m); err != nil || m.Slot != "" {
		t.Fatalf("marker after the slot was dropped: %+v (%v); want it cleared", m, err)
	}
}

// A stop at any moment of Open (connecting, provisioning, creating the
// slot) leaves no slot behind.
func TestStopDuringOpenLeavesNoSlot(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE o (id int PRIMARY KEY)`, `INSERT INTO o VALUES (1)`)
	cfg := config(db, "o")
	var delays []time.Duration
	for d := time.Duration(0); d <= 60*time.Millisecond; d += 3 * time.Millisecond {
		delays = append(delays, d)
	}
	opened := 0
	for _, d := range delays {
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		err = s.Open(ctx)
		cancel()
		if err == nil {
			opened++
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close after a stop %v into Open: %v", d, err)
		}
		if slotExists(t, db, slotOf(db)) {
			t.Fatalf("a stop %v into Open (open error: %v) left the slot behind", d, err)
		}
	}
	if opened == len(delays) {
		t.Fatalf("every Open finished within %v: the stops never interrupted one", delays[len(delays)-1])
	}
}

func slotExists(t *testing.T, db, slot string) bool {
	t.Helper()
	var names []string
	rows, err := conn(t, db).Query(context.Background(), `SELECT slot_name::text FROM pg_replication_slots`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return slices.Contains(names, slot)
}

// auto_create_slot: false never creates a slot: a missing one is an error
// that says how to create it.
func TestAutoCreateSlotFalse(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE a (id int PRIMARY KEY)`)
	cfg := config(db, "a")
	cfg.AutoCreateSlot = false
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = s.Open(ctx)
	_ = s.Close()
	if err == nil || !strings.Contains(err.Error(), "auto_create_slot is false") {
		t.Fatalf("open: %v; want the missing slot refused", err)
	}
	if slotExists(t, db, slotOf(db)) {
		t.Fatal("a slot was created with auto_create_slot: false")
	}
}
