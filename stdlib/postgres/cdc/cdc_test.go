package cdc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	pgtest.Main(m, &cluster)
}

// config returns a source config for db with fast status updates. Its
// slot is slotOf(db): slot names are cluster-wide, so tests must not share
// one (a slot left behind by one test would break the next).
func config(db string, tables ...string) Config {
	return Config{
		Host: "127.0.0.1", Port: cluster.Port, Database: db, User: pgtest.Superuser, Password: cluster.Password,
		SlotName: slotOf(db), Publication: "p1", Tables: tables, SnapshotMode: SnapshotInitial,
		HeartbeatIntervalSecs: 1, AutoCreateSlot: true, AutoCreatePublication: true, TLS: TLSConfig{Mode: "disable"},
	}
}

// slotOf is the slot of the tests on database db, unique in the cluster.
func slotOf(db string) string { return pgtest.SlotName(db) }

func open(t *testing.T, cfg Config) *Source {
	t.Helper()
	return openState(t, cfg, nil)
}

// openState opens a source whose state blob is b (nil: no state_dir).
func openState(t *testing.T, cfg Config, b runtime.StateBlob) *Source {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.UseState(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Open(ctx); err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// read reads until n records arrived (failing after 20 s).
func read(t *testing.T, s *Source, n int) []runtime.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []runtime.Record
	batch := make([]runtime.Record, 64)
	for len(out) < n {
		k, err := s.Read(ctx, batch[:min(len(batch), n-len(out))])
		out = append(out, batch[:k]...)
		if err != nil {
			t.Fatalf("read after %d of %d records: %v", len(out), n, err)
		}
	}
	return out
}

// quiet checks that no record arrives within d.
func quiet(t *testing.T, s *Source, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	batch := make([]runtime.Record, 8)
	if n, err := s.Read(ctx, batch); n > 0 {
		t.Fatalf("unexpected record %s", js(batch[0]))
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
}

func js(r runtime.Record) string {
	return string(runtime.AppendSourceEvent(nil, &r, true, false))
}

func ackAll(t *testing.T, s *Source, recs []runtime.Record) {
	t.Helper()
	if err := s.Ack(context.Background(), recs[len(recs)-1].Position); err != nil {
		t.Fatal(err)
	}
}

func conn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), cluster.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// confirmedFlush is the confirmed_flush_lsn of db's slot (slotOf).
func confirmedFlush(t *testing.T, db string) string {
	t.Helper()
	var lsn string
	if err := conn(t, db).QueryRow(context.Background(), `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, slotOf(db)).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	return lsn
}

func row(r runtime.Record, vals []runtime.Value) string {
	if vals == nil {
		return "null"
	}
	return string(runtime.AppendJSONRow(nil, r.Schema, vals, "", 0))
}

func TestInsertUpdateDelete(t *testing.T) {
	for _, ident := range []string{"DEFAULT", "FULL"} {
		t.Run(ident, func(t *testing.T) {
			db := cluster.NewDatabase(t)
			cluster.Exec(t, db, `CREATE TABLE items (id int PRIMARY KEY, name text, qty int)`,
				`ALTER TABLE items REPLICA IDENTITY `+ident)
			s := open(t, config(db, "items"))
			cluster.Exec(t, db, `INSERT INTO items VALUES (1, 'a', 10)`,
				`UPDATE items SET qty = 11 WHERE id = 1`,
				`DELETE FROM items WHERE id = 1`)
			recs := read(t, s, 3)
			var got []string
			for _, r := range recs {
				got = append(got, fmt.Sprintf("%s %s.%s before=%s after=%s", r.Op, r.Namespace, r.Stream, row(r, r.Before), row(r, r.After)))
			}
			want := []string{
				`insert public.items before=null after={"id":1,"name":"a","qty":10}`,
				`update public.items before=null after={"id":1,"name":"a","qty":11}`,
				`delete public.items before={"id":1} after=null`,
			}
			if ident == "FULL" {
				want[1] = `update public.items before={"id":1,"name":"a","qty":10} after={"id":1,"name":"a","qty":11}`
				want[2] = `delete public.items before={"id":1,"name":"a","qty":11} after=null`
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for i, r := range recs {
				if r.Position.Offset != uint64(i+1) {
					t.Errorf("record %d has offset %d", i, r.Position.Offset)
				}
				m := js(r)
				for _, k := range []string{`"transaction_id":`, `"key":{"id":1}`, `"source":{"connector":"postgres-cdc","database":"` + db + `","schema":"public","table":"items","lsn":"`, `"snapshot":false`} {
					if !strings.Contains(m, k) {
						t.Errorf("metadata of %s lacks %s", m, k)
					}
				}
			}
		})
	}
}

func TestTruncateAndToast(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE docs (id int PRIMARY KEY, body text, n int)`,
		`ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL`)
	s := open(t, config(db, "docs"))
	cluster.Exec(t, db, `INSERT INTO docs SELECT 1, string_agg(md5(i::text), '') , 0 FROM generate_series(1, 200) i`,
		`UPDATE docs SET n = 1`, `TRUNCATE docs`)
	recs := read(t, s, 3)
	if v := recs[1].After[1]; v.AsString() != UnchangedToast {
		t.Fatalf("unchanged TOAST value = %v, want the marker", v)
	}
	if m := js(recs[1]); !strings.Contains(m, `"unchanged_toast":["body"]`) {
		t.Fatalf("metadata lacks unchanged_toast: %s", m)
	}
	if recs[2].Op != runtime.OpTruncate || recs[2].Stream != "docs" {
		t.Fatalf("got %s, want a truncate of docs", js(recs[2]))
	}
}

// typesTable has a column of every decoded type.
const typesTable = `CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE t (id int PRIMARY KEY, b bool, i2 int2, i8 int8, f4 float4, f8 float8, fnan float8, finf float8,
  num numeric, numbig numeric(40,20), t text, vc varchar(10), u uuid, by bytea, d date, dinf date, tm time,
  ts timestamp, tsinf timestamp, tstz timestamptz, tstzninf timestamptz, iv interval, j json, jb jsonb,
  ai int[], at text[], a2 int[][], m mood, p posint, nul text)`

const typesRow = `(%d, true, -32768, 9223372036854775807, 1.5, 0.1, 'NaN', '-Infinity',
  123.4500, 12345678901234567890.12345678901234567890, 'héllo "x"', 'abc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x00ff10',
  '2024-02-29', 'infinity', '13:14:15.5', '2024-01-02 03:04:05.123456', 'infinity', '2024-01-02 03:04:05+02', '-infinity',
  '1 year 2 mons 3 days 04:05:06', '{"b": 1, "a": [1, 2.5, 12345678901234567890123]}', '{"b": 1, "a": {"x": null}}',
  '{1,NULL,3}', '{"a b","c,d","e\"f",NULL}', '{{1,2},{3,4}}', 'happy', 7, NULL)`

func TestTypesSnapshotEqualsStream(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, typesTable, fmt.Sprintf("INSERT INTO t VALUES "+typesRow, 1))
	s := open(t, config(db, "t"))
	snap := read(t, s, 1)[0]
	if m := js(snap); !strings.Contains(m, `"transaction_id":null,"key":{"id":1}`) || !strings.Contains(m, `"snapshot":true`) {
		t.Fatalf("snapshot metadata: %s", m)
	}
	cluster.Exec(t, db, fmt.Sprintf("INSERT INTO t VALUES "+typesRow, 2))
	str := read(t, s, 1)[0]
	if snap.Op != runtime.OpSnapshot || str.Op != runtime.OpInsert {
		t.Fatalf("ops %s, %s", snap.Op, str.Op)
	}
	sa := string(runtime.AppendJSONRow(nil, runtime.NewSchema(snap.Schema.Fields[1:]...), snap.After[1:], "", 0))
	sb := string(runtime.AppendJSONRow(nil, runtime.NewSchema(str.Schema.Fields[1:]...), str.After[1:], "", 0))
	if sa != sb {
		t.Fatalf("snapshot and stream differ:\nsnapshot %s\nstream   %s", sa, sb)
	}
	want := `{"b":true,"i2":-32768,"i8":9223372036854775807,"f4":1.5,"f8":0.1,"fnan":"NaN","finf":"-Infinity",` +
		`"num":"123.4500","numbig":"12345678901234567890.12345678901234567890","t":"héllo \"x\"","vc":"abc",` +
		`"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","by":"AP8Q","d":"2024-02-29","dinf":"infinity","tm":"13:14:15.5",` +
		`"ts":"2024-01-02T03:04:05.123456","tsinf":"infinity","tstz":"2024-01-02T01:04:05Z","tstzninf":"-infinity",` +
		`"iv":"P1Y2M3DT4H5M6S","j":{"b":1,"a":[1,2.5,12345678901234567890123]},"jb":{"a":{"x":null},"b":1},` +
		`"ai":[1,null,3],"at":["a b","c,d","e\"f",null],"a2":[[1,2],[3,4]],"m":"happy","p":7,"nul":null}`
	if sa != want {
		t.Fatalf("values\n got %s\nwant %s", sa, want)
	}
	types := map[string]runtime.Kind{"i8": runtime.KindInt, "f8": runtime.KindFloat, "b": runtime.KindBool, "num": runtime.KindString, "ai": runtime.KindArray, "p": runtime.KindInt}
	for name, k := range types {
		if f := str.Schema.Fields[str.Schema.Index(name)]; f.Type.Kind != k {
			t.Errorf("field %s has type %s, want %s", name, f.Type, k)
		}
	}
}

func TestSnapshotHandoffUnderConcurrentInserts(t *testing.T) {
	const n = 3000
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE seq (id int PRIMARY KEY)`, `INSERT INTO seq SELECT generate_series(1, 500)`)
	c := conn(t, db)
	var wg sync.WaitGroup
	wg.Add(1)
	errc := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 501; i <= n; i += 10 {
			if _, err := c.Exec(context.Background(), `INSERT INTO seq SELECT generate_series($1::int, $1::int + 9)`, i); err != nil {
				errc <- err
				return
			}
			time.Sleep(2 * time.Millisecond) // spread the inserts over the slot's creation and the snapshot
		}
	}()
	time.Sleep(50 * time.Millisecond)
	s := open(t, config(db, "seq"))
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	recs := read(t, s, n)
	seen := map[int64]int{}
	snaps := 0
	for _, r := range recs {
		seen[r.After[0].AsInt()]++
		if r.Op == runtime.OpSnapshot {
			snaps++
		}
	}
	for i := int64(1); i <= n; i++ {
		if seen[i] != 1 {
			t.Fatalf("id %d seen %d times (snapshot rows %d)", i, seen[i], snaps)
		}
	}
	quiet(t, s, 300*time.Millisecond)
	if snaps <= 500 || snaps >= n {
		t.Fatalf("%d rows from the snapshot: the inserts did not overlap the hand-off", snaps)
	}
	t.Logf("%d rows from the snapshot, %d streamed", snaps, n-snaps)
}

func TestUnacknowledgedNeverFlushed(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE k (id int PRIMARY KEY)`)
	s := open(t, config(db, "k"))
	before := confirmedFlush(t, db)
	cluster.Exec(t, db, `INSERT INTO k VALUES (1)`, `INSERT INTO k VALUES (2)`)
	recs := read(t, s, 2)
	time.Sleep(2500 * time.Millisecond) // more than two status intervals, no Ack
	if got := confirmedFlush(t, db); got != before {
		t.Fatalf("confirmed_flush_lsn moved from %s to %s without an acknowledgement", before, got)
	}
	// Acknowledging the first transaction only moves it to that commit.
	if err := s.Ack(context.Background(), recs[0].Position); err != nil {
		t.Fatal(err)
	}
	waitFlush(t, db, func(lsn string) bool { return lsn != before })
	mid := confirmedFlush(t, db)
	ackAll(t, s, recs)
	waitFlush(t, db, func(lsn string) bool { return lsn != mid })
}

func waitFlush(t *testing.T, db string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lsn := confirmedFlush(t, db)
		if ok(lsn) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("confirmed_flush_lsn stuck at %s", lsn)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRestartResumesFromSlot(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE r (id int PRIMARY KEY)`, `INSERT INTO r SELECT generate_series(1, 10)`)
	cfg := config(db, "r")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // when the test fails before its Close
	blob := newBlob(t)
	s.UseState(blob)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := read(t, s, 10) // the snapshot
	ackAll(t, s, recs)
	for i := 11; i <= 20; i++ {
		cluster.Exec(t, db, fmt.Sprintf(`INSERT INTO r VALUES (%d)`, i))
	}
	recs = read(t, s, 10)
	ackAll(t, s, recs[:5]) // ids 11..15 acknowledged, 16..20 not
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, db, `INSERT INTO r SELECT generate_series(21, 30)`)

	s2 := openState(t, cfg, blob)
	got := read(t, s2, 15)
	var ids []int64
	for _, r := range got {
		if r.Op != runtime.OpInsert {
			t.Fatalf("restart re-snapshotted: %s", js(r))
		}
		ids = append(ids, r.After[0].AsInt())
	}
	if fmt.Sprint(ids) != "[16 17 18 19 20 21 22 23 24 25 26 27 28 29 30]" {
		t.Fatalf("after restart got ids %v", ids)
	}
}

func TestIdentifierInjectionRejected(t *testing.T) {
	for _, c := range []struct {
		name string
		mut  func(*Config)
	}{
		{"slot", func(c *Config) { c.SlotName = `s"; DROP TABLE x; --` }},
		{"slot upper", func(c *Config) { c.SlotName = "Slot" }},
		{"slot long", func(c *Config) { c.SlotName = strings.Repeat("a", 64) }},
		{"publication", func(c *Config) { c.Publication = `p'; DROP TABLE x` }},
		{"schema", func(c *Config) { c.Schemas = []string{`public"`} }},
		{"table", func(c *Config) { c.Tables = []string{`t; DROP TABLE t`} }},
		{"qualified table", func(c *Config) { c.Tables = []string{`a.b.c`} }},
		{"host", func(c *Config) { c.Host = `h' dbname='other` }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config("nosuchdb", "t")
			cfg.Port = 1 // nothing listens: New must fail before any connection
			c.mut(&cfg)
			if _, err := New(cfg, nil); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	const canary = "canary-Pw-31337"
	db := cluster.NewDatabase(t)
	repl := cluster.NewRole(t, canary, "REPLICATION")
	for _, c := range []struct {
		name string
		mut  func(*Config)
	}{
		{"wrong database", func(c *Config) { c.Database = "nosuchdb" }},
		{"wrong user", func(c *Config) { c.User = "nobody" }},
		{"bad ca file", func(c *Config) { c.TLS = TLSConfig{Mode: "verify-full", CACertPath: "/nonexistent/ca.pem"} }},
		{"refused", func(c *Config) { c.Port = 1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(db, "t")
			cfg.User, cfg.Password = repl, canary
			c.mut(&cfg)
			s, err := New(cfg, nil)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err = s.Open(ctx)
				cancel()
				_ = s.Close()
			}
			if err == nil {
				t.Fatal("expected an error")
			}
			if strings.Contains(err.Error(), canary) {
				t.Fatalf("the password leaked: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestRefuseAllTablesWithoutReplicaIdentity(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE good (id int PRIMARY KEY)`, `CREATE TABLE nokey (v int)`)
	s, err := New(config(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "public.nokey") || strings.Contains(err.Error(), "public.good") {
		t.Fatalf("got %v, want a refusal naming public.nokey", err)
	}
}

func TestAddColumnMidStream(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE a (id int PRIMARY KEY)`)
	s := open(t, config(db, "a"))
	cluster.Exec(t, db, `INSERT INTO a VALUES (1)`, `ALTER TABLE a ADD COLUMN note text`, `INSERT INTO a VALUES (2, 'x')`,
		`ALTER TABLE a DROP COLUMN note`, `INSERT INTO a VALUES (3)`)
	recs := read(t, s, 3)
	var got []string
	for _, r := range recs {
		got = append(got, row(r, r.After))
	}
	if want := `{"id":1} {"id":2,"note":"x"} {"id":3}`; strings.Join(got, " ") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, " "), want)
	}
}

func TestIdleSlotAdvances(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE pub (id int PRIMARY KEY)`, `CREATE TABLE other (id int)`)
	s := open(t, config(db, "pub"))
	quiet(t, s, 200*time.Millisecond) // finishes the (empty) snapshot; streaming starts
	before := confirmedFlush(t, db)
	cluster.Exec(t, db, `INSERT INTO other SELECT generate_series(1, 1000)`, `SELECT pg_switch_wal()`)
	waitFlush(t, db, func(lsn string) bool { return lsn != before })
}

func TestUnacknowledgedSnapshotDropsItsSlot(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE sn (id int PRIMARY KEY)`, `INSERT INTO sn SELECT generate_series(1, 5)`)
	cfg := config(db, "sn")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // when the test fails before its Close
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	read(t, s, 3) // part of the snapshot, never acknowledged
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn(t, db).QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, slotOf(db)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("slot count %d (%v), want the slot dropped so the next start snapshots again", n, err)
	}
	s2 := open(t, cfg)
	if recs := read(t, s2, 5); recs[4].Op != runtime.OpSnapshot {
		t.Fatalf("restart did not snapshot: %s", js(recs[4]))
	}
}

func TestSlotDroppedWhileStreamingIsDataLoss(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE d (id int PRIMARY KEY)`)
	s := open(t, config(db, "d"))
	cluster.Exec(t, db, `INSERT INTO d VALUES (1)`)
	ackAll(t, s, read(t, s, 1))
	// Terminate the walsender and drop the slot before the source reconnects.
	cluster.Exec(t, db, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '`+slotOf(db)+`'`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if _, err = conn(t, db).Exec(context.Background(), `SELECT pg_drop_replication_slot('`+slotOf(db)+`')`); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := s.Read(ctx, make([]runtime.Record, 4))
	if err == nil || !strings.Contains(err.Error(), "possible data loss") {
		t.Fatalf("got %v, want a possible-data-loss error", err)
	}
}

func TestWalsenderTerminatedReconnects(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE w (id int PRIMARY KEY)`)
	s := open(t, config(db, "w"))
	before := confirmedFlush(t, db)
	cluster.Exec(t, db, `INSERT INTO w VALUES (1)`)
	ackAll(t, s, read(t, s, 1))
	// The acknowledgement has reached the server: the restarted walsender
	// starts after row 1.
	waitFlush(t, db, func(lsn string) bool { return lsn != before })
	cluster.Exec(t, db, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '`+slotOf(db)+`'`,
		`INSERT INTO w VALUES (2)`)
	recs := read(t, s, 1)
	if recs[0].After[0].AsInt() != 2 {
		t.Fatalf("after reconnect got %s, want id 2", js(recs[0]))
	}
}

func TestSnapshotCompositeKeyOrderAndChunks(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE ck (b int, a int, v text, PRIMARY KEY (a, b))`,
		`INSERT INTO ck SELECT i % 7, i / 7, 'x' FROM generate_series(2499, 0, -1) i`,
		`CREATE TABLE nopk (v int)`, `ALTER TABLE nopk REPLICA IDENTITY FULL`, `INSERT INTO nopk SELECT generate_series(1, 1500)`)
	s := open(t, config(db, "ck", "nopk"))
	recs := read(t, s, 4000)
	for i, r := range recs[:2500] {
		if a, b := r.After[1].AsInt(), r.After[0].AsInt(); a*7+b != int64(i) || r.Stream != "ck" {
			t.Fatalf("record %d is (a=%d, b=%d) of %s: not in primary-key order", i, a, b, r.Stream)
		}
	}
	if m := js(recs[0]); !strings.Contains(m, `"key":{"b":0,"a":0}`) {
		t.Fatalf("key metadata: %s", m)
	}
	seen := map[int64]bool{}
	for _, r := range recs[2500:] {
		seen[r.After[0].AsInt()] = true
	}
	if len(seen) != 1500 {
		t.Fatalf("nopk: %d distinct rows, want 1500", len(seen))
	}
}
