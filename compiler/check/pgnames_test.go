package check_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
)

// pgConfig is a postgres-cdc → stdout config with source lines added
// (indented under the source).
func pgConfig(source string) string {
	return `version: "1.0"
sources:
  pg:
    connector: postgres-cdc
` + source + `
sinks:
  out: {connector: stdout}
pipelines:
  cdc: {source: pg, sink: out}
`
}

// The seed's streams give table and schema names literally: the source's
// tables are those exact names, written into config.tables quoted where
// SQL needs it.
func TestStreamsWithMixedCaseNames(t *testing.T) {
	p, errs := compiler.Compile("c.yaml", []byte(pgConfig(`    config: {database: shop, user: replicator}
    streams:
      - {name: Order Items, namespace: public}
      - {name: Ümlaut, namespace: Sales-EU}
      - {name: 'say "hi"', namespace: "a.b"}
      - {name: users}`)), nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cfg := p.Pipelines[0].Source.Config.(cdc.Config)
	if got := strings.Join(cfg.Tables, " | "); got != `public."Order Items" | "Sales-EU"."Ümlaut" | "a.b"."say ""hi""" | users` {
		t.Fatalf("tables %s", got)
	}
	if got := fmt.Sprint(cfg.SelectedTables()); got != `[[public Order Items] [Sales-EU Ümlaut] [a.b say "hi"] [public users]]` {
		t.Fatalf("selected %s", got)
	}
}

func TestPostgresNameErrors(t *testing.T) {
	for _, c := range []struct{ name, source, want string }{
		{"stream name with NUL", `    config: {database: shop, user: replicator}
    streams:
      - {name: "a\0b", namespace: public}`,
			`c.yaml:7:16: invalid-value: sources.pg.streams[0].name: the name contains NUL, which PostgreSQL names cannot hold`},
		{"stream namespace too long", `    config: {database: shop, user: replicator}
    streams:
      - {name: t, namespace: ` + strings.Repeat("s", 64) + `}`,
			`c.yaml:7:30: invalid-value: sources.pg.streams[0].namespace: the name is 64 bytes long, and PostgreSQL names have at most 63 bytes (it would truncate a longer one)`},
		{"upper-case table", `    config: {database: shop, user: replicator, tables: [public.Users]}`,
			`table 'public.Users' is not valid: PostgreSQL folds unquoted names to lower case, so this means public.users: for the table created as public."Users" write public."Users", else write public.users`},
		{"YAML ate the quotes", `    config: {database: shop, user: replicator, tables: ["Users"]}`,
			`write "Users" (in YAML: '"Users"'), else write users`},
		{"injection", `    config: {database: shop, user: replicator, tables: ['x"; DROP TABLE t; --']}`,
			`table 'x"; DROP TABLE t; --' is not valid: a " at character 2`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := compiler.Compile("c.yaml", []byte(pgConfig(c.source)), nil)
			if len(errs) != 1 || !strings.Contains(errs.Error(), c.want) {
				t.Fatalf("errors:\n%v\nwant one with %q", errs, c.want)
			}
		})
	}
	// Quoted tables pass.
	if _, errs := compiler.Compile("c.yaml", []byte(pgConfig(`    config: {database: shop, user: replicator, tables: ['"Users"', 'public."Order Items"']}`)), nil); len(errs) > 0 {
		t.Fatal(errs)
	}
}
