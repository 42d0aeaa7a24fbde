package cdc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// memBlob is a runtime.StateBlob in memory.
type memBlob struct {
	mu  sync.Mutex
	v   []byte
	put int
}

func (b *memBlob) Get() ([]byte, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.v, b.v != nil, nil
}

func (b *memBlob) Put(v []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.v, b.put = append([]byte(nil), v...), b.put+1
	return nil
}

func (b *memBlob) Where() string { return "memory" }

func (b *memBlob) selection(t *testing.T) selection {
	t.Helper()
	v, ok, _ := b.Get()
	if !ok {
		return selection{}
	}
	var sel selection
	if err := json.Unmarshal(v, &sel); err != nil {
		t.Fatal(err)
	}
	return sel
}

// openState opens a source with the state blob b, resumed at resume
// (nil: a first start), logging into the returned recorder.
func openState(t *testing.T, cfg Config, b *memBlob, resume *runtime.Position) (*Source, *recorder) {
	t.Helper()
	rec := &recorder{}
	return openWith(t, cfg, resume, func(s *Source) {
		s.UseLogger(slog.New(rec))
		s.UseState(b)
	}), rec
}

// saver reads records as the driver does with a state directory: each
// batch is acknowledged, its last position saved, and Saved called.
type saver struct {
	t     *testing.T
	s     *Source
	saved runtime.Position
	batch []runtime.Record
}

// next reads one batch (failing the test after a minute) and saves its
// last position.
func (sv *saver) next() []runtime.Record {
	sv.t.Helper()
	recs := sv.poll(time.Minute)
	if recs == nil {
		sv.t.Fatal("Read: no record in a minute")
	}
	return recs
}

// poll is next, returning nil when no record comes within d.
func (sv *saver) poll(d time.Duration) []runtime.Record {
	sv.t.Helper()
	if sv.batch == nil {
		sv.batch = make([]runtime.Record, 300)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	n, err := sv.s.Read(ctx, sv.batch)
	if err != nil && (n > 0 || ctx.Err() == nil) {
		sv.t.Fatalf("Read: %v", err)
	}
	if n == 0 {
		return nil
	}
	recs := slices.Clone(sv.batch[:n])
	sv.save(recs[n-1].Position)
	return recs
}

// untilCaptured reads (and saves) records, passing each to f, until the
// selection in b holds table: the source writes it once the re-snapshot's
// last records are saved, which may be just after the test saved them
// (so the test must not wait for another record). It fails the test
// after a minute.
func (sv *saver) untilCaptured(b *memBlob, table string, f func(runtime.Record)) {
	sv.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !slices.Contains(b.selection(sv.t).Tables, table) {
		if time.Now().After(deadline) {
			sv.t.Fatalf("the selection does not hold %s after a minute: %+v", table, b.selection(sv.t))
		}
		for _, r := range sv.poll(100 * time.Millisecond) {
			f(r)
		}
	}
}

func (sv *saver) save(pos runtime.Position) {
	sv.t.Helper()
	if err := sv.s.Ack(context.Background(), pos); err != nil {
		sv.t.Fatal(err)
	}
	sv.saved = pos
	if err := sv.s.Saved(pos); err != nil {
		sv.t.Fatal(err)
	}
}

// resnapModel applies records of table tbl by primary key, checking what
// a re-snapshot promises: its rows come in key order, each once; a row's
// snapshot record equals what the changes before it made of the row;
// changes of rows the re-snapshot has covered (keys up to its last one)
// find the row they change, and no insert finds its key taken.
type resnapModel struct {
	t       *testing.T
	tbl     string
	rows    map[int64]uint64
	covered int64 // the last key of the re-snapshot; 0: none
	snaps   int
	changes int
	bad     int
}

func (m *resnapModel) fail(format string, args ...any) {
	m.t.Helper()
	m.bad++
	if m.bad <= 5 {
		m.t.Errorf(format, args...)
	}
}

func (m *resnapModel) apply(r runtime.Record) {
	m.t.Helper()
	if r.Stream != m.tbl {
		return
	}
	switch r.Op {
	case runtime.OpSnapshot:
		m.snaps++
		id, sum := longRecordRow(m.t, r.Schema, r.After)
		if id <= m.covered {
			m.fail("re-snapshot row %d after row %d (%s): not in key order, or twice", id, m.covered, r.Position.Token)
		}
		if held, ok := m.rows[id]; ok && held != sum {
			m.fail("re-snapshot row %d (%s) differs from the row its changes before it made", id, r.Position.Token)
		}
		m.covered, m.rows[id] = id, sum
	case runtime.OpInsert:
		m.changes++
		id, sum := longRecordRow(m.t, r.Schema, r.After)
		if _, ok := m.rows[id]; ok {
			m.fail("insert of id %d, which is held (%s)", id, r.Position.Token)
		}
		m.rows[id] = sum
	case runtime.OpUpdate, runtime.OpDelete:
		m.changes++
		id, sum := longRecordRow(m.t, r.Schema, r.Before)
		held, ok := m.rows[id]
		switch {
		case ok && held != sum:
			m.fail("%s of id %d: its before image is not the row held (%s)", r.Op, id, r.Position.Token)
		case !ok && id <= m.covered:
			m.fail("%s of id %d, which the re-snapshot covered and nothing holds (%s)", r.Op, id, r.Position.Token)
		}
		delete(m.rows, id)
		if r.Op == runtime.OpUpdate {
			id, sum := longRecordRow(m.t, r.Schema, r.After)
			m.rows[id] = sum
		}
	}
}

// equal compares the model with the table.
func (m *resnapModel) equal(table map[int64]uint64) {
	m.t.Helper()
	lost, wrong, extra := 0, 0, 0
	for id, sum := range table {
		held, ok := m.rows[id]
		switch {
		case !ok:
			lost++
		case held != sum:
			wrong++
		}
	}
	for id := range m.rows {
		if _, ok := table[id]; !ok {
			extra++
		}
	}
	m.t.Logf("table %s: %d rows; output: %d re-snapshot records, %d changes; lost %d, wrong %d, extra %d",
		m.tbl, len(table), m.snaps, m.changes, lost, wrong, extra)
	if lost+wrong+extra > 0 {
		m.t.Errorf("the output differs from the table: %d rows lost, %d wrong, %d extra", lost, wrong, extra)
	}
}

// resnapFixture creates tables a (3 rows) and b (n rows, longFill), runs
// a source over a alone (initial snapshot, one change), and returns its
// config, state blob and saved position, and the database.
func resnapFixture(t *testing.T, n int) (string, Config, *memBlob, runtime.Position) {
	t.Helper()
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE a (id INT PRIMARY KEY, s VARCHAR(20))", "INSERT INTO a VALUES (1, 'x'), (2, 'y'), (3, 'z')",
		"CREATE TABLE b (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(64), d DECIMAL(12,4))")
	longFill(t, db, "b", n)
	cfg := config(db, "a")
	blob := &memBlob{}
	s, _ := openState(t, cfg, blob, nil)
	sv := &saver{t: t, s: s}
	for got := 0; got < 3; got += len(sv.next()) {
	}
	server.Exec(t, db, "UPDATE a SET s = 'w' WHERE id = 2")
	if recs := sv.next(); len(recs) != 1 || recs[0].Op != runtime.OpUpdate {
		t.Fatalf("after the snapshot of a: %d records, want its update", len(recs))
	}
	if sel := blob.selection(t); !slices.Equal(sel.Tables, []string{"`" + db + "`.`a`"}) || sel.Resnap != nil {
		t.Fatalf("selection after the first run: %+v", sel)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Tables = append(cfg.Tables, db+".b")
	return db, cfg, blob, sv.saved
}

// TestTableAddedToTablesIsReSnapshottedWhileStreaming adds a table of
// many rows to `tables` and restarts the source while a writer changes
// that table (inserts, updates, deletes, key changes, transactions,
// ahead of the re-snapshot's cursor and behind it): the re-snapshot's
// chunks come between the stream's transactions, and applying the output
// by key gives the table as it is at the end, every check of resnapModel
// holding.
func TestTableAddedToTablesIsReSnapshottedWhileStreaming(t *testing.T) {
	n := longSize(5_000, 200_000)
	db, cfg, blob, saved := resnapFixture(t, n)
	wdb := server.Open(t, db)
	wdb.SetMaxOpenConns(1)
	w := startLongWriter(t, wdb, "b", int64(n)+1)

	s, rec := openState(t, cfg, blob, &saved)
	sv := &saver{t: t, s: s}
	m := &resnapModel{t: t, tbl: "b", rows: map[int64]uint64{}}
	began := time.Now()
	var during int64
	sv.untilCaptured(blob, "`"+db+"`.`b`", func(r runtime.Record) {
		if r.Stream == "a" {
			t.Fatalf("a record of table a, which did not change: %s %s", r.Op, r.Position.Token)
		}
		if r.Op == runtime.OpSnapshot {
			if _, err := parseToken(r.Position.Token); err != nil {
				t.Fatal(err)
			}
			if m.snaps == 0 {
				during = w.ops.Load()
			}
		}
		m.apply(r)
	})
	during = w.ops.Load() - during
	took := time.Since(began)
	if err := w.halt(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	const sentinel = -1
	server.Exec(t, db, fmt.Sprintf("INSERT INTO b VALUES (%d, 0, 'end', NULL)", sentinel))
	for _, ok := m.rows[sentinel]; !ok; _, ok = m.rows[sentinel] {
		for _, r := range sv.next() {
			if r.Op == runtime.OpSnapshot {
				t.Fatalf("a re-snapshot record after the re-snapshot finished: %s", r.Position.Token)
			}
			m.apply(r)
		}
	}
	t.Logf("re-snapshot of %d rows in %v with %d concurrent writer statements %v", n, took.Round(time.Millisecond), during, w.kind)
	if during < 20 {
		t.Errorf("only %d writer statements during the re-snapshot", during)
	}
	m.equal(longTable(t, db, "b"))
	if m.snaps < n/2 {
		t.Errorf("%d re-snapshot records for a table of %d rows", m.snaps, n)
	}
	if got := rec.logged(slog.LevelInfo, "re-snapshot of a table added to `tables` finished"); len(got) != 1 {
		t.Errorf("log of the re-snapshot's end: %q", got)
	}
	if sel := blob.selection(t); len(sel.Tables) != 2 || sel.Resnap != nil {
		t.Errorf("selection at the end: %+v", sel)
	}
}

// TestReSnapshotGoesOnAfterACrash stops a re-snapshot in its second chunk
// without saving the rest, changes the table meanwhile, and restarts: the
// re-snapshot goes on from the last chunk whose records were all saved
// (not from the start), and the output up to the crash's saved position
// plus the second run's gives the table.
func TestReSnapshotGoesOnAfterACrash(t *testing.T) {
	n := 3*snapshotChunk + 10
	db, cfg, blob, saved := resnapFixture(t, n)
	s, _ := openState(t, cfg, blob, &saved)
	m := &resnapModel{t: t, tbl: "b", rows: map[int64]uint64{}}
	// Read 1.5 chunks, saving record by record up to row 1,400.
	batch := make([]runtime.Record, 100)
	sv := &saver{t: t, s: s}
	for m.snaps < 1500 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		k, err := s.Read(ctx, batch)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range batch[:k] {
			if m.snaps < 1400 {
				m.apply(r)
				sv.save(r.Position)
			} else {
				m.snaps++ // read, never saved: delivered again
			}
		}
	}
	sel := blob.selection(t)
	if sel.Resnap == nil || sel.Resnap.Rows != snapshotChunk || len(sel.Resnap.After) != 1 || sel.Resnap.After[0] != fmt.Sprintf("i:%d", snapshotChunk) {
		t.Fatalf("selection after 1,400 rows were saved: %+v; want the re-snapshot of b after its first chunk", sel)
	}
	if err := s.Close(); err != nil { // a crash: nothing more is saved
		t.Fatal(err)
	}
	m.snaps = 1400
	// Changes while the source is down: behind the cursor and ahead of it.
	server.Exec(t, db, "UPDATE b SET v = 1 WHERE id IN (5, 1200, 2500)", "DELETE FROM b WHERE id IN (6, 1300, 2600)",
		fmt.Sprintf("INSERT INTO b VALUES (%d, 2, 'new', NULL)", n+1))

	s2, rec := openState(t, cfg, blob, &sv.saved)
	sv2 := &saver{t: t, s: s2}
	first := true
	sv2.untilCaptured(blob, "`"+db+"`.`b`", func(r runtime.Record) {
		if r.Op == runtime.OpSnapshot && first {
			first = false
			id, _ := longRecordRow(t, r.Schema, r.After)
			tok := mustParse(t, r.Position.Token)
			if id != snapshotChunk+1 || !tok.resnap || tok.row != snapshotChunk+1 {
				t.Fatalf("the second run's re-snapshot starts at id %d (%s); want id %d, ordinal %d", id, r.Position.Token, snapshotChunk+1, snapshotChunk+1)
			}
			// Rows 1,001–1,400 come again: the model forgets them.
			m.covered = snapshotChunk
		}
		m.apply(r)
	})
	if first {
		t.Fatal("the second run delivered no re-snapshot record")
	}
	if got := rec.logged(slog.LevelInfo, "going on with the re-snapshot"); len(got) != 1 {
		t.Errorf("log of the resumed re-snapshot: %q", got)
	}
	m.equal(longTable(t, db, "b"))
}

// TestAddedTableUnderSnapshotModeNever is streamed without its rows, and
// recorded as captured.
func TestAddedTableUnderSnapshotModeNever(t *testing.T) {
	db, cfg, blob, saved := resnapFixture(t, 10)
	cfg.SnapshotMode = SnapshotNever
	s, rec := openState(t, cfg, blob, &saved)
	server.Exec(t, db, "UPDATE b SET v = 0 WHERE id = 3")
	recs := read(t, s, 1)
	if recs[0].Op != runtime.OpUpdate || recs[0].Stream != "b" {
		t.Fatalf("first record: %s %s; want the update of b", recs[0].Op, recs[0].Stream)
	}
	if sel := blob.selection(t); len(sel.Tables) != 2 || sel.Resnap != nil {
		t.Errorf("selection: %+v", sel)
	}
	if got := rec.logged(slog.LevelInfo, "without their existing rows (snapshot_mode never)"); len(got) != 1 {
		t.Errorf("log: %q", got)
	}
}

// TestAddedTableUnderInitialOnlyIsSnapshottedAlone: after the snapshot
// of an earlier run, initial_only snapshots only the added table, then
// ends; a further run has nothing to do.
func TestAddedTableUnderInitialOnlyIsSnapshottedAlone(t *testing.T) {
	_, cfg, blob, saved := resnapFixture(t, 1500)
	cfg.SnapshotMode = SnapshotInitialOnly
	s, _ := openState(t, cfg, blob, &saved)
	sv := &saver{t: t, s: s}
	got := 0
	batch := make([]runtime.Record, 500)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		k, err := s.Read(ctx, batch)
		cancel()
		for _, r := range batch[:k] {
			if r.Stream != "b" || r.Op != runtime.OpSnapshot {
				t.Fatalf("record %s of %s; want snapshot records of b alone", r.Op, r.Stream)
			}
			got++
			sv.save(r.Position)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got != 1500 {
		t.Fatalf("%d snapshot records, want the 1,500 rows of b", got)
	}
	if sel := blob.selection(t); len(sel.Tables) != 2 {
		t.Fatalf("selection after the snapshot of b: %+v", sel)
	}
	s.Close()
	s2, _ := openState(t, cfg, blob, &sv.saved)
	if k, err := s2.Read(context.Background(), batch); k != 0 || err != io.EOF {
		t.Fatalf("a third run read %d records, %v; want nothing to do", k, err)
	}
}

func TestReSnapshotTokensRoundTrip(t *testing.T) {
	for _, s := range []string{
		"mariadb-bin.000002:1234 gtid=0-1-17 re-snapshot `db`.`b` #1001",
		"mariadb-bin.000002:1234 re-snapshot `db`.`x re-snapshot y #2` #7",
	} {
		tok := mustParse(t, s)
		if !tok.resnap || tok.String() != s || tok.at().String() != s[:len("mariadb-bin.000002:1234")+len(map[bool]string{true: " gtid=0-1-17"}[tok.gtid != ""])] {
			t.Errorf("%q parsed as %+v, written %q", s, tok, tok.String())
		}
	}
	for _, bad := range []string{
		"mariadb-bin.000002:1234 #1.2 re-snapshot `db`.`b` #1",
		"mariadb-bin.000002:1234 re-snapshot `db`.`b` #0",
		"re-snapshot `db`.`b` #1",
	} {
		if _, err := parseToken(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for _, k := range [][]any{{int64(-5), uint64(1 << 63), []byte("a\x00b"), "s:x", float64(1.5), float32(2.25)}} {
		txt, err := keyText(k)
		if err != nil {
			t.Fatal(err)
		}
		back, err := keyValues(txt)
		if err != nil || fmt.Sprintf("%#v", back) != fmt.Sprintf("%#v", k) {
			t.Errorf("key %#v → %q → %#v, %v", k, txt, back, err)
		}
	}
}
