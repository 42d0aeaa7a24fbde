package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
)

// TestCDCToBrokerKeyedByRow: change events reach the broker keyed by the
// table's primary key on every path — an explicit rivven sink with its
// default topic (the seed's quick start), the broker-topic shape, and the
// legacy postgres --topic command — so a row's snapshot read, insert,
// update and delete land on one partition, in order.
func TestCDCToBrokerKeyedByRow(t *testing.T) {
	cl := pgtest.New(t, pgtest.Options{})
	srv, err := brokertest.Start(brokertest.Config{DefaultPartitions: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("PGPW", cl.Password)
	cases := []struct {
		name, topic string
		args        func(db, dir string) []string
	}{
		{"explicit sink", "public.items", func(db, dir string) []string {
			cfg := filepath.Join(dir, "c.yaml")
			writeFile(t, cfg, fmt.Sprintf(`
sources:
  pg:
    connector: postgres-cdc
    config: {host: 127.0.0.1, port: %d, database: %s, user: %s, password: "${PGPW}", slot_name: %s, tls: {mode: disable}}
    streams: [{name: items, namespace: public}]
sinks:
  broker: {connector: rivven, config: {address: %q}}
pipelines:
  p: {source: pg, sink: broker}
`, cl.Port, db, pgtest.Superuser, pgtest.SlotName(db), srv.Addr()))
			return []string{"run", "-c", cfg}
		}},
		{"broker-topic shape", "cdc.items", func(db, dir string) []string {
			cfg := filepath.Join(dir, "c.yaml")
			writeFile(t, cfg, fmt.Sprintf(`
broker: {bootstrap_servers: [%q]}
sources:
  pg:
    connector: postgres-cdc
    topic: "cdc.{table}"
    config: {host: 127.0.0.1, port: %d, database: %s, user: %s, password: "${PGPW}", slot_name: %s, tables: [items], tls: {mode: disable}}
`, srv.Addr(), cl.Port, db, pgtest.Superuser, pgtest.SlotName(db)))
			return []string{"run", "-c", cfg}
		}},
		{"legacy command", "legacy-items", func(db, dir string) []string {
			return []string{"postgres", "--connection", cl.DSN(db), "--slot", pgtest.SlotName(db), "--table", "items",
				"--topic", "legacy-items", "--broker", srv.Addr()}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := cl.NewDatabase(t)
			cl.Exec(t, db, `CREATE TABLE items (id int PRIMARY KEY, v text)`,
				`INSERT INTO items SELECT g, 'snap' FROM generate_series(1, 40) g`)
			stop := make(chan struct{})
			runHooks.Stop = stop
			defer func() { runHooks.Stop = nil }()
			var sout, serr syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- Main(c.args(db, t.TempDir()), strings.NewReader(""), &sout, &serr)
			}()
			count := func() int {
				n := 0
				for p := range uint32(8) {
					n += len(srv.Records(c.topic, p))
				}
				return n
			}
			waitFor := func(n int) {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for count() < n {
					if time.Now().After(deadline) {
						var got []string
						for p := range uint32(8) {
							for _, m := range srv.Records(c.topic, p) {
								got = append(got, fmt.Sprintf("%d:%s:%.60s", p, m.Key, m.Value))
							}
						}
						t.Fatalf("%d of %d records on topic %s:\n%s\nstderr:\n%s", count(), n, c.topic, strings.Join(got, "\n"), serr.String())
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			waitFor(40)
			cl.Exec(t, db, `INSERT INTO items VALUES (41, 'new')`, `UPDATE items SET v = 'upd' WHERE id IN (7, 41)`,
				`DELETE FROM items WHERE id IN (7, 41)`)
			waitFor(45)
			close(stop)
			if code := <-done; code != exitOK {
				t.Fatalf("exit %d: %s", code, serr.String())
			}
			type event struct {
				Op   string `json:"event_type"`
				Data struct{ V *string }
			}
			byKey := map[string][]string{}
			partOf := map[string]uint32{}
			for p := range uint32(8) {
				for _, m := range srv.Records(c.topic, p) {
					k := string(m.Key)
					if k == "" {
						t.Fatalf("unkeyed record on partition %d: %s", p, m.Value)
					}
					if q, ok := partOf[k]; ok && q != p {
						t.Fatalf("key %s on partitions %d and %d", k, q, p)
					}
					partOf[k] = p
					var e event
					if err := json.Unmarshal(m.Value, &e); err != nil {
						t.Fatal(err)
					}
					byKey[k] = append(byKey[k], e.Op)
				}
			}
			parts := map[uint32]bool{}
			for _, p := range partOf {
				parts[p] = true
			}
			if len(partOf) != 41 || len(parts) < 2 {
				t.Fatalf("%d keys over %d partitions; want 41 keys spread over several", len(partOf), len(parts))
			}
			if got := strings.Join(byKey["7"], ","); got != "snapshot,update,delete" {
				t.Errorf("row 7: %s; want snapshot,update,delete on one partition, in order", got)
			}
			if got := strings.Join(byKey["41"], ","); got != "insert,update,delete" {
				t.Errorf("row 41: %s; want insert,update,delete on one partition, in order", got)
			}
		})
	}
}
