package enrich

import (
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }

// inSchema is the schema of the test records: a key and an amount.
var inSchema = runtime.NewSchema(
	runtime.Field{Name: "customer_id", Type: runtime.Type{Kind: runtime.KindInt}, Nullable: true},
	runtime.Field{Name: "amount", Type: runtime.Type{Kind: runtime.KindInt}},
)

// records returns one record per key (nil: a null key) with amount i.
func records(keys ...any) []runtime.Record {
	out := make([]runtime.Record, len(keys))
	for i, k := range keys {
		var kv runtime.Value
		switch x := k.(type) {
		case int:
			kv = runtime.Int(int64(x))
		case string:
			kv = runtime.String(x)
		}
		out[i] = runtime.Record{Stream: "orders", Schema: inSchema, After: []runtime.Value{kv, runtime.Int(int64(i))},
			Position: runtime.Position{Offset: uint64(i + 1)}}
	}
	return out
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newStep builds a step on clock c whose waits between retries are
// recorded instead of slept.
func newStep(t *testing.T, cfg Config, c *clock) (*Step, *[]time.Duration) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := New(cfg, c.now)
	var waits []time.Duration
	s.sleep = func(d time.Duration) { waits = append(waits, d) }
	t.Cleanup(s.Close)
	return s, &waits
}

// chainOf runs one step after an optional segment.
func chainOf(s *Step, before func(*runtime.Record) (bool, error)) *runtime.Chain {
	return &runtime.Chain{Segments: []func(*runtime.Record) (bool, error){before, nil}, Steps: []runtime.BatchStep{s}, Names: []string{"customer"}}
}

// into returns the JSON of record r's into field (last field).
func into(r *runtime.Record) string {
	row := r.Row()
	return string(runtime.AppendJSON(nil, row[len(row)-1]))
}
