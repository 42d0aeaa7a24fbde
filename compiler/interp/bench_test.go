package interp_test

import (
	"context"
	"io"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"github.com/rivven/rivven-connect/stdlib/mask"
	"github.com/rivven/rivven-connect/stdlib/stdout"
)

// The quick-start chain: datagen orders → filter → redact mask → stdout json.
const quickstart = `
sources:
  orders:
    connector: datagen
    config: {pattern: orders, events_per_second: 0, max_events: MAX, seed: 42}
transforms:
  big: {type: filter, config: {condition: 'total_amount > 100 && status != "cancelled"'}}
  pii: {type: field-mask, config: {fields: [customer_id], strategy: redact}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: orders, sink: out, transforms: [big, pii]}
`

var now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func compileQuickstart(tb testing.TB, max string) []*runtime.Pipeline {
	tb.Helper()
	cfg := []byte(replace(quickstart, "MAX", max))
	p, errs := compiler.Compile("bench.yaml", cfg, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	pipes, err := compiler.Interpret(p, runtime.Env{Now: now, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	return pipes
}

func replace(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

// orders returns n datagen orders records.
func orders(tb testing.TB, n int) []runtime.Record { return generated(tb, "orders", n) }

// generated returns n records of a datagen pattern.
func generated(tb testing.TB, pattern string, n int) []runtime.Record {
	tb.Helper()
	src, err := datagen.New(datagen.Config{Pattern: pattern, MaxEvents: int64(n), Seed: 42, HasSeed: true}, now)
	if err != nil {
		tb.Fatal(err)
	}
	recs := make([]runtime.Record, n)
	got := 0
	for got < n {
		k, err := src.Read(context.Background(), recs[got:])
		got += k
		if err != nil {
			break
		}
	}
	return recs[:got]
}

// BenchmarkFused measures the per-record function alone on typed records:
// the interpreter's fused program against a hand-written Go function doing
// the same work (the baseline).
func BenchmarkFused(b *testing.B) {
	recs := orders(b, 1024)
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		kept := 0
		for i := 0; b.Loop(); i++ {
			r := &recs[i&1023]
			row := r.After
			if row[5].AsFloat() > 100 && row[7].AsString() != "cancelled" {
				row[1] = runtime.String(mask.Asterisks(utf8.RuneCountInString(row[1].AsString())))
				kept++
			}
		}
		_ = kept
	})
	b.Run("interp", func(b *testing.B) {
		prog := compileQuickstart(b, "1")[0].Program
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := prog.Process(&recs[i&1023]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEndToEnd measures whole pipelines per record: datagen orders at
// unlimited rate → filter → mask → stdout json into io.Discard. The
// baseline is a hand-written loop over the same source, program and
// encoder with no driver (no goroutines, batching or acks).
func BenchmarkEndToEnd(b *testing.B) {
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		src, _ := datagen.New(datagen.Config{Pattern: "orders", MaxEvents: int64(b.N), Seed: 42, HasSeed: true}, now)
		sink, _ := stdout.New(stdout.Config{Format: "json", IncludeTimestamp: true}, io.Discard)
		batch := make([]runtime.Record, runtime.DefaultBatchSize)
		ctx := context.Background()
		for {
			n, err := src.Read(ctx, batch)
			kept := 0
			for i := range batch[:n] {
				row := batch[i].After
				if row[5].AsFloat() > 100 && row[7].AsString() != "cancelled" {
					row[1] = runtime.String(mask.Asterisks(utf8.RuneCountInString(row[1].AsString())))
					batch[kept], batch[i] = batch[i], batch[kept]
					kept++
				}
			}
			if err := sink.Write(ctx, batch[:kept]); err != nil {
				b.Fatal(err)
			}
			if err != nil {
				break
			}
		}
	})
	b.Run("interp", func(b *testing.B) {
		b.ReportAllocs()
		pipes := compileQuickstart(b, itoa(b.N))
		if err := runtime.RunAll(context.Background(), pipes); err != nil {
			b.Fatal(err)
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
