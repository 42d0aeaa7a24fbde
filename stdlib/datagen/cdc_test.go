package datagen

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// cdcChecker follows a CDC stream and fails on any inconsistency with the
// live rows it has seen.
type cdcChecker struct {
	t      *testing.T
	key    int               // position of the key field
	live   map[string]string // key → dump of the current row
	counts map[runtime.Op]int
	n      int
}

// newCDCChecker checks a stream whose key field is at position 0 (true of
// every pattern, see KeyField).
func newCDCChecker(t *testing.T) *cdcChecker {
	return &cdcChecker{t: t, live: map[string]string{}, counts: map[runtime.Op]int{}}
}

func keyString(v runtime.Value) string { return dumpRow([]runtime.Value{v}) }

func (c *cdcChecker) check(r runtime.Record) {
	t := c.t
	t.Helper()
	seq := uint64(c.n)
	c.n++
	if r.Position.Offset != seq {
		t.Fatalf("offset %d, want %d", r.Position.Offset, seq)
	}
	c.counts[r.Op]++
	// Meta: {"cdc": {operation, sequence, source, simulated}}.
	if r.Meta == nil || len(r.Meta.Keys) != 1 || r.Meta.Keys[0] != "cdc" {
		t.Fatalf("meta %+v", r.Meta)
	}
	cdc := r.Meta.Values[0].AsObject()
	wantMeta := runtime.NewObject(4).
		Set("operation", runtime.String(r.Op.String())).
		Set("sequence", runtime.Int(int64(seq))).
		Set("source", runtime.String("datagen")).
		Set("simulated", runtime.Bool(true))
	if cdc == nil || dumpRow([]runtime.Value{runtime.ObjectValue(cdc)}) != dumpRow([]runtime.Value{runtime.ObjectValue(wantMeta)}) {
		t.Fatalf("record %d: cdc meta %v, want %v", seq, cdc, wantMeta)
	}
	switch r.Op {
	case runtime.OpInsert:
		if r.After == nil || r.Before != nil {
			t.Fatalf("insert with After %v Before %v", r.After, r.Before)
		}
		k := keyString(r.After[c.key])
		if _, ok := c.live[k]; ok {
			t.Fatalf("insert of live key %s", k)
		}
		c.live[k] = dumpRow(r.After)
	case runtime.OpUpdate:
		if r.After == nil || r.Before == nil {
			t.Fatalf("update with After %v Before %v", r.After, r.Before)
		}
		k := keyString(r.Before[c.key])
		if ka := keyString(r.After[c.key]); ka != k {
			t.Fatalf("update changed key %s → %s", k, ka)
		}
		cur, ok := c.live[k]
		if !ok {
			t.Fatalf("update of key %s that is not live", k)
		}
		if b := dumpRow(r.Before); b != cur {
			t.Fatalf("update of %s: Before\n%s\nis not the live row\n%s", k, b, cur)
		}
		c.live[k] = dumpRow(r.After)
	case runtime.OpDelete:
		if r.After != nil || r.Before == nil {
			t.Fatalf("delete with After %v Before %v", r.After, r.Before)
		}
		k := keyString(r.Before[c.key])
		cur, ok := c.live[k]
		if !ok {
			t.Fatalf("delete of key %s that is not live", k)
		}
		if b := dumpRow(r.Before); b != cur {
			t.Fatalf("delete of %s: Before\n%s\nis not the live row\n%s", k, b, cur)
		}
		delete(c.live, k)
	default:
		t.Fatalf("op %s in CDC mode", r.Op)
	}
}

// runCDC reads n events in batches, scribbling over every slot's slices
// after checking them (as a driver reusing them would), so that any
// aliasing between the slots and the live pool shows up as a mismatch.
func runCDC(t *testing.T, cfg Config, n, batch int) *cdcChecker {
	t.Helper()
	s := mustNew(t, cfg)
	c := newCDCChecker(t)
	buf := make([]runtime.Record, batch)
	for c.n < n {
		k, err := s.Read(context.Background(), buf)
		for i := range buf[:k] {
			c.check(buf[i])
			for j := range buf[i].After {
				buf[i].After[j] = runtime.String("scribbled")
			}
			for j := range buf[i].Before {
				buf[i].Before[j] = runtime.String("scribbled")
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(s.cdc.pool) > poolMax || len(s.cdc.spare) > spareMax {
		t.Fatalf("pool %d rows, spare %d", len(s.cdc.pool), len(s.cdc.spare))
	}
	return c
}

func TestCDCOpRatiosAndLiveKeys(t *testing.T) {
	const n = 10_000
	c := runCDC(t, Config{Pattern: "orders", CDCMode: true, Seed: 42, HasSeed: true,
		IncludeSequence: true, IncludeTimestamp: true,
		CustomFields: []CustomField{{Name: "env", Value: runtime.String("test")}}}, n, 100)
	if c.n != n {
		t.Fatalf("read %d events", c.n)
	}
	for op, want := range map[runtime.Op]float64{runtime.OpInsert: 0.60, runtime.OpUpdate: 0.30, runtime.OpDelete: 0.10} {
		got := float64(c.counts[op]) / n
		if got < want-0.02 || got > want+0.02 {
			t.Errorf("%s ratio %.3f, want %.2f ± 0.02 (counts %v)", op, got, want, c.counts)
		}
	}
}

func TestCDCAllPatterns(t *testing.T) {
	for _, p := range Patterns {
		t.Run(p, func(t *testing.T) {
			c := runCDC(t, Config{Pattern: p, CDCMode: true, Seed: 5, HasSeed: true, IncludeSequence: true}, 3000, 64)
			if c.counts[runtime.OpUpdate] == 0 || c.counts[runtime.OpDelete] == 0 {
				t.Fatalf("counts %v", c.counts)
			}
		})
	}
}

// TestCDCUpdatesChangeFields checks that updates keep the key and change
// the documented fields (and only plausible ones).
func TestCDCUpdatesChangeFields(t *testing.T) {
	mutable := map[string]map[string]bool{
		"random":    {"value": true, "ratio": true, "active": true},
		"users":     {"email": true, "premium": true},
		"orders":    {"status": true, "quantity": true, "total_amount": true},
		"events":    {"session_id": true, "payload": true},
		"metrics":   {"value": true, "timestamp": true},
		"key_value": {"value": true},
		"sequence":  {},
	}
	for p, allowed := range mutable {
		s := mustNew(t, Config{Pattern: p, CDCMode: true, Seed: 11, HasSeed: true, IncludeSequence: true})
		updates := 0
		for _, r := range readAll(t, s, 3000, 50) {
			if r.Op != runtime.OpUpdate {
				continue
			}
			updates++
			changed := false
			for i, f := range r.Schema.Fields {
				same := dumpRow(r.Before[i:i+1]) == dumpRow(r.After[i:i+1])
				switch {
				case f.Name == "_sequence":
					if r.After[i].AsInt() != int64(r.Position.Offset) {
						t.Fatalf("%s update: _sequence %v, want %d", p, r.After[i], r.Position.Offset)
					}
				case !same && !allowed[f.Name]:
					t.Fatalf("%s update changed %s: %s → %s", p, f.Name, dumpRow(r.Before[i:i+1]), dumpRow(r.After[i:i+1]))
				case !same:
					changed = true
				}
			}
			if !changed && p != "sequence" && p != "metrics" {
				t.Fatalf("%s update changed nothing: %s", p, dumpRow(r.After))
			}
			if p == "orders" {
				q := r.After[orderQuantity].AsInt()
				price := r.After[orderUnitPrice].AsFloat()
				if r.After[orderTotal].AsFloat() != round2(price*float64(q)) {
					t.Fatalf("orders update: total %v for %v × %d", r.After[orderTotal], price, q)
				}
				from, to := indexOf(statuses, r.Before[orderStatus].AsString()), indexOf(statuses, r.After[orderStatus].AsString())
				if from != to && !(to == from+1 && from < statusDelivered || to == statusCancelled && from < statusShipped) {
					t.Fatalf("orders update: status %s → %s", statuses[from], statuses[to])
				}
			}
		}
		if updates < 500 {
			t.Fatalf("%s: only %d updates", p, updates)
		}
	}
}

func TestCDCPoolBounded(t *testing.T) {
	s := mustNew(t, Config{Pattern: "key_value", CDCMode: true, Seed: 1, HasSeed: true})
	buf := make([]runtime.Record, 1000)
	peak := 0
	for i := 0; i < 60; i++ {
		if _, err := s.Read(context.Background(), buf); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, len(s.cdc.pool))
	}
	if peak != poolMax {
		t.Fatalf("pool peaked at %d rows, want the bound %d", peak, poolMax)
	}
}
