package schemaformat

import (
	"context"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas/registry"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

// BenchmarkSinkEncodeOrders is what a sink pays per datagen orders record:
// the SourceEvent JSON (baseline) against the avro and protobuf envelopes
// in the Confluent wire format, schema lookups included (registered once).
func BenchmarkSinkEncodeOrders(b *testing.B) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	src, err := datagen.New(datagen.Config{Pattern: "orders", Seed: 7, HasSeed: true}, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]runtime.Record, 256)
	for n := 0; n < len(recs); {
		k, err := src.Read(context.Background(), recs[n:])
		if err != nil {
			b.Fatal(err)
		}
		n += k
	}
	b.Run("baseline", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for i := 0; b.Loop(); i++ {
			buf = runtime.AppendSourceEvent(buf[:0], &recs[i%len(recs)], false, true)
		}
	})
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			reg, err := registry.Open(registry.Options{Formats: Protobuf})
			if err != nil {
				b.Fatal(err)
			}
			defer reg.Close()
			enc, err := NewEncoder(format, embedded{reg})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			buf := make([]byte, 0, 1024)
			for i := 0; b.Loop(); i++ {
				if buf, err = enc.Append(ctx, buf[:0], "orders-value", &recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
