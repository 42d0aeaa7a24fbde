package cdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/state"
)

// fileBlob is a runtime.StateBlob over a state.Store, like the driver's.
type fileBlob struct {
	st  *state.Store
	key string
}

func (b fileBlob) Get() ([]byte, bool, error) { return b.st.Get(b.key) }
func (b fileBlob) Put(v []byte) error         { return b.st.Put(b.key, v) }
func (b fileBlob) Where() string              { return b.st.Path(b.key) }

func newBlob(t *testing.T) fileBlob {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return fileBlob{st, "p"}
}

func markerOf(t *testing.T, b fileBlob) string {
	t.Helper()
	v, ok, err := b.Get()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return "(none)"
	}
	return string(v)
}

func ops(recs []runtime.Record) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.Op.String()[:1])
	}
	return b.String()
}

func TestSnapshotRecordedDoneOnlyAfterAck(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE m (id int PRIMARY KEY)`, `INSERT INTO m SELECT generate_series(1, 5)`)
	blob := newBlob(t)
	s := openState(t, config(db, "m"), blob)
	if m := markerOf(t, blob); !strings.Contains(m, `"snapshot":"pending"`) {
		t.Fatalf("marker before the snapshot = %s, want pending", m)
	}
	recs := read(t, s, 5)
	if err := s.Ack(context.Background(), recs[3].Position); err != nil {
		t.Fatal(err)
	}
	if m := markerOf(t, blob); !strings.Contains(m, `"snapshot":"pending"`) {
		t.Fatalf("marker with 4 of 5 snapshot rows acknowledged = %s, want pending", m)
	}
	ackAll(t, s, recs)
	if m := markerOf(t, blob); !strings.Contains(m, `"snapshot":"pending"`) {
		t.Fatalf("marker before the end of the snapshot was read = %s, want pending", m)
	}
	cluster.Exec(t, db, `INSERT INTO m VALUES (6)`)
	read(t, s, 1) // reads the end of the snapshot, then the insert
	ackAll(t, s, recs)
	if m := markerOf(t, blob); !strings.Contains(m, `"snapshot":"done"`) || !strings.Contains(m, `"slot":"`+slotOf(db)+`"`) {
		t.Fatalf("marker after the snapshot is acknowledged = %s, want done for slot %s", m, slotOf(db))
	}
}

func TestExistingSlotWithoutRecordedSnapshotSnapshotsAgain(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE w (id int PRIMARY KEY)`, `INSERT INTO w SELECT generate_series(1, 3)`)
	cfg := config(db, "w")
	s := open(t, cfg) // no state_dir
	ackAll(t, s, read(t, s, 3))
	cluster.Exec(t, db, `INSERT INTO w VALUES (4)`)
	ackAll(t, s, read(t, s, 1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, db, `INSERT INTO w VALUES (5)`)
	// Nothing recorded that the snapshot finished: read the table again,
	// then the changes the slot kept (5) — duplicates, never a gap.
	s2 := open(t, cfg)
	recs := read(t, s2, 6)
	if got := ops(recs); got != "sssssi" {
		t.Fatalf("ops after a restart without state = %q, want a full snapshot then the insert", got)
	}
	// Row 4's acknowledgement may not have reached the server before the
	// stop (at-least-once): then it comes again, before 5.
	id := recs[5].After[0].AsInt()
	if id == 4 {
		id = read(t, s2, 1)[0].After[0].AsInt()
	}
	if id != 5 {
		t.Fatalf("streamed id %d, want 5", id)
	}
}

func TestSnapshotModeAlways(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE a (id int PRIMARY KEY)`, `INSERT INTO a SELECT generate_series(1, 2)`)
	cfg := config(db, "a")
	cfg.SnapshotMode = SnapshotAlways
	blob := newBlob(t)
	s := openState(t, cfg, blob)
	ackAll(t, s, read(t, s, 2))
	quiet(t, s, 300*time.Millisecond) // past the end of the snapshot
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, db, `INSERT INTO a VALUES (3)`)
	s2 := openState(t, cfg, blob)
	if got := ops(read(t, s2, 4)); got != "sssi" {
		t.Fatalf("ops after a restart in mode always = %q, want sssi", got)
	}
}

func TestSlotDroppedWhileStoppedIsDataLoss(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE g (id int PRIMARY KEY)`, `INSERT INTO g VALUES (1)`)
	cfg := config(db, "g")
	blob := newBlob(t)
	s := openState(t, cfg, blob)
	ackAll(t, s, read(t, s, 1))
	quiet(t, s, 300*time.Millisecond) // past the end of the snapshot
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, db, `SELECT pg_drop_replication_slot('`+slotOf(db)+`')`, `INSERT INTO g VALUES (2)`)

	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.UseState(blob)
	err = s2.Open(context.Background())
	_ = s2.Close()
	if err == nil || !strings.Contains(err.Error(), "possible data loss") || !strings.Contains(err.Error(), "when_needed") {
		t.Fatalf("open after the slot was dropped: %v; want a possible-data-loss error naming when_needed", err)
	}
	var n int
	if err := conn(t, db).QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, slotOf(db)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the refused start created a slot (%d, %v)", n, err)
	}

	cfg.SnapshotMode = SnapshotWhenNeeded
	s3 := openState(t, cfg, blob)
	if got := ops(read(t, s3, 2)); got != "ss" {
		t.Fatalf("when_needed after a lost slot: ops %q, want a new snapshot of both rows", got)
	}
}

func TestCorruptStateStops(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE c (id int PRIMARY KEY)`)
	blob := newBlob(t)
	if err := os.WriteFile(blob.Where(), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(config(db, "c"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.UseState(blob)
	err = s.Open(context.Background())
	_ = s.Close()
	if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), blob.Where()) {
		t.Fatalf("open with a corrupt state file: %v", err)
	}
}

func TestSourceLagInWALBytes(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE l (id int PRIMARY KEY)`, `CREATE TABLE other (v text)`)
	s := open(t, config(db, "l"))
	cluster.Exec(t, db, `INSERT INTO l VALUES (1)`)
	recs := read(t, s, 1) // in flight: the flush position cannot pass it
	cluster.Exec(t, db, `INSERT INTO other SELECT repeat('x', 100) FROM generate_series(1, 1000)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		lag, unit, ok := s.SourceLag()
		if ok && unit == "bytes" && lag >= 100*1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag behind 100 kB of WAL with a record in flight = %d %q %v", lag, unit, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ackAll(t, s, recs)
	for {
		if lag, _, _ := s.SourceLag(); lag < 100*1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lag did not shrink after the acknowledgement")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSlotRecreatedWhileStoppedIsDataLoss(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE rc (id int PRIMARY KEY)`, `INSERT INTO rc VALUES (1)`)
	cfg := config(db, "rc")
	blob := newBlob(t)
	s := openState(t, cfg, blob)
	ackAll(t, s, read(t, s, 1))
	cluster.Exec(t, db, `INSERT INTO rc VALUES (2)`)
	ackAll(t, s, read(t, s, 1))
	waitFlush(t, db, func(string) bool { return strings.Contains(markerOf(t, blob), `"flushed"`) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := markerOf(t, blob); !strings.Contains(m, `"flushed":"`) {
		t.Fatalf("marker %s records no flushed position", m)
	}
	// Someone drops and re-creates the slot; a change in between is lost to it.
	cluster.Exec(t, db, `SELECT pg_drop_replication_slot('`+slotOf(db)+`')`, `INSERT INTO rc VALUES (3)`,
		`SELECT pg_create_logical_replication_slot('`+slotOf(db)+`', 'pgoutput')`, `INSERT INTO rc VALUES (4)`)
	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.UseState(blob)
	err = s2.Open(context.Background())
	_ = s2.Close()
	if err == nil || !strings.Contains(err.Error(), "advanced or re-created by someone else") || !strings.Contains(err.Error(), "possible data loss") {
		t.Fatalf("open after the slot was re-created: %v", err)
	}
	// when_needed takes a new snapshot (rows 1..4), then streams.
	cfg.SnapshotMode = SnapshotWhenNeeded
	s3 := openState(t, cfg, blob)
	recs := read(t, s3, 4)
	if got := ops(recs); got != "ssss" {
		t.Fatalf("when_needed after a re-created slot: %q", got)
	}
}

func TestConfirmedNeverPassesTheMarker(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE cm (id int PRIMARY KEY)`)
	blob := newBlob(t)
	s := openState(t, config(db, "cm"), blob)
	for i := 1; i <= 20; i++ {
		cluster.Exec(t, db, fmt.Sprintf(`INSERT INTO cm VALUES (%d)`, i))
		ackAll(t, s, read(t, s, 1))
		// The server first, then the marker: the marker only grows.
		got, _ := pglogrepl.ParseLSN(confirmedFlush(t, db))
		var m marker
		v, _, _ := blob.Get()
		_ = json.Unmarshal(v, &m)
		rec, _ := pglogrepl.ParseLSN(m.Flushed)
		if m.Flushed != "" && got > rec {
			t.Fatalf("confirmed_flush_lsn %s is past the recorded %s", got, rec)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := markerOf(t, blob); !strings.Contains(m, `"flushed":"`) {
		t.Fatalf("after 20 acknowledged transactions the marker records no flushed position: %s", m)
	}
}

// failingBlob fails every Put once fail is set.
type failingBlob struct {
	fileBlob
	fail *atomic.Bool
}

func (b failingBlob) Put(v []byte) error {
	if b.fail.Load() {
		return errors.New("disk full")
	}
	return b.fileBlob.Put(v)
}

func TestMarkerWriteFailureStopsTheSource(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE mf (id int PRIMARY KEY)`)
	fail := new(atomic.Bool)
	blob := newBlob(t)
	s := openState(t, config(db, "mf"), failingBlob{blob, fail})
	cluster.Exec(t, db, `INSERT INTO mf VALUES (1)`)
	ackAll(t, s, read(t, s, 1)) // past the (empty) snapshot, recorded as done
	// The acknowledgement reaches the marker at the next status update:
	// wait for it, so the failing write is one made after fail is set.
	waitFlush(t, db, func(string) bool { return strings.Contains(markerOf(t, blob), `"flushed":"`) })
	fail.Store(true)
	cluster.Exec(t, db, `INSERT INTO mf VALUES (2)`)
	// The next write (the acknowledgement of 2, or an idle advance of the
	// slot before 2 is read) fails: a Read returns that error.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	batch := make([]runtime.Record, 4)
	for {
		n, err := s.Read(ctx, batch)
		if n > 0 {
			if aerr := s.Ack(ctx, batch[n-1].Position); aerr != nil {
				err = aerr
			}
		}
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "disk full") || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read after the marker could not be written: %v; want the write error", err)
		}
		return
	}
}
