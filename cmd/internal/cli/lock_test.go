package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

// TestSchemaLockTypesCDCPipelines is the schema lock from a user's seat:
// without a lock a typo in a condition on a CDC stream passes check; after
// discover --lock, check reports it at its column (and a type error), the
// plan is typed (no expr VM), and the typed run gives the same records as
// the by-name run.
func TestSchemaLockTypesCDCPipelines(t *testing.T) {
	cl := pgtest.New(t, pgtest.Options{})
	db := cl.NewDatabase(t)
	cl.Exec(t, db, `CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text, age int, score numeric(6,2), tags text[], doc jsonb)`,
		`INSERT INTO users SELECT i, 'user-' || i, 'u' || i || '@example.com', 18 + i % 50, i * 1.25, ARRAY['a', 'b' || i], jsonb_build_object('n', i) FROM generate_series(1, 300) i`,
		`INSERT INTO users VALUES (1000, 'nulls', NULL, NULL, NULL, NULL, NULL)`)
	t.Setenv("PGPW", cl.Password)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cdc.yaml")
	write := func(cond string) {
		writeFile(t, cfg, fmt.Sprintf(`
sources:
  db: {connector: postgres-cdc, config: {host: 127.0.0.1, port: %d, database: %s, user: %s, password: "${PGPW}",
       slot_name: %s, tables: [public.users], snapshot_mode: initial_only, tls: {mode: disable}}}
transforms:
  f: {type: filter, config: {condition: '%s'}}
  m: {type: field-mask, config: {fields: [email], strategy: hash, salt: s}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: db, sink: out, transforms: [f, m]}
`, cl.Port, db, pgtest.Superuser, pgtest.SlotName(db), cond))
	}
	write(`nosuchcol > 3 && name == 5`)
	if out, errOut, code := mainOut(t, "check", "-c", cfg); code != exitOK {
		t.Fatalf("check without a lock: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code := mainOut(t, "discover", "-c", cfg, "db", "--lock")
	lockPath := filepath.Join(dir, "cdc.lock.yaml")
	if code != exitOK || !strings.Contains(out, "cdc.lock.yaml: locked 1 stream of source \"db\"") {
		t.Fatalf("discover --lock: exit %d\n%s%s", code, out, errOut)
	}
	text, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"connector: postgres-cdc", "- name: users", "namespace: public", "key: [id]",
		"- {name: id, type: integer, kind: int", `- {name: score, type: "numeric(6,2)", kind: string}`,
		`- {name: tags, type: "text[]", kind: "array<string>"}`, "- {name: doc, type: jsonb, kind: any}"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("lock lacks %q:\n%s", want, text)
		}
	}

	out, errOut, code = mainOut(t, "check", "-c", cfg)
	if code != exitUsage || !strings.Contains(errOut, `cdc.yaml:6:42: unknown-field: transforms.f.config.condition: the stream has no field "nosuchcol"; fields: id, name, email, age, score, tags, doc (in pipeline "p", whose records come from source "db")`) {
		t.Errorf("check with the lock: exit %d\n%s%s", code, out, errOut)
	}
	write(`agee > 3`)
	if out, errOut, code = mainOut(t, "check", "-c", cfg); code != exitUsage || !strings.Contains(errOut, `(did you mean "age"?)`) {
		t.Errorf("check with the lock: exit %d\n%s%s", code, out, errOut)
	}
	write(`name == 5`)
	if out, errOut, code = mainOut(t, "check", "-c", cfg); code != exitUsage || !strings.Contains(errOut, `cdc.yaml:6:47: condition-type: transforms.f.config.condition: invalid operation: == (mismatched types string and int)`) {
		t.Errorf("check with the lock: exit %d\n%s%s", code, out, errOut)
	}

	write(`age != nil && age > 30 && name != "user-7"`)
	out, errOut, code = mainOut(t, "explain", "-c", cfg)
	if code != exitOK || strings.Contains(out, "known at run time") || strings.Contains(out, "expr-vm") ||
		!strings.Contains(out, "schema: id ?int, name ?string, email ?string, age ?int") {
		t.Errorf("explain with the lock: exit %d\n%s%s", code, out, errOut)
	}
	typed, errOut, code := mainOut(t, "run", "-c", cfg)
	if code != exitOK {
		t.Fatalf("typed run: exit %d\n%s", code, errOut)
	}
	if err := os.Rename(lockPath, lockPath+".away"); err != nil {
		t.Fatal(err)
	}
	cl.Exec(t, db, fmt.Sprintf(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '%s'`, pgtest.SlotName(db)))
	byName, errOut, code := mainOut(t, "run", "-c", cfg)
	if code != exitOK {
		t.Fatalf("by-name run: exit %d\n%s", code, errOut)
	}
	strip := func(s string) string { // event times differ between runs
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if i := strings.Index(l, `"timestamp":`); i >= 0 {
				if j := strings.Index(l[i:], `",`); j >= 0 {
					l = l[:i] + l[i+j+2:]
				}
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n")
	}
	if n := strings.Count(typed, "\n"); n < 150 || strip(typed) != strip(byName) {
		t.Errorf("typed and by-name runs differ (%d lines):\n%s\n---\n%s", n, typed[:min(len(typed), 2000)], byName[:min(len(byName), 2000)])
	}
}
