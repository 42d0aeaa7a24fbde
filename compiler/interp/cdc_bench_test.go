package interp_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
)

// A filter and a mask on a postgres-cdc stream of a 10-column table. With
// the schema lock the plan is typed (lowered closures, fields by
// position); without it the stream's schema is known only at run time and
// both stages work by name on expr's VM (the path of every CDC pipeline
// before schema locks).
const cdcChain = `
sources:
  db: {connector: postgres-cdc, config: {host: 127.0.0.1, database: shop, user: u, slot_name: s, tables: [public.accounts]}}
transforms:
  f: {type: filter, config: {condition: 'age > 30 && active && city != "Paris"'}}
  m: {type: field-mask, config: {fields: [email], strategy: hash, salt: s4lt}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: db, sink: out, transforms: [f, m]}
`

const cdcLock = `
version: 1
sources:
  db:
    connector: postgres-cdc
    streams:
      - name: accounts
        namespace: public
        key: [id]
        columns:
          - {name: id, type: integer, kind: int}
          - {name: name, type: text, kind: string}
          - {name: email, type: text, kind: string}
          - {name: age, type: integer, kind: int}
          - {name: score, type: "numeric(6,2)", kind: string}
          - {name: city, type: text, kind: string}
          - {name: active, type: boolean, kind: bool}
          - {name: created, type: timestamp with time zone, kind: string}
          - {name: balance, type: double precision, kind: float}
          - {name: notes, type: text, kind: string}
`

func cdcProgram(tb testing.TB, locked bool) runtime.Program {
	tb.Helper()
	var lf *compiler.LockFile
	if locked {
		lf = &compiler.LockFile{Name: "bench.lock.yaml", Data: []byte(cdcLock)}
	}
	p, errs := compiler.CompileLocked("bench.yaml", []byte(cdcChain), func(string) (string, bool) { return "", false }, lf)
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	pipes, err := compiler.Interpret(p, runtime.Env{Now: now, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	return pipes[0].Program
}

// cdcRecords are n change events of the accounts table, as postgres-cdc
// produces them (one shared schema, every field nullable).
func cdcRecords(n int) []runtime.Record {
	cities := []string{"Paris", "Berlin", "Lisbon", "Oslo"}
	fields := []struct {
		name string
		kind runtime.Kind
	}{{"id", runtime.KindInt}, {"name", runtime.KindString}, {"email", runtime.KindString}, {"age", runtime.KindInt},
		{"score", runtime.KindString}, {"city", runtime.KindString}, {"active", runtime.KindBool}, {"created", runtime.KindString},
		{"balance", runtime.KindFloat}, {"notes", runtime.KindString}}
	var fs []runtime.Field
	for _, f := range fields {
		fs = append(fs, runtime.Field{Name: f.name, Type: runtime.Type{Kind: f.kind}, Nullable: true})
	}
	schema := runtime.NewSchema(fs...)
	schema.Key = []int{0}
	out := make([]runtime.Record, n)
	for i := range out {
		out[i] = runtime.Record{Stream: "accounts", Namespace: "public", Op: runtime.OpInsert, Schema: schema,
			Position: runtime.Position{Offset: uint64(i + 1)}, After: []runtime.Value{
				runtime.Int(int64(i)), runtime.String(fmt.Sprintf("user-%d", i)), runtime.String(fmt.Sprintf("u%d@example.com", i)),
				runtime.Int(int64(18 + i%50)), runtime.String("12.50"), runtime.String(cities[i%4]), runtime.Bool(i%3 != 0),
				runtime.String("2026-01-02T03:04:05Z"), runtime.Float(float64(i) * 1.5), runtime.String("n"),
			}}
	}
	return out
}

// BenchmarkCDCChain compares the typed path (with a schema lock) to the
// by-name path on expr's VM (the baseline: CDC pipelines without a lock),
// per record.
func BenchmarkCDCChain(b *testing.B) {
	for _, v := range []struct {
		name   string
		locked bool
	}{{"baseline", false}, {"typed", true}} {
		b.Run(v.name, func(b *testing.B) {
			prog := cdcProgram(b, v.locked)
			recs := cdcRecords(1024)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := prog.Process(&recs[i&1023]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The typed and by-name programs keep and mask the same records.
func TestCDCChainTypedEqualsByName(t *testing.T) {
	typed, byName := cdcProgram(t, true), cdcProgram(t, false)
	a, b := cdcRecords(200), cdcRecords(200)
	kept := 0
	for i := range a {
		ka, ea := typed.Process(&a[i])
		kb, eb := byName.Process(&b[i])
		if ka != kb || (ea == nil) != (eb == nil) {
			t.Fatalf("record %d: typed %v %v, by name %v %v", i, ka, ea, kb, eb)
		}
		if ka {
			kept++
		}
		for j := range a[i].After {
			if !a[i].After[j].Equal(b[i].After[j]) {
				t.Fatalf("record %d field %d: typed %v, by name %v", i, j, a[i].After[j], b[i].After[j])
			}
		}
	}
	if kept == 0 || kept == len(a) {
		t.Fatalf("kept %d of %d: the filter decides nothing", kept, len(a))
	}
}
