package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

// TestPostgresAgainstAServer runs the PostgreSQL-facing commands against a
// throwaway server: check --connect, discover, and the legacy postgres
// command (URL and key=value forms).
func TestPostgresAgainstAServer(t *testing.T) {
	cl := pgtest.New(t, pgtest.Options{})
	db := cl.NewDatabase(t)
	cl.Exec(t, db, `CREATE TABLE items (id int PRIMARY KEY, price numeric(8,2), name text)`,
		`INSERT INTO items VALUES (1, 9.99, 'pen'), (2, 120.50, 'lamp')`, `CREATE TABLE loose (v int)`)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pg.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
sources:
  pg: {connector: postgres-cdc, config: {host: 127.0.0.1, port: %d, database: %s, user: %s, password: "${PGPW}", tables: [items, loose], tls: {mode: disable}}}
sinks:
  out: {connector: stdout}
pipelines:
  cdc: {source: pg, sink: out}
`, cl.Port, db, pgtest.Superuser))
	t.Setenv("PGPW", cl.Password)

	out, errOut, code := mainOut(t, "check", "-c", cfg, "--connect")
	if code != exitFailure || !strings.Contains(out, "  OK    wal_level: logical") ||
		!strings.Contains(out, "  FAIL  replica identity public.loose: DEFAULT without a primary key") ||
		!strings.Contains(out, "connect: 1 failure, 0 warnings") || strings.Contains(out+errOut, cl.Password) {
		t.Errorf("check --connect: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = mainOut(t, "discover", "-c", cfg, "pg")
	var cat struct {
		Streams []struct {
			Name       string
			JSONSchema struct {
				Properties map[string]map[string]any
			} `json:"json_schema"`
			PK [][]string `json:"source_defined_primary_key"`
		}
	}
	if err := json.Unmarshal([]byte(out), &cat); err != nil || code != exitOK {
		t.Fatalf("discover: exit %d %v\n%s%s", code, err, out, errOut)
	}
	if len(cat.Streams) != 2 || cat.Streams[0].Name != "items" || fmt.Sprint(cat.Streams[0].PK) != "[[id]]" ||
		cat.Streams[0].JSONSchema.Properties["price"]["x-source-type"] != "numeric(8,2)" {
		t.Errorf("catalog:\n%s", out)
	}

	// The legacy command with a URL: snapshot, then a streamed insert, then a graceful stop.
	stop := make(chan struct{})
	runHooks.Stop = stop
	defer func() { runHooks.Stop = nil }()
	var sout, serr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main([]string{"postgres", "--connection", cl.DSN(db), "--slot", pgtest.SlotName(db), "--publication", "legacy_pub",
			"--table", "items", "--state-dir", filepath.Join(dir, "state")}, strings.NewReader(""), &sout, &serr)
	}()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(sout.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in output:\n%s\nstderr:\n%s", want, sout.String(), serr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOut(`"name":"lamp"`)
	cl.Exec(t, db, `INSERT INTO items VALUES (3, 1.00, 'clip')`)
	waitOut(`"name":"clip"`)
	close(stop)
	if code := <-done; code != exitOK {
		t.Fatalf("postgres exit %d: %s", code, serr.String())
	}
	runHooks.Stop = nil
	if s := sout.String() + serr.String(); strings.Contains(s, cl.Password) || !strings.Contains(s, `"price":"120.50"`) {
		t.Fatalf("output:\n%s", s)
	}

	// key=value form, initial_only: the snapshot, then the command ends by itself.
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s password=%s sslmode=disable", cl.Port, db, pgtest.Superuser, cl.Password)
	out, errOut, code = mainOut(t, "postgres", "--connection", dsn, "--publication", "legacy_pub", "--snapshot-mode", "initial_only")
	if code != exitOK || strings.Count(out, `"event_type":"snapshot"`) != 3 || strings.Contains(out+errOut, cl.Password) {
		t.Fatalf("key=value initial_only: exit %d\n%s%s", code, out, errOut)
	}

	// Usage errors never echo the connection string's password.
	_, errOut, code = mainOut(t, "postgres", "--connection", "postgres://u:leak-me@[bad/db")
	if code != exitUsage || strings.Contains(errOut, "leak-me") || !strings.Contains(errOut, "invalid --connection") {
		t.Fatalf("bad URL: exit %d %s", code, errOut)
	}
	_, errOut, code = mainOut(t, "postgres", "--connection", cl.DSN(db), "--topic", "t")
	if code != exitUsage || !strings.Contains(errOut, "--topic and --broker go together") {
		t.Fatalf("--topic alone: exit %d %s", code, errOut)
	}
}

// TestCDCAddColumnRegistersVersion2 streams a table to stdout in avro: a
// column added mid-stream registers version 2 of the subject (backward).
func TestCDCAddColumnRegistersVersion2(t *testing.T) {
	cl := pgtest.New(t, pgtest.Options{})
	db := cl.NewDatabase(t)
	cl.Exec(t, db, `CREATE TABLE people (id int PRIMARY KEY, name text)`, `INSERT INTO people VALUES (1, 'ada')`)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pg.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
sources:
  pg: {connector: postgres-cdc, config: {host: 127.0.0.1, port: %d, database: %s, user: %s, password: "${PGPW}", slot_name: %s, tables: [people], tls: {mode: disable}}}
sinks:
  out: {connector: stdout, config: {format: avro}}
pipelines:
  cdc: {source: pg, sink: out}
settings:
  state_dir: %s
`, cl.Port, db, pgtest.Superuser, pgtest.SlotName(db), filepath.Join(dir, "state")))
	t.Setenv("PGPW", cl.Password)
	stop := make(chan struct{})
	runHooks.Stop = stop
	defer func() { runHooks.Stop = nil }()
	var sout, serr syncBuffer
	done := make(chan int, 1)
	go func() { done <- Main([]string{"run", "-c", cfg}, strings.NewReader(""), &sout, &serr) }()
	lines := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(sout.String(), "\n") < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d lines, want %d:\n%s\nstderr:\n%s", strings.Count(sout.String(), "\n"), n, sout.String(), serr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	lines(1) // the snapshot row
	cl.Exec(t, db, `ALTER TABLE people ADD COLUMN email text`, `INSERT INTO people VALUES (2, 'bob', 'b@x.io')`)
	lines(2)
	close(stop)
	if code := <-done; code != exitOK {
		t.Fatalf("run exit %d: %s", code, serr.String())
	}
	runHooks.Stop = nil
	out, errOut, code := mainOut(t, "schema", "-c", cfg, "list")
	if code != exitOK || !strings.Contains(out, "people-value\tversions 1,2") {
		t.Fatalf("schema list: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = mainOut(t, "schema", "-c", cfg, "get", "people-value", "2")
	if !strings.Contains(out, `\"email\"`) || !strings.Contains(out, `"version": 2`) {
		t.Fatalf("version 2:\n%s", out)
	}
}
