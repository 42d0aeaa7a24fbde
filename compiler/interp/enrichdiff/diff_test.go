// Package enrichdiff_test runs the golden case enrich-postgres-down
// against a real PostgreSQL, through the interpreter and through its
// generated code (golden/gen), and compares their records byte for byte:
// the golden run pins the failure path (no server), this one the lookups.
package enrichdiff_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/golden/gen"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }

const caseName = "enrich-postgres-down"

func TestBackEndsAgreeOnPostgres(t *testing.T) {
	db := cluster.NewDatabase(t)
	// datagen's customer ids are user_00000000 … user_00009999; odd ones
	// are gold.
	cluster.Exec(t, db, `CREATE TABLE customers (id text PRIMARY KEY, name text, tier text)`,
		`INSERT INTO customers SELECT 'user_' || lpad(i::text, 8, '0'), 'name ' || i, CASE WHEN i % 2 = 1 THEN 'gold' ELSE 'silver' END FROM generate_series(0, 9999) i`)
	cases, err := goldentest.Load("../../../golden")
	if err != nil {
		t.Fatal(err)
	}
	var c *goldentest.Case
	for _, x := range cases {
		if x.Name == caseName {
			c = x
		}
	}
	if c == nil {
		t.Fatalf("no golden case %s", caseName)
	}
	env := map[string]string{"PGPW": cluster.Password, "ENRICH_PG_HOST": "127.0.0.1",
		"ENRICH_PG_PORT": strconv.Itoa(cluster.Port), "ENRICH_PG_DB": db, "ENRICH_PG_USER": pgtest.Superuser}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	p, errs := compiler.Compile("pipeline.yaml", []byte(c.Sections["pipeline.yaml"]), lookup)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var interpOut bytes.Buffer
	pipes, err := compiler.Interpret(p, runtime.Env{Now: goldentest.Clock, Stdout: &interpOut, Stderr: &interpOut})
	if err != nil {
		t.Fatal(err)
	}
	interpErr, err := goldentest.RunAll(pipes)
	if err != nil {
		t.Fatal(err)
	}

	spec, ok := gen.Cases[caseName]
	if !ok {
		t.Fatalf("golden/gen does not register %s", caseName)
	}
	var genOut bytes.Buffer
	pipes, err = spec.Build(runtime.Env{Now: goldentest.Clock, Stdout: &genOut, Stderr: &genOut}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	genErr, err := goldentest.RunAll(pipes)
	if err != nil {
		t.Fatal(err)
	}

	if interpErr != "" || genErr != "" {
		t.Fatalf("run errors: interpreter %q, generated %q", interpErr, genErr)
	}
	if interpOut.String() != genOut.String() {
		t.Fatalf("records differ\n--- interpreter ---\n%s\n--- generated ---\n%s", interpOut.String(), genOut.String())
	}
	// Of the 4 orders, the filter before enrich keeps 3 (user_00006427,
	// user_00003592, user_00009077); the gold filter after it keeps the
	// two odd ones, each with its customer merged.
	lines := strings.Split(strings.TrimSpace(interpOut.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(lines), interpOut.String())
	}
	for i, id := range []string{"6427", "9077"} {
		want := `"customer_id":"user_0000` + id + `",` + `"product"`
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], `"customer":{"name":"name `+id+`","tier":"gold"}}`) {
			t.Errorf("record %d: %s", i, lines[i])
		}
	}
}
