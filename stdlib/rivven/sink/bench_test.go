package sink_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
	"github.com/rivven/rivven-connect/stdlib/stdout"
)

// BenchmarkSink measures records per second (one op = one record) written
// in batches of 256 (the runtime's default source batch) as SourceEvent
// JSON: baseline writes them to a discarding sink (stdout's json format
// into io.Discard, the same encoding and nothing else); rivven publishes
// them to the in-process brokertest over loopback and waits for every
// reply (idempotent, as configured by default; keyed: key_field splits
// each batch over 3 partitions; plain: PublishBatch without a producer).
// allocs/op is allocations per record, the double's included (it runs in
// the same process: decoding each request, building its reply).
func BenchmarkSink(b *testing.B) {
	const batch = 256
	src, err := datagen.New(datagen.Config{Pattern: "orders", MaxEvents: 4096, Seed: 42, HasSeed: true},
		func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]runtime.Record, 4096)
	n, _ := src.Read(context.Background(), recs)
	recs = recs[:n-n%batch]
	run := func(b *testing.B, s runtime.Sink) {
		ctx := context.Background()
		if err := s.Open(ctx); err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if err := s.Write(ctx, recs[:batch]); err != nil { // warm up: connection, topic
			b.Fatal(err)
		}
		b.ReportAllocs()
		i, at := 0, 0
		for b.Loop() {
			if i++; i == batch {
				if err := s.Write(ctx, recs[at:at+batch]); err != nil {
					b.Fatal(err)
				}
				i, at = 0, (at+batch)%len(recs)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		at = 0
		allocs := testing.AllocsPerRun(20, func() {
			if err := s.Write(ctx, recs[at:at+batch]); err != nil {
				b.Fatal(err)
			}
			at = (at + batch) % len(recs)
		})
		b.ReportMetric(allocs/batch, "allocs/record")
	}
	b.Run("baseline", func(b *testing.B) {
		s, err := stdout.New(stdout.Config{Format: "json", IncludeMetadata: true, IncludeTimestamp: true}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		run(b, s)
	})
	for _, c := range []struct {
		name       string
		idempotent bool
		keyField   string
	}{{"rivven", true, ""}, {"rivven-keyed", true, "order_id"}, {"rivven-plain", false, ""}} {
		b.Run(c.name, func(b *testing.B) {
			bs := startBroker(b, brokertest.Config{DiscardRecords: true})
			cfg := config(bs.Addr(), "bench")
			cfg.Idempotent, cfg.KeyField, cfg.Partitions = c.idempotent, c.keyField, 3
			s, err := sink.New(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			run(b, s)
		})
	}
}
