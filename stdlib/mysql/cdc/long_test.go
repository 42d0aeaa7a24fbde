package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// The long tests: a snapshot of many rows under concurrent writes, and one
// transaction of many rows. The default run uses small sizes;
// RIVVEN_LONG_TESTS=1 (make soak) the sizes of the issue: a 1,000,000-row
// snapshot and a 200,000-row transaction.

// longSize returns small, or long with RIVVEN_LONG_TESTS=1.
func longSize(small, long int) int {
	if os.Getenv("RIVVEN_LONG_TESTS") == "1" {
		return long
	}
	return small
}

// longFill inserts rows 1..n into table tbl of db with longRowSQL's
// values, in statements of at most 100,000 rows (MariaDB's sequence
// engine: seq_1_to_N).
func longFill(t *testing.T, db, tbl string, n int) {
	t.Helper()
	for from := 1; from <= n; from += 100_000 {
		to := min(from+100_000-1, n)
		server.Exec(t, db, fmt.Sprintf("INSERT INTO %s SELECT %s FROM seq_%d_to_%d", tbl, longRowSQL, from, to))
	}
}

// longRowSQL gives row seq its initial values (longInitial in Go).
const longRowSQL = "seq, seq * 7 - 3, CONCAT('row-', seq), IF(seq % 10 = 0, NULL, seq / 100)"

// longInitial is the checksum of row id as longFill wrote it.
func longInitial(id int64) uint64 {
	var d *string
	if id%10 != 0 {
		s := fmt.Sprintf("%d.%02d00", id/100, id%100)
		d = &s
	}
	s := fmt.Sprintf("row-%d", id)
	return longSum(id*7-3, &s, d)
}

// longSum is a row's checksum from its values (v, s, d; nil: NULL).
func longSum(v int64, s, d *string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|", v)
	for _, p := range []*string{s, d} {
		if p == nil {
			h.Write([]byte{0, '|'})
		} else {
			fmt.Fprintf(h, "%q|", *p)
		}
	}
	return h.Sum64()
}

// longRecordRow returns the id and checksum of a record's row image.
func longRecordRow(t *testing.T, sc *runtime.Schema, row []runtime.Value) (int64, uint64) {
	t.Helper()
	str := func(name string) *string {
		v := row[sc.Index(name)]
		if v.IsNull() {
			return nil
		}
		s := v.AsString()
		return &s
	}
	return row[sc.Index("id")].AsInt(), longSum(row[sc.Index("v")].AsInt(), str("s"), str("d"))
}

// longTable reads the table back: id → checksum.
func longTable(t *testing.T, db, tbl string) map[int64]uint64 {
	t.Helper()
	c := server.Open(t, db)
	rows, err := c.Query("SELECT id, v, s, d FROM " + tbl)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[int64]uint64{}
	for rows.Next() {
		var id, v int64
		var s, d sql.NullString
		if err := rows.Scan(&id, &v, &s, &d); err != nil {
			t.Fatal(err)
		}
		var sp, dp *string
		if s.Valid {
			sp = &s.String
		}
		if d.Valid {
			dp = &d.String
		}
		m[id] = longSum(v, sp, dp)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// longWriter changes a table at random from its own goroutine until
// stopped: single-row inserts, updates and deletes, multi-row updates,
// primary-key changes, and transactions of several statements, on ids
// anywhere in the table (ahead of the snapshot's cursor and behind it).
type longWriter struct {
	db   *sql.DB
	tbl  string
	next int64 // the next new id
	rnd  *rand.Rand
	ops  atomic.Int64
	kind [6]int // statements run, by kind (insert, update, delete, range, pk, tx)
	stop chan struct{}
	done chan error
}

func startLongWriter(t *testing.T, db *sql.DB, tbl string, next int64) *longWriter {
	w := &longWriter{db: db, tbl: tbl, next: next, rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17)),
		stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for {
			select {
			case <-w.stop:
				w.done <- nil
				return
			default:
			}
			if err := w.op(); err != nil {
				w.done <- err
				return
			}
			w.ops.Add(1)
		}
	}()
	t.Cleanup(func() { w.halt() })
	return w
}

// halt stops the writer and returns its error.
func (w *longWriter) halt() error {
	select {
	case <-w.stop:
		return nil
	default:
	}
	close(w.stop)
	return <-w.done
}

// values returns random new values for v, s and d (s and d sometimes NULL,
// s sometimes non-ASCII).
func (w *longWriter) values() (int64, any, any) {
	v := w.rnd.Int64N(1<<62) - 1<<61
	var s, d any
	switch w.rnd.IntN(5) {
	case 0:
	case 1:
		s = fmt.Sprintf("é-%d-日本", w.rnd.IntN(1e6))
	default:
		s = fmt.Sprintf("w-%d", w.rnd.IntN(1e9))
	}
	if w.rnd.IntN(6) != 0 {
		d = fmt.Sprintf("%d.%04d", w.rnd.IntN(2e7)-1e7, w.rnd.IntN(1e4))
	}
	return v, s, d
}

// anyID is an id that may exist (or was deleted, or moved).
func (w *longWriter) anyID() int64 { return 1 + w.rnd.Int64N(w.next-1) }

func (w *longWriter) op() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k := w.rnd.IntN(100)
	var err error
	switch {
	case k < 30:
		v, s, d := w.values()
		_, err = w.db.ExecContext(ctx, "INSERT INTO "+w.tbl+" VALUES (?, ?, ?, ?)", w.next, v, s, d)
		w.next++
		w.kind[0]++
	case k < 60:
		v, s, d := w.values()
		_, err = w.db.ExecContext(ctx, "UPDATE "+w.tbl+" SET v = ?, s = ?, d = ? WHERE id = ?", v, s, d, w.anyID())
		w.kind[1]++
	case k < 75:
		_, err = w.db.ExecContext(ctx, "DELETE FROM "+w.tbl+" WHERE id = ?", w.anyID())
		w.kind[2]++
	case k < 85:
		a := w.anyID()
		_, err = w.db.ExecContext(ctx, "UPDATE "+w.tbl+" SET v = v + 1, s = IF(CHAR_LENGTH(s) < 60, CONCAT(s, '+'), 'reset') WHERE id BETWEEN ? AND ?", a, a+20)
		w.kind[3]++
	case k < 90:
		_, err = w.db.ExecContext(ctx, "UPDATE "+w.tbl+" SET id = ? WHERE id = ?", w.next, w.anyID())
		w.next++
		w.kind[4]++
	default:
		err = w.tx(ctx)
		w.kind[5]++
	}
	return err
}

// tx runs an insert, an update and a delete in one transaction.
func (w *longWriter) tx(ctx context.Context) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	v, s, d := w.values()
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+w.tbl+" VALUES (?, ?, ?, ?)", w.next, v, s, d); err != nil {
		return err
	}
	w.next++
	v, s, d = w.values()
	if _, err := tx.ExecContext(ctx, "UPDATE "+w.tbl+" SET v = ?, s = ?, d = ? WHERE id = ?", v, s, d, w.anyID()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+w.tbl+" WHERE id = ?", w.anyID()); err != nil {
		return err
	}
	return tx.Commit()
}

// longReader reads records from a source, each Read with its own
// deadline.
type longReader struct {
	s     *Source
	batch []runtime.Record
	buf   []runtime.Record
}

// next returns the next record; it fails the test when none comes within
// a minute.
func (lr *longReader) next(t *testing.T) runtime.Record {
	t.Helper()
	if len(lr.buf) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n, err := lr.s.Read(ctx, lr.batch)
		cancel()
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		lr.buf = lr.batch[:n]
	}
	r := lr.buf[0]
	lr.buf = lr.buf[1:]
	return r
}

// TestLongSnapshotWithConcurrentWrites snapshots a table of many rows
// while a writer changes it (inserts, updates, deletes, multi-row
// updates, primary-key changes, multi-statement transactions, ahead of
// and behind the snapshot's cursor), then streams the changes. The
// snapshot must be exactly the table as it was at its start; applying the
// snapshot and then the stream by primary key (each update's and delete's
// before image equal to the row held, each insert of a new key) must give
// the table as read back at the end: per-row checksums, 0 lost, 0 wrong.
func TestLongSnapshotWithConcurrentWrites(t *testing.T) {
	n := longSize(20_000, 1_000_000)
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE big (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(64), d DECIMAL(12,4))")
	began := time.Now()
	longFill(t, db, "big", n)
	t.Logf("filled %d rows in %v", n, time.Since(began).Round(time.Millisecond))

	s := open(t, config(db, "big"), nil)
	wdb := server.Open(t, db)
	wdb.SetMaxOpenConns(1)
	w := startLongWriter(t, wdb, "big", int64(n)+1)
	lr := &longReader{s: s, batch: make([]runtime.Record, 500)}

	// The snapshot: ids 1..n in order, each with its initial values. At
	// each quarter the reader waits until the writer has made at least
	// 100 more changes, so writes are interleaved with the snapshot's
	// chunks whatever the machine's speed.
	began = time.Now()
	got := make(map[int64]uint64, n+n/10)
	checkpoints := []int{n / 4, n / 2, 3 * n / 4}
	duringSnapshot := w.ops.Load()
	for i := 1; i <= n; i++ {
		if len(checkpoints) > 0 && i == checkpoints[0] {
			checkpoints = checkpoints[1:]
			want := w.ops.Load() + 100
			for w.ops.Load() < want {
				select {
				case err := <-w.done:
					t.Fatalf("writer: %v", err)
				case <-time.After(time.Millisecond):
				}
			}
		}
		r := lr.next(t)
		if r.Op != runtime.OpSnapshot {
			t.Fatalf("record %d of the snapshot of %d rows: %s", i, n, r.Op)
		}
		id, sum := longRecordRow(t, r.Schema, r.After)
		if id != int64(i) {
			t.Fatalf("snapshot record %d has id %d (want every row of the table at the snapshot's start, in key order)", i, id)
		}
		if sum != longInitial(id) {
			t.Fatalf("snapshot row %d: %v, not its values at the snapshot's start", id, r.After)
		}
		got[id] = sum
	}
	duringSnapshot = w.ops.Load() - duringSnapshot
	snapTime := time.Since(began)

	// Some more changes while streaming, then the writer stops and a last
	// row marks the end of the changes.
	for want := w.ops.Load() + 500; w.ops.Load() < want; {
		select {
		case err := <-w.done:
			t.Fatalf("writer: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	if err := w.halt(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	const sentinel = -1
	server.Exec(t, db, fmt.Sprintf("INSERT INTO big VALUES (%d, 0, 'end', NULL)", sentinel))

	began = time.Now()
	var events, inserts, updates, deletes, badBefore, dupInsert int
	for {
		r := lr.next(t)
		events++
		switch r.Op {
		case runtime.OpInsert:
			inserts++
			id, sum := longRecordRow(t, r.Schema, r.After)
			if _, ok := got[id]; ok {
				dupInsert++
				if dupInsert <= 5 {
					t.Errorf("insert of id %d, which the stream already holds (%s)", id, r.Position.Token)
				}
			}
			got[id] = sum
		case runtime.OpUpdate, runtime.OpDelete:
			bid, bsum := longRecordRow(t, r.Schema, r.Before)
			if held, ok := got[bid]; !ok || held != bsum {
				badBefore++
				if badBefore <= 5 {
					t.Errorf("%s of id %d: its before image %v is not the row held (held: %t) (%s)", r.Op, bid, r.Before, ok, r.Position.Token)
				}
			}
			delete(got, bid)
			if r.Op == runtime.OpUpdate {
				updates++
				id, sum := longRecordRow(t, r.Schema, r.After)
				got[id] = sum
			} else {
				deletes++
			}
		default:
			t.Fatalf("stream record %d: %s", events, r.Op)
		}
		if r.Op == runtime.OpInsert && r.After[r.Schema.Index("id")].AsInt() == sentinel {
			break
		}
	}
	streamTime := time.Since(began)

	table := longTable(t, db, "big")
	lost, extra, wrong := 0, 0, 0
	for id, sum := range table {
		held, ok := got[id]
		switch {
		case !ok:
			lost++
			if lost <= 5 {
				t.Errorf("row %d of the table is not in the output", id)
			}
		case held != sum:
			wrong++
			if wrong <= 5 {
				t.Errorf("row %d: the output's values differ from the table's", id)
			}
		}
	}
	for id := range got {
		if _, ok := table[id]; !ok {
			extra++
			if extra <= 5 {
				t.Errorf("row %d is in the output, not in the table", id)
			}
		}
	}
	t.Logf("snapshot: %d rows in %v (%.0f rows/s) with %d concurrent changes; stream: %d events (%d inserts, %d updates, %d deletes) from %d writer statements %v (insert, update, delete, range update, key change, transaction); table at the end: %d rows",
		n, snapTime.Round(time.Millisecond), float64(n)/snapTime.Seconds(), duringSnapshot, events, inserts, updates, deletes, w.ops.Load(), w.kind, len(table))
	t.Logf("stream read in %v after the writer stopped; lost %d, wrong %d, extra %d, bad before images %d, inserts of held keys %d",
		streamTime.Round(time.Millisecond), lost, wrong, extra, badBefore, dupInsert)
	if duringSnapshot < 300 {
		t.Errorf("only %d changes while the snapshot was read", duringSnapshot)
	}
	if w.kind[2] == 0 || w.kind[4] == 0 || w.kind[5] == 0 || deletes == 0 || updates == 0 {
		t.Errorf("the writer did not exercise every kind of change: %v; stream: %d updates, %d deletes", w.kind, updates, deletes)
	}
}

// TestLongTransactionStreamed streams one transaction of many rows
// (several statements): every row arrives once and in order, all with the
// transaction's GTID; every record but the last carries the position
// where the transaction starts and its change, the last the position
// after it (checkTxTokens); and the next transaction follows it at once.
func TestLongTransactionStreamed(t *testing.T) {
	n := longSize(20_000, 200_000)
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE tx (id BIGINT PRIMARY KEY, s VARCHAR(32))")
	cfg := config(db, "tx")
	cfg.SnapshotMode = SnapshotNever
	s := open(t, cfg, nil)
	// Three statements in one transaction.
	var stmts []string
	for i, from := 0, 1; i < 3; i++ {
		to := n * (i + 1) / 3
		stmts = append(stmts, fmt.Sprintf("INSERT INTO tx SELECT seq, CONCAT('r', seq) FROM seq_%d_to_%d", from, to))
		from = to + 1
	}
	began := time.Now()
	server.Exec(t, db, "START TRANSACTION; "+strings.Join(stmts, "; ")+"; COMMIT")
	committed := time.Since(began)
	server.Exec(t, db, fmt.Sprintf("INSERT INTO tx VALUES (%d, 'after')", n+1))

	lr := &longReader{s: s, batch: make([]runtime.Record, 500)}
	began = time.Now()
	var first runtime.Record
	var prev runtime.Position
	toks := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		r := lr.next(t)
		if r.Op != runtime.OpInsert {
			t.Fatalf("record %d: %s", i, r.Op)
		}
		if id := r.After[0].AsInt(); id != int64(i) {
			t.Fatalf("record %d has id %d (want each row once, in order)", i, id)
		}
		if s := r.After[1].AsString(); s != fmt.Sprintf("r%d", i) {
			t.Fatalf("row %d: s = %q", i, s)
		}
		if i == 1 {
			first = r
		} else if r.Position.Offset <= prev.Offset {
			t.Fatalf("record %d: offset %d after %d", i, r.Position.Offset, prev.Offset)
		}
		if g, f := txOf(r), txOf(first); g != f || g == "" {
			t.Fatalf("record %d: transaction_id %q, the first's %q", i, g, f)
		}
		toks = append(toks, r.Position.Token)
		prev = r.Position
	}
	checkTxTokens(t, toks)
	read := time.Since(began)
	next := lr.next(t)
	if next.Op != runtime.OpInsert || next.After[0].AsInt() != int64(n+1) || txOf(next) == txOf(first) {
		t.Fatalf("after the transaction: %s of id %d in %q (want the next transaction's row %d)", next.Op, next.After[0].AsInt(), txOf(next), n+1)
	}
	t.Logf("%d-row transaction committed in %v, streamed in %v (%.0f rows/s)", n, committed.Round(time.Millisecond), read.Round(time.Millisecond), float64(n)/read.Seconds())
}

// txOf returns metadata.transaction_id of r ("" when null).
func txOf(r runtime.Record) string {
	v, ok := r.Meta.Get("transaction_id")
	if !ok || v.IsNull() {
		return ""
	}
	return v.AsString()
}
