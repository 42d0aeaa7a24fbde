package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

// The enrich transform through the CLI against a real server: check
// --connect reports its lookup query, and run merges the rows found
// under `into`, typed by `schema`, so a later filter on them holds.
func TestEnrichFromPostgres(t *testing.T) {
	cl := pgtest.New(t, pgtest.Options{})
	db := cl.NewDatabase(t)
	cl.Exec(t, db, `CREATE TABLE customers (id text PRIMARY KEY, tier text, since int)`,
		`INSERT INTO customers SELECT format('user_%s', lpad(g::text, 8, '0')), CASE WHEN g % 2 = 0 THEN 'gold' ELSE 'basic' END, 2000 + g % 20 FROM generate_series(1, 9999) g`)
	t.Setenv("PGPW", cl.Password)
	cfg := filepath.Join(t.TempDir(), "enrich.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
sources:
  gen: {connector: datagen, config: {pattern: orders, events_per_second: 0, max_events: 200, seed: 7}}
transforms:
  customer:
    type: enrich
    config:
      key: customer_id
      into: customer
      postgres: {host: 127.0.0.1, port: %d, database: %s, user: %s, password: "${PGPW}", tls: {mode: disable},
                 query: "SELECT id, tier, since FROM customers WHERE id = ANY($1)", match: id}
      schema: {tier: string, since: int}
  gold: {type: filter, config: {condition: 'customer.tier == "gold"'}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: gen, sink: out, transforms: [customer, gold]}
`, cl.Port, db, pgtest.Superuser))

	out, errOut, code := mainOut(t, "check", "-c", cfg, "--connect")
	if code != exitOK || !strings.Contains(out, `transform "customer" (enrich):`) ||
		!strings.Contains(out, "OK    query parameters: $1 is of type text[] (the keys of a batch)") || !strings.Contains(out, "OK    schema.since: column of int") || strings.Contains(out+errOut, cl.Password) {
		t.Fatalf("check --connect: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = mainOut(t, "run", "-c", cfg)
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e struct {
			Data struct {
				CustomerID string `json:"customer_id"`
				Customer   struct {
					Tier  string `json:"tier"`
					Since int    `json:"since"`
				} `json:"customer"`
			} `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		var id int
		fmt.Sscanf(e.Data.CustomerID, "user_%d", &id)
		if e.Data.Customer.Tier != "gold" || id%2 != 0 || e.Data.Customer.Since != 2000+id%20 {
			t.Errorf("record %s: not the row of its customer, or not gold", sc.Text())
		}
		n++
	}
	if n == 0 || n == 200 {
		t.Errorf("%d of 200 records passed the filter on the enriched tier", n)
	}
}
