package cdc

import (
	"context"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

func findings(fs []runtime.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Level + " " + f.Check + ": " + f.Detail + "\n")
	}
	return b.String()
}

func probe(t *testing.T, cfg Config) string {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return findings(fs)
}

func TestProbe(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE ok (id int PRIMARY KEY)`, `CREATE TABLE nopk (v int)`,
		`CREATE TABLE full_t (v int)`, `ALTER TABLE full_t REPLICA IDENTITY FULL`)

	// Before anything exists: what will be created, and the table that would break.
	got := probe(t, config(db, "ok", "nopk", "missing"))
	for _, want := range []string{
		"ok server: 127.0.0.1:", "ok wal_level: logical", "ok replication privilege: user \"" + cfgUser() + "\" is a superuser",
		`ok publication: "p1" does not exist yet; it will be created`,
		"fail table public.missing: does not exist",
		"ok replica identity public.ok: DEFAULT (primary key)",
		"fail replica identity public.nopk: DEFAULT without a primary key",
		"ok slot " + slotOf(db) + ": does not exist yet; it will be created",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("probe lacks %q:\n%s", want, got)
		}
	}
	// Nothing was created.
	var n int
	if err := conn(t, db).QueryRow(context.Background(), `SELECT (SELECT count(*) FROM pg_publication) + (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)`, slotOf(db)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("probe created %d objects (%v)", n, err)
	}

	// A running source: publication and slot exist.
	s := open(t, config(db, "ok", "full_t"))
	cluster.Exec(t, db, `INSERT INTO ok VALUES (1)`)
	read(t, s, 1)
	got = probe(t, config(db, "ok", "full_t", "nopk"))
	for _, want := range []string{
		`ok publication: "p1" publishes public.full_t, public.ok`,
		`warn table public.nopk: listed in tables but not published by "p1"`,
		"ok replica identity public.full_t: FULL",
		"warn slot " + slotOf(db) + ": exists (pgoutput, wal_status reserved), holds ",
		"in use by another process",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("probe lacks %q:\n%s", want, got)
		}
	}

	// A user without REPLICATION.
	plain := cluster.NewRole(t, "plainpw", "")
	cfg := config(db, "ok")
	cfg.User, cfg.Password = plain, "plainpw"
	got = probe(t, cfg)
	if !strings.Contains(got, `fail replication privilege: user "`+plain+`" lacks the REPLICATION attribute`) {
		t.Errorf("probe as a plain user:\n%s", got)
	}
}

func cfgUser() string { return config("x").User }

func TestDiscover(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE orders (b int, a int, price numeric(10,2), at timestamptz, note text, PRIMARY KEY (a, b))`,
		`CREATE TABLE other (v int)`)
	s, err := New(config(db, "orders"), nil)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := s.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 {
		t.Fatalf("streams %+v, want the configured table only", streams)
	}
	st := streams[0]
	var names []string
	for _, f := range st.Schema.Fields {
		names = append(names, f.Name)
	}
	if st.Name != "orders" || st.Namespace != "public" || strings.Join(names, ",") != "b,a,price,at,note" ||
		strings.Join(st.PrimaryKey, ",") != "a,b" || st.NativeTypes["price"] != "numeric(10,2)" || st.NativeTypes["at"] != "timestamp with time zone" {
		t.Fatalf("discovered %+v (fields %v)", st, names)
	}
	if k := st.Schema.Fields[2].Type.Kind; k != runtime.KindString {
		t.Fatalf("numeric maps to %v, want string (exact)", k)
	}
	// No tables listed, no publication: every user table.
	cfg := config(db)
	s2, _ := New(cfg, nil)
	streams, err = s2.Discover(context.Background())
	if err != nil || len(streams) != 2 || streams[0].Name != "orders" || streams[1].Name != "other" {
		t.Fatalf("all tables: %+v, %v", streams, err)
	}
}
