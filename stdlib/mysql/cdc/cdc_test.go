package cdc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mysql/mysqltest"
)

var server *mysqltest.Server

func TestMain(m *testing.M) { mysqltest.Main(m, &server) }

var serverIDs = func() func() int64 {
	var n int64 = 1000
	return func() int64 { n++; return n }
}()

func config(db string, tables ...string) Config {
	ts := make([]string, len(tables))
	for i, t := range tables {
		ts[i] = db + "." + t
	}
	return Config{Host: "127.0.0.1", Port: server.Port, User: mysqltest.Superuser, Password: server.Password,
		ServerID: serverIDs(), Tables: ts, TLS: TLSConfig{Mode: "disable"}}
}

func open(t *testing.T, cfg Config, resume *runtime.Position) *Source {
	t.Helper()
	return openWith(t, cfg, resume, nil)
}

// openWith opens a source resumed at resume (nil: a first start), set up
// by setup (when not nil) before Resume and Open.
func openWith(t *testing.T, cfg Config, resume *runtime.Position, setup func(*Source)) *Source {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	if resume != nil {
		if err := s.Resume(*resume); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Open(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// read reads exactly n records (polling; fails after 30 s).
func read(t *testing.T, s *Source, n int) []runtime.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []runtime.Record
	batch := make([]runtime.Record, 7)
	for len(out) < n {
		k, err := s.Read(ctx, batch[:min(len(batch), n-len(out))])
		out = append(out, batch[:k]...)
		if err != nil {
			t.Fatalf("after %d of %d records: %v", len(out), n, err)
		}
	}
	return out
}

func ints(t *testing.T, recs []runtime.Record, field string) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		row := r.Row()
		i := r.Schema.Index(field)
		if i < 0 {
			t.Fatalf("no field %s in %v", field, r.Schema)
		}
		out = append(out, fmt.Sprintf("%s:%d", r.Op, row[i].AsInt()))
	}
	return out
}

func TestSnapshotThenStreamInsertsUpdatesDeletes(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	s := open(t, config(db, "items"), nil)
	snap := read(t, s, 3)
	if got := strings.Join(ints(t, snap, "id"), " "); got != "snapshot:1 snapshot:2 snapshot:3" {
		t.Fatalf("snapshot: %s", got)
	}
	for i, r := range snap {
		tok, err := parseToken(r.Position.Token)
		if err != nil {
			t.Fatal(err)
		}
		if tok.snapshot != (i < 2) {
			t.Errorf("record %d: token %q (only the last snapshot record carries a plain token)", i, r.Position.Token)
		}
		if want := fmt.Sprintf("snapshot `%s`.`items` #%d", db, i+1); i < 2 && r.Position.Token != want {
			t.Errorf("record %d: token %q, want %q", i, r.Position.Token, want)
		}
		if r.Stream != "items" || r.Namespace != db {
			t.Errorf("stream %s.%s", r.Namespace, r.Stream)
		}
	}
	server.Exec(t, db, "INSERT INTO items VALUES (4, 'd')", "UPDATE items SET name = 'bb' WHERE id = 2", "DELETE FROM items WHERE id = 1",
		"START TRANSACTION; INSERT INTO items VALUES (5, 'e'); INSERT INTO items VALUES (6, 'f'); COMMIT")
	got := read(t, s, 5)
	if g := strings.Join(ints(t, got, "id"), " "); g != "insert:4 update:2 delete:1 insert:5 insert:6" {
		t.Fatalf("stream: %s", g)
	}
	up := got[1]
	if up.Before[1].AsString() != "b" || up.After[1].AsString() != "bb" {
		t.Errorf("update before %v after %v", up.Before, up.After)
	}
	if got[2].After != nil || got[2].Before[1].AsString() != "a" {
		t.Errorf("delete: after %v before %v", got[2].After, got[2].Before)
	}
	// Offsets increase; inside the two-row transaction the first record
	// carries the transaction's start (where the one before it ended) and
	// its change (the first row of its first rows event), the last its
	// end.
	for i := 1; i < len(got); i++ {
		if got[i].Position.Offset <= got[i-1].Position.Offset {
			t.Errorf("offsets %d then %d", got[i-1].Position.Offset, got[i].Position.Offset)
		}
	}
	if got[3].Position.Token != got[2].Position.Token+" #1.1" || strings.Contains(got[4].Position.Token, "#") {
		t.Errorf("transaction tokens: %q %q %q", got[2].Position.Token, got[3].Position.Token, got[4].Position.Token)
	}
	key, _ := got[1].Meta.Get("key")
	if id, _ := key.AsObject().Get("id"); id.AsInt() != 2 {
		t.Errorf("metadata.key %v", key)
	}
	src, _ := got[1].Meta.Get("source")
	if g, _ := src.AsObject().Get("gtid"); !strings.HasPrefix(g.AsString(), "0-1-") {
		t.Errorf("metadata.source.gtid %v", g)
	}
}

func TestRestartFromTheAcknowledgedPosition(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1)")
	cfg := config(db, "k")
	s := open(t, cfg, nil)
	read(t, s, 1)
	server.Exec(t, db, "INSERT INTO k VALUES (2)", "START TRANSACTION; INSERT INTO k VALUES (3); INSERT INTO k VALUES (4); COMMIT",
		"INSERT INTO k VALUES (5)")
	got := read(t, s, 4)
	// Acknowledged: up to id 3, the middle of the transaction {3, 4}.
	acked := got[1].Position
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	server.Exec(t, db, "INSERT INTO k VALUES (6)")
	s2 := open(t, cfg, &acked)
	again := read(t, s2, 3)
	if g := strings.Join(ints(t, again, "id"), " "); g != "insert:4 insert:5 insert:6" {
		t.Fatalf("after restart: %s (want the rest of the transaction, then the rest)", g)
	}
	for i, r := range again[:2] {
		if r.Position.Token != got[i+2].Position.Token {
			t.Errorf("id %d: token %q after the restart, %q before", i+4, r.Position.Token, got[i+2].Position.Token)
		}
	}
	// Resuming at a transaction's end delivers nothing of it again.
	s2.Close()
	end := again[0].Position
	s3 := open(t, cfg, &end)
	if g := strings.Join(ints(t, read(t, s3, 2), "id"), " "); g != "insert:5 insert:6" {
		t.Fatalf("after restart at a transaction's end: %s", g)
	}
	s3.Close()
	// An earlier version's token inside the transaction (the position
	// before it, no change) delivers the transaction again in full.
	old, _, _ := strings.Cut(acked.Token, " #")
	if old != got[0].Position.Token {
		t.Fatalf("the transaction's start %q is not where the one before it ended, %q", old, got[0].Position.Token)
	}
	s4 := open(t, cfg, &runtime.Position{Offset: acked.Offset, Token: old})
	if g := strings.Join(ints(t, read(t, s4, 4), "id"), " "); g != "insert:3 insert:4 insert:5 insert:6" {
		t.Fatalf("after restart at an earlier version's token: %s", g)
	}
}

func TestAbandonedWithoutCloseThenRestart(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1), (2)")
	cfg := config(db, "k")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := read(t, s, 2)
	server.Exec(t, db, "INSERT INTO k VALUES (3)")
	read(t, s, 1)
	// Crash: the source is abandoned (no Close) with only the first
	// snapshot record acknowledged. (Released at the end of the test.)
	t.Cleanup(func() { s.Close() })
	acked := snap[0].Position
	server.Exec(t, db, "INSERT INTO k VALUES (4)")
	s2 := open(t, cfg, &acked)
	got := read(t, s2, 4)
	if g := strings.Join(ints(t, got, "id"), " "); g != "snapshot:1 snapshot:2 snapshot:3 snapshot:4" {
		t.Fatalf("after a crash mid-snapshot: %s (want a new snapshot)", g)
	}
	server.Exec(t, db, "INSERT INTO k VALUES (5)")
	if g := strings.Join(ints(t, read(t, s2, 1), "id"), " "); g != "insert:5" {
		t.Fatalf("then: %s", g)
	}
}

func TestColumnsOfEventsBeforeADDLAreTheirOwn(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE d (id INT PRIMARY KEY, a INT, b VARCHAR(5))")
	cfg := config(db, "d")
	cfg.SnapshotMode = SnapshotNever
	s := open(t, cfg, nil)
	server.Exec(t, db, "INSERT INTO d VALUES (1, 10, 'x')", "ALTER TABLE d DROP COLUMN a, ADD COLUMN c INT FIRST",
		"INSERT INTO d (c, id, b) VALUES (7, 2, 'y')")
	got := read(t, s, 2)
	if f := got[0].Schema.Fields; len(f) != 3 || f[1].Name != "a" || got[0].After[1].AsInt() != 10 {
		t.Errorf("before the DDL: %v %v", f, got[0].After)
	}
	if f := got[1].Schema.Fields; len(f) != 3 || f[0].Name != "c" || got[1].After[0].AsInt() != 7 || got[1].After[1].AsInt() != 2 {
		t.Errorf("after the DDL: %v %v", f, got[1].After)
	}
}

func TestInitialOnlyEnds(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1)")
	cfg := config(db, "k")
	cfg.SnapshotMode = SnapshotInitialOnly
	s := open(t, cfg, nil)
	read(t, s, 1)
	if _, err := s.Read(context.Background(), make([]runtime.Record, 4)); !errors.Is(err, io.EOF) {
		t.Fatalf("after the snapshot: %v, want EOF", err)
	}
}

func TestMisconfiguredServerIsRefusedWithTheFix(t *testing.T) {
	bad := mysqltest.New(t, mysqltest.Options{Settings: map[string]string{"binlog_format": "STATEMENT"}})
	db := bad.NewDatabase(t)
	bad.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
	cfg := Config{Host: "127.0.0.1", Port: bad.Port, User: mysqltest.Superuser, Password: bad.Password, ServerID: 5,
		Tables: []string{db + ".k"}, TLS: TLSConfig{Mode: "disable"}}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "binlog_format is STATEMENT: SET GLOBAL binlog_format = 'ROW'") {
		t.Fatalf("Open: %v", err)
	}
	if strings.Contains(err.Error(), bad.Password) {
		t.Error("the error shows the password")
	}
}

func TestWrongPasswordIsNeverShown(t *testing.T) {
	cfg := config("x", "k")
	cfg.Password = "s3cret-Wrong-pw"
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Access denied") || strings.Contains(err.Error(), cfg.Password) {
		t.Fatalf("Open: %v", err)
	}
	_, err = s.Probe(context.Background())
	if err == nil || strings.Contains(err.Error(), cfg.Password) {
		t.Fatalf("Probe: %v", err)
	}
}
