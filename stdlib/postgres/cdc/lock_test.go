package cdc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// discoverLock locks the tables cfg captures as `discover --lock` does:
// each discovered stream's fields, their format_type text, record type
// and NOT NULL.
func discoverLock(t *testing.T, cfg Config) []LockedTable {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := s.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := []LockedTable{}
	for _, st := range streams {
		lt := LockedTable{Schema: st.Namespace, Table: st.Name}
		for _, f := range st.Schema.Fields {
			lt.Columns = append(lt.Columns, LockedColumn{Name: f.Name, Type: st.NativeTypes[f.Name], Kind: f.Type.String(), NotNull: st.NotNull[f.Name]})
		}
		out = append(out, lt)
	}
	return out
}

// openErr opens a source that must fail to open, closes it and returns
// the error.
func openErr(t *testing.T, cfg Config) error {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = s.Open(ctx)
	_ = s.Close()
	if err == nil {
		t.Fatal("Open succeeded, want a schema drift error")
	}
	return err
}

// readUntilErr reads until Read fails (failing after 20 s) and returns
// the records read before and the error.
func readUntilErr(t *testing.T, s *Source) ([]runtime.Record, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []runtime.Record
	batch := make([]runtime.Record, 16)
	for {
		n, err := s.Read(ctx, batch)
		out = append(out, batch[:n]...)
		if err != nil {
			return out, err
		}
	}
}

// Discover returns what a lock holds: the captured tables only (not every
// table of an existing publication), format_type texts and NOT NULL.
func TestDiscoverForLock(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE a (id int PRIMARY KEY, n varchar(20) NOT NULL, m int[], g int GENERATED ALWAYS AS (id * 2) STORED)`,
		`CREATE TABLE b (id int PRIMARY KEY)`, `CREATE PUBLICATION p1 FOR TABLE a, b`)
	lock := discoverLock(t, config(db, "a"))
	want := `[{Schema:public Table:a Columns:[{Name:id Type:integer Kind:int NotNull:true} {Name:n Type:character varying(20) Kind:string NotNull:true} {Name:m Type:integer[] Kind:array<int> NotNull:false}]}]`
	if got := fmt.Sprintf("%+v", lock); got != want {
		t.Fatalf("lock\n got %s\nwant %s", got, want)
	}
}

// A snapshot under a matching lock emits the records it emits without
// one.
func TestLockSnapshotMatches(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, typesTable, fmt.Sprintf("INSERT INTO t VALUES "+typesRow, 1), fmt.Sprintf("INSERT INTO t VALUES "+typesRow, 2))
	cfg := config(db, "t")
	cfg.SnapshotMode = SnapshotInitialOnly
	clock := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	snapshot := func(cfg Config) string {
		s, err := New(cfg, clock)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		recs, err := readUntilErr(t, s)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("snapshot ended with %v", err)
		}
		var b strings.Builder
		for _, r := range recs {
			b.WriteString(string(runtime.AppendSourceEvent(nil, &r, true, true)) + "\n")
		}
		return b.String()
	}
	plain := snapshot(cfg)
	cfg.Locked = discoverLock(t, cfg)
	if len(cfg.Locked) != 1 || len(cfg.Locked[0].Columns) != 30 {
		t.Fatalf("lock %+v", cfg.Locked)
	}
	locked := snapshot(cfg)
	if strings.Count(plain, "\n") != 2 || plain != locked {
		t.Fatalf("without a lock\n%s\nwith one\n%s", plain, locked)
	}
}

// Columns changed between the lock and the start stop the snapshot before
// its first row (fail), except columns added after the locked ones under
// warn; a type change that keeps the record type is no drift.
func TestLockSnapshotDrift(t *testing.T) {
	const ddl = `CREATE TABLE users (id int PRIMARY KEY, name text, age int)`
	const rows = `INSERT INTO users VALUES (1, 'a', 30), (2, 'b', 40)`
	for _, tc := range []struct {
		name, alter string
		want        string // the error under fail; "" none
		warnPasses  bool
	}{
		{"add column", `ALTER TABLE users ADD COLUMN email text`, "column email (text, string) was added after the locked ones", true},
		{"drop column", `ALTER TABLE users DROP COLUMN name`, "column name (text) was dropped", false},
		{"alter type", `ALTER TABLE users ALTER COLUMN age TYPE text`, "column age changed type from integer (int) to text (string)", false},
		{"rename column", `ALTER TABLE users RENAME COLUMN age TO years`, "column age (position 3) is now years", false},
		{"same record type", `ALTER TABLE users ALTER COLUMN age TYPE bigint`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := cluster.NewDatabase(t)
			cluster.Exec(t, db, ddl, rows)
			cfg := config(db, "users")
			cfg.Locked = discoverLock(t, cfg)
			cluster.Exec(t, db, tc.alter)
			if tc.want != "" {
				err := openErr(t, cfg)
				want := "postgres-cdc: the columns of table public.users no longer match the schema lock: " + tc.want +
					"; run rivven-connect discover -c FILE SOURCE --lock to accept the new schema"
				if err.Error() != want {
					t.Fatalf("error\n got %v\nwant %s", err, want)
				}
				// The slot this run created is gone with it.
				var n int
				if err := conn(t, db).QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, slotOf(db)).Scan(&n); err != nil || n != 0 {
					t.Fatalf("%d slots left (%v)", n, err)
				}
			} else {
				recs := read(t, open(t, cfg), 2)
				if got := row(recs[1], recs[1].After); got != `{"id":2,"name":"b","age":40}` {
					t.Fatalf("record %s", got)
				}
			}
			cfg.SchemaDrift = SchemaDriftWarn
			cfg.SlotName += "_w"
			if !tc.warnPasses {
				err := openErr(t, cfg)
				if !strings.Contains(err.Error(), tc.want+" (schema_drift: warn lets through only columns added after the locked ones)") {
					t.Fatalf("warn: %v", err)
				}
				return
			}
			s, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			s.UseLogger(slog.New(slog.NewTextHandler(&log, nil)))
			if err := s.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			recs := read(t, s, 2)
			want := `{"id":2,"name":"b","age":40}`
			if tc.want != "" {
				want = `{"id":2,"name":"b","age":40,"email":null}`
			}
			if got := row(recs[1], recs[1].After); got != want {
				t.Fatalf("warn: record %s, want %s", got, want)
			}
			warned := strings.Count(log.String(), "level=WARN msg=\"columns were added to a table after its locked ones")
			if tc.want != "" && (warned != 1 || !strings.Contains(log.String(), "table=public.users columns=email")) || tc.want == "" && warned != 0 {
				t.Fatalf("warn: log\n%s", log.String())
			}
		})
	}
}

// With a lock, a table the source reads that the lock lacks stops it.
func TestLockMissingTable(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE users (id int PRIMARY KEY)`, `CREATE TABLE orders (id int PRIMARY KEY)`)
	cfg := config(db, "users", "orders")
	cfg.SnapshotMode = SnapshotInitialOnly
	cfg.Locked = discoverLock(t, config(db, "users"))
	err := openErr(t, cfg)
	if want := "postgres-cdc: table public.orders is not in the schema lock, which holds public.users: run rivven-connect discover -c FILE SOURCE --lock to lock it"; err.Error() != want {
		t.Fatalf("error\n got %v\nwant %s", err, want)
	}
}

// check --connect compares every locked table with the catalog.
func TestLockProbe(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db,
		`CREATE TABLE same (id int PRIMARY KEY, v text)`,
		`CREATE TABLE added (id int PRIMARY KEY, v text)`,
		`CREATE TABLE dropped (id int PRIMARY KEY, v text)`,
		`CREATE TABLE retyped (id int PRIMARY KEY, v text)`,
		`CREATE TABLE wider (id int PRIMARY KEY, v varchar(10))`,
		`CREATE TABLE gone (id int PRIMARY KEY)`,
		`CREATE TABLE spare (id int PRIMARY KEY)`)
	locked := discoverLock(t, config(db, "same", "added", "dropped", "retyped", "wider", "gone", "spare"))
	cluster.Exec(t, db,
		`ALTER TABLE added ADD COLUMN note text`,
		`ALTER TABLE dropped DROP COLUMN v`,
		`ALTER TABLE retyped ALTER COLUMN v TYPE int USING 0`,
		`ALTER TABLE wider ALTER COLUMN v TYPE varchar(20), ALTER COLUMN v SET NOT NULL`,
		`DROP TABLE gone`,
		`CREATE TABLE unlocked (id int PRIMARY KEY)`)
	cfg := config(db, "same", "added", "dropped", "retyped", "wider", "unlocked")
	cfg.Locked = locked
	cfg.LockCommand = "rivven-connect discover -c p.yaml pg --lock"
	const rewrite = "run rivven-connect discover -c p.yaml pg --lock"
	common := []string{
		"ok schema lock public.same: the table's 2 columns match the lock\n",
		"fail schema lock public.dropped: the table no longer matches the lock, so the source would stop (schema_drift: %s): column v (text) was dropped; " + rewrite + " to accept the new schema\n",
		"fail schema lock public.retyped: the table no longer matches the lock, so the source would stop (schema_drift: %s): column v changed type from text (string) to integer (int); " + rewrite + " to accept the new schema\n",
		"warn schema lock public.wider: column v changed type from character varying(10) to character varying(20) (both decode to string); column v became NOT NULL: the records are unchanged, the lock is stale; " + rewrite + "\n",
		"fail schema lock public.gone: locked, but the table no longer exists: " + rewrite + "\n",
		`warn schema lock public.spare: locked, but the source does not capture the table (not published by "p1", or not selected): a stale entry; ` + rewrite + "\n",
		"fail schema lock public.unlocked: the source captures the table, but the lock does not hold it: the source would stop at it; " + rewrite + " to lock it\n",
	}
	for _, mode := range []string{SchemaDriftFail, SchemaDriftWarn} {
		cfg.SchemaDrift = mode
		got := probe(t, cfg)
		want := append([]string{}, common...)
		if mode == SchemaDriftFail {
			want = append(want, "fail schema lock public.added: the table no longer matches the lock, so the source would stop (schema_drift: fail): column note (text, string) was added after the locked ones; "+rewrite+" to accept the new schema\n")
		} else {
			want = append(want, "warn schema lock public.added: column note (text, string) was added after the locked ones: records carry them, code compiled for the lock does not read them (schema_drift: warn); "+rewrite+" to use them\n")
		}
		for _, w := range want {
			if strings.Contains(w, "%s") {
				w = fmt.Sprintf(w, mode)
			}
			if !strings.Contains(got, w) {
				t.Errorf("%s: probe lacks\n%s\nin\n%s", mode, w, got)
			}
		}
		if n := strings.Count(got, "schema lock "); n != 8 {
			t.Errorf("%s: %d schema lock findings, want 8:\n%s", mode, n, got)
		}
	}
	// Without a lock, no schema lock finding.
	cfg.Locked = nil
	if got := probe(t, cfg); strings.Contains(got, "schema lock") {
		t.Errorf("probe without a lock:\n%s", got)
	}
}

// The stream checks each relation message against the lock before it
// decodes the changes that follow: a column added while the source runs
// stops it (fail), or reaches the records (warn) until a column is
// dropped.
func TestLockStreamDrift(t *testing.T) {
	for _, mode := range []string{SchemaDriftFail, SchemaDriftWarn} {
		t.Run(mode, func(t *testing.T) {
			db := cluster.NewDatabase(t)
			cluster.Exec(t, db, `CREATE TABLE users (id int PRIMARY KEY, name text)`)
			cfg := config(db, "users")
			cfg.Locked = discoverLock(t, cfg)
			cfg.SchemaDrift = mode
			s := open(t, cfg)
			cluster.Exec(t, db, `INSERT INTO users VALUES (1, 'a')`)
			if r := read(t, s, 1)[0]; row(r, r.After) != `{"id":1,"name":"a"}` {
				t.Fatalf("record %s", js(r))
			}
			cluster.Exec(t, db, `ALTER TABLE users ADD COLUMN email text`, `INSERT INTO users VALUES (2, 'b', 'b@x')`)
			if mode == SchemaDriftWarn {
				r := read(t, s, 1)[0]
				if got := row(r, r.After); got != `{"id":2,"name":"b","email":"b@x"}` {
					t.Fatalf("warn: record %s", got)
				}
				cluster.Exec(t, db, `ALTER TABLE users DROP COLUMN name`, `INSERT INTO users VALUES (3, 'c@x')`)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			recs := make([]runtime.Record, 4)
			n, err := s.Read(ctx, recs)
			if n > 0 {
				t.Fatalf("a record of the drifted table was delivered: %s (is checkDrift called on relation messages in stream.go?)", js(recs[0]))
			}
			want := "column email (text, string) was added after the locked ones"
			if mode == SchemaDriftWarn {
				want = "column name (position 2) is now email (schema_drift: warn lets through only columns added after the locked ones)"
			}
			want = "postgres-cdc: the columns of table public.users no longer match the schema lock: " + want + "; run rivven-connect discover -c FILE SOURCE --lock to accept the new schema"
			if err == nil || err.Error() != want {
				t.Fatalf("error\n got %v\nwant %s", err, want)
			}
		})
	}
}
