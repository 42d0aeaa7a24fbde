package enrich

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

// pgConfig returns a config looking customers up in a fresh database
// holding customers 1..5 (tier gold for odd ids).
func pgConfig(t *testing.T) Config {
	t.Helper()
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db,
		`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, tier text, since date, score numeric(6,2), tags jsonb)`,
		`INSERT INTO customers SELECT i, 'c' || i, CASE WHEN i % 2 = 1 THEN 'gold' END, DATE '2020-01-01' + i, i * 1.5, jsonb_build_object('n', i) FROM generate_series(1, 5) i`)
	cfg := Defaults()
	cfg.Name, cfg.Key, cfg.Into = "customer", "customer_id", "customer"
	cfg.Postgres = Postgres{Host: "127.0.0.1", Port: cluster.Port, Database: db, User: pgtest.Superuser, Password: cluster.Password,
		ConnectTimeoutSecs: 10, TLS: cdc.TLSConfig{Mode: "disable"},
		Query: "SELECT id, name, tier FROM customers WHERE id = ANY($1)", Match: "id"}
	cfg.Schema = []Field{{"name", "string"}, {"tier", "string"}}
	return cfg
}

// A batch makes one query for its distinct keys not cached: repeated
// keys, cached ones and null keys cost nothing; a miss is null with
// on_miss keep, and cached as a miss.
func TestPostgresOneQueryPerBatch(t *testing.T) {
	s, _ := newStep(t, pgConfig(t), newClock())
	c := chainOf(s, nil)
	recs := records(1, 2, 2, 3, 99, nil)
	out := c.ProcessBatch(recs)
	if got := s.Calls(); got != 1 {
		t.Fatalf("first batch: %d queries, want 1", got)
	}
	want := []string{`{"name":"c1","tier":"gold"}`, `{"name":"c2","tier":null}`, `{"name":"c2","tier":null}`, `{"name":"c3","tier":"gold"}`, `null`, `null`}
	for i := range recs {
		if !out[i].Keep || out[i].Err != nil {
			t.Fatalf("record %d: %+v", i, out[i])
		}
		if got := into(&recs[i]); got != want[i] {
			t.Errorf("record %d: into = %s, want %s", i, got, want[i])
		}
		if recs[i].Schema.Fields[2].Name != "customer" || recs[i].Schema.Fields[2].Type.String() != "object{name ?string, tier ?string}" {
			t.Errorf("record %d: schema %v", i, recs[i].Schema.Names())
		}
	}
	c.ProcessBatch(records(3, 99, 1, 2))
	if got := s.Calls(); got != 1 {
		t.Fatalf("a batch of cached keys (and a cached miss) queried: %d queries", got)
	}
	recs = records(4, 5, 1)
	c.ProcessBatch(recs)
	if got := s.Calls(); got != 2 {
		t.Fatalf("a batch with new keys: %d queries, want 2", got)
	}
	if got := into(&recs[1]); got != `{"name":"c5","tier":"gold"}` {
		t.Errorf("key 5: %s", got)
	}
}

// on_miss drop drops the record (like a filter); on_miss error fails it
// with a StageError naming the transform, without the key's value.
func TestPostgresOnMiss(t *testing.T) {
	base := pgConfig(t)
	for _, tc := range []struct {
		onMiss string
		keep   bool
		err    string
	}{
		{OnMissDrop, false, ""},
		{OnMissError, false, `transform "customer": enrich: no row for the record's key (field customer_id)`},
		{OnMissKeep, true, ""},
	} {
		cfg := base
		cfg.OnMiss = tc.onMiss
		s, _ := newStep(t, cfg, newClock())
		out := chainOf(s, nil).ProcessBatch(records(424242, 1))
		got := out[0]
		if got.Keep != tc.keep || (got.Err == nil) != (tc.err == "") || got.Err != nil && got.Err.Error() != tc.err {
			t.Errorf("on_miss %s: %+v, want keep %v err %q", tc.onMiss, got, tc.keep, tc.err)
		}
		if got.Err != nil && strings.Contains(got.Err.Error(), "424242") {
			t.Errorf("the error shows the key: %v", got.Err)
		}
		var se *runtime.StageError
		if got.Err != nil && !errors.As(got.Err, &se) {
			t.Errorf("not a StageError: %T", got.Err)
		}
		if !out[1].Keep || out[1].Err != nil {
			t.Errorf("on_miss %s: the record with a row: %+v", tc.onMiss, out[1])
		}
	}
}

// A server that is down fails every record that needed the lookup, after
// a bounded number of retries, with a message naming the transform, the
// server and the reason — never the password. Cached keys still pass.
func TestPostgresServerDown(t *testing.T) {
	cfg := pgConfig(t)
	cfg.Retry = Retry{MaxRetries: 2, InitialBackoffMs: 10, MaxBackoffMs: 15}
	s, waits := newStep(t, cfg, newClock())
	c := chainOf(s, nil)
	c.ProcessBatch(records(1))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	s.Close()
	s.backend.(*pgBackend).cfg.Port = port
	out := c.ProcessBatch(records(1, 2, 3))
	if !out[0].Keep || out[0].Err != nil {
		t.Errorf("a cached key failed: %+v", out[0])
	}
	want := fmt.Sprintf(`transform "customer": enrich: cannot connect to PostgreSQL at 127.0.0.1:%d (database %q, user %q): connection refused (gave up after 2 retries)`, port, cfg.Postgres.Database, cfg.Postgres.User)
	for i := 1; i < 3; i++ {
		if out[i].Err == nil || out[i].Err.Error() != want {
			t.Errorf("record %d: %v\nwant %s", i, out[i].Err, want)
		}
	}
	if got := fmt.Sprint(*waits); got != "[10ms 15ms]" {
		t.Errorf("waits between retries %s, want [10ms 15ms]", got)
	}
	if s.Calls() != 4 {
		t.Errorf("%d calls, want 1 + 3 attempts", s.Calls())
	}
}

// Wrong credentials are not retried, and the message never shows the
// password.
func TestPostgresBadPasswordNotRetried(t *testing.T) {
	cfg := pgConfig(t)
	cfg.Postgres.Password = "wrong-pass-XYZ"
	s, waits := newStep(t, cfg, newClock())
	out := chainOf(s, nil).ProcessBatch(records(1))
	if out[0].Err == nil || strings.Contains(out[0].Err.Error(), "wrong-pass-XYZ") || !strings.Contains(out[0].Err.Error(), "password authentication failed") {
		t.Fatalf("error %v", out[0].Err)
	}
	if len(*waits) != 0 {
		t.Errorf("retried a refused password: %v", *waits)
	}
}

// Column values convert as documented; without a schema every column is
// merged in result order.
func TestPostgresValues(t *testing.T) {
	cfg := pgConfig(t)
	cfg.Schema = nil
	cfg.Postgres.Query = `SELECT id, name, since, score, tags, ARRAY[id, id+1] AS pair, '\x0102'::bytea AS raw,
		TIMESTAMPTZ '2024-05-06 07:08:09.5+02' AS at, 0.5::float8 AS half, gen_random_uuid() IS NOT NULL AS ok FROM customers WHERE id = ANY($1)`
	s, _ := newStep(t, cfg, newClock())
	recs := records(2)
	out := chainOf(s, nil).ProcessBatch(recs)
	if out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	want := `{"id":2,"name":"c2","since":"2020-01-03","score":"3.00","tags":{"n":2},"pair":[2,3],"raw":"AQI=","at":"2024-05-06T05:08:09.5Z","half":0.5,"ok":true}`
	if got := into(&recs[0]); got != want {
		t.Errorf("row\n got %s\nwant %s", got, want)
	}
}

// A declared type the column does not convert to fails the lookup,
// naming the field.
func TestPostgresSchemaMismatch(t *testing.T) {
	cfg := pgConfig(t)
	cfg.Schema = []Field{{"name", "int"}}
	s, _ := newStep(t, cfg, newClock())
	out := chainOf(s, nil).ProcessBatch(records(1))
	if out[0].Err == nil || !strings.Contains(out[0].Err.Error(), "field name of the row holds a string where the schema declares int") {
		t.Fatalf("error %v", out[0].Err)
	}
}

// Probe prepares the query and checks its parameter, the match column and
// the declared fields, and lists the result's columns.
func TestPostgresProbe(t *testing.T) {
	base := pgConfig(t)
	probe := func(mod func(*Config)) string {
		cfg := base
		mod(&cfg)
		fs, err := New(cfg, nil).Probe(t.Context())
		if err != nil {
			return "error: " + err.Error()
		}
		var b strings.Builder
		for _, f := range fs {
			fmt.Fprintf(&b, "%s %s: %s\n", f.Level, f.Check, f.Detail)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"good", func(*Config) {}, "ok query parameters: $1 is of type int4[] (the keys of a batch)\nok match column: the result has column \"id\"\nok schema.name: column of string\nok schema.tier: column of string\n"},
		{"scalar parameter", func(c *Config) { c.Postgres.Query = "SELECT id, name, tier FROM customers WHERE id = $1" },
			"fail query parameters: $1 is of type int4, not an array: compare the key column with = ANY($1)\n"},
		{"no match column", func(c *Config) { c.Postgres.Match = "cid" }, "fail match column: the query's result has no column \"cid\"; its columns: id int, name string, tier string\n"},
		{"declared field missing", func(c *Config) { c.Schema = []Field{{"nam", "string"}} }, "fail schema.nam: the query's result has no column \"nam\""},
		{"declared type", func(c *Config) { c.Schema = []Field{{"tier", "int"}} }, "fail schema.tier: the column is string; its values do not convert to the declared int\n"},
		{"no schema", func(c *Config) { c.Schema = nil }, "ok result columns: id int, name string, tier string (declare them under schema: to type conditions on customer)\n"},
		{"bad sql", func(c *Config) { c.Postgres.Query = "SELECT nope FROM customers WHERE id = ANY($1)" },
			"fail query: the server refuses the query: column \"nope\" does not exist (SQLSTATE 42703)\n"},
	} {
		if got := probe(tc.mod); !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n%s\nwant it to contain\n%s", tc.name, got, tc.want)
		}
	}
}
