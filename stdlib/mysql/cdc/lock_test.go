package cdc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

func TestLockDriftNamesEachColumn(t *testing.T) {
	lt := &LockedTable{Database: "d", Table: "t", Columns: []LockedColumn{
		{Name: "id", Type: "int(11)", Kind: "int"}, {Name: "a", Type: "varchar(5)", Kind: "string"},
		{Name: "b", Type: "int(11)", Kind: "int"}, {Name: "c", Type: "double", Kind: "float"}}}
	col := func(name string, k kind) column { return column{name: name, kind: k} }
	for _, tc := range []struct {
		cols []column
		want string
	}{
		{[]column{col("id", kInt), col("a", kText), col("b", kInt), col("c", kFloat64)}, ""},
		{[]column{col("id", kInt), col("a", kDecimal), col("b", kInt), col("c", kFloat64)}, ""}, // same record type
		{[]column{col("id", kInt), col("b", kInt), col("c", kFloat64)}, "column `a` (varchar(5)) was dropped"},
		{[]column{col("id", kInt), col("a", kText), col("b", kInt), col("c", kFloat64), col("x", kInt)},
			"column `x` (int, int) was added at position 5"},
		{[]column{col("id", kInt), col("b", kInt), col("a", kText), col("c", kFloat64)},
			"column `b` moved from position 3 to 2; column `a` moved from position 2 to 3"},
		{[]column{col("id", kInt), col("a", kText), col("b", kText), col("c", kFloat64)},
			"column `b` changed type from int(11) (int) to string (string)"},
	} {
		if got := strings.Join(lockDrift(lt, tc.cols), "; "); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.cols, got, tc.want)
		}
	}
}

// lockOf is the lock discover gives for cfg's tables.
func lockOf(t *testing.T, cfg Config) []LockedTable {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []LockedTable
	for _, d := range ds {
		lt := LockedTable{Database: d.Namespace, Table: d.Name}
		for _, f := range d.Schema.Fields {
			lt.Columns = append(lt.Columns, LockedColumn{Name: f.Name, Type: d.NativeTypes[f.Name], Kind: f.Type.String(), NotNull: d.NotNull[f.Name]})
		}
		out = append(out, lt)
	}
	return out
}

func TestSchemaLockStopsAtOpenWhenATableDiffers(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY, a VARCHAR(5), b INT)", "INSERT INTO k VALUES (1, 'x', 2)")
	cfg := config(db, "k")
	cfg.Locked, cfg.LockCommand = lockOf(t, cfg), "rivven-connect discover -c c.yaml my --lock"
	s := open(t, cfg, nil)
	if got := read(t, s, 1); got[0].Schema.Fields[2].Name != "b" {
		t.Fatalf("locked snapshot: %v", got[0].Schema.Fields)
	}
	s.Close()
	server.Exec(t, db, "ALTER TABLE k MODIFY b VARCHAR(9)")
	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	err = s2.Open(context.Background())
	want := "mysql-cdc: the columns of table `" + db + "`.`k` no longer match the schema lock: column `b` changed type from int(11) (int) to varchar(9) (string); run rivven-connect discover -c c.yaml my --lock to accept the new schema"
	if err == nil || err.Error() != want {
		t.Fatalf("Open: %v\nwant %s", err, want)
	}
	// A configured table the lock does not hold.
	server.Exec(t, db, "CREATE TABLE other (id INT PRIMARY KEY)")
	cfg.Tables = append(cfg.Tables, db+".other")
	cfg.Locked = lockOf(t, config(db, "other"))[:0]
	s3, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if err := s3.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "is not in the schema lock, which holds no table: run rivven-connect discover -c c.yaml my --lock to lock it") {
		t.Fatalf("Open with an unlocked table: %v", err)
	}
}

func TestSchemaLockStopsTheStreamAtATableMapWithOtherColumns(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY, a VARCHAR(5))")
	cfg := config(db, "k")
	cfg.SnapshotMode = SnapshotNever
	cfg.Locked = lockOf(t, cfg)
	s := open(t, cfg, nil)
	server.Exec(t, db, "INSERT INTO k VALUES (1, 'x')", "ALTER TABLE k ADD COLUMN c INT AFTER id", "INSERT INTO k VALUES (2, 3, 'y')")
	got := read(t, s, 1)
	if got[0].After[0].AsInt() != 1 {
		t.Fatalf("before the DDL: %v", got[0].After)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	batch := make([]runtime.Record, 4)
	var err error
	for err == nil {
		var n int
		n, err = s.Read(ctx, batch)
		if n > 0 {
			t.Fatalf("a record after the DDL: %v", batch[0].After)
		}
	}
	want := "mysql-cdc: the columns of table `" + db + "`.`k` no longer match the schema lock: column `c` (int, int) was added at position 2; run " + DefaultLockCommand + " to accept the new schema"
	if errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Read: %v\nwant %s", err, want)
	}
}

// TestSchemaDriftWarnLetsAppendedColumnsThrough: under schema_drift:
// warn, a column added after the locked ones is logged once and its
// values ride along (in the snapshot and the stream, before and after a
// restart), check --connect warns; a column added elsewhere still stops
// the source, saying what warn lets through.
func TestSchemaDriftWarnLetsAppendedColumnsThrough(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY, a VARCHAR(5))", "INSERT INTO k VALUES (1, 'x')")
	cfg := config(db, "k")
	cfg.Locked = lockOf(t, cfg)
	cfg.SchemaDrift = SchemaDriftWarn
	server.Exec(t, db, "ALTER TABLE k ADD COLUMN z INT")
	s, rec := openLogged(t, cfg, nil)
	server.Exec(t, db, "INSERT INTO k VALUES (2, 'y', 7)", "INSERT INTO k VALUES (3, 'w', 8)")
	got := read(t, s, 3)
	for i, r := range got {
		if len(r.After) != 3 || r.Schema.Fields[2].Name != "z" || r.After[0].AsInt() != int64(i+1) {
			t.Fatalf("record %d: %v %v; want the locked columns, then z", i, r.Schema.Fields, r.After)
		}
	}
	if z := got[2].After[2].AsInt(); z != 8 {
		t.Fatalf("z = %d, want 8", z)
	}
	if w := rec.logged(slog.LevelWarn, "columns were added to a table after its locked ones"); len(w) != 1 || !strings.Contains(w[0], "columns=z") {
		t.Fatalf("warnings: %q; want one naming z", w)
	}
	findings, err := s.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var lockFinding runtime.Finding
	for _, f := range findings {
		if strings.HasPrefix(f.Check, "lock ") {
			lockFinding = f
		}
	}
	if lockFinding.Level != runtime.FindingWarn || !strings.Contains(lockFinding.Detail, "columns z were added after the locked ones") {
		t.Fatalf("check --connect: %+v", lockFinding)
	}
	s.Close()

	// A column added before the locked ones' end is not let through.
	server.Exec(t, db, "ALTER TABLE k ADD COLUMN m INT AFTER id")
	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	err = s2.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "column `m` (int(11), int) was added at position 2") ||
		!strings.Contains(err.Error(), "(schema_drift: warn lets through only columns added after the locked ones)") {
		t.Fatalf("Open after a column was added in the middle: %v", err)
	}
	if findings, err := s2.Probe(context.Background()); err != nil {
		t.Fatal(err)
	} else if f := findings[len(findings)-1]; f.Level != runtime.FindingFail || !strings.Contains(f.Detail, "so the source would stop (schema_drift: warn)") {
		t.Fatalf("check --connect: %+v", f)
	}
}
