package datagen

import (
	"context"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// benchRead generates b.N records of cfg in batches of 256, reusing the
// batch like the driver does; ns/op and allocs/op are per record.
func benchRead(b *testing.B, cfg Config) {
	s, err := New(cfg, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]runtime.Record, 256)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; {
		n, err := s.Read(ctx, buf[:min(len(buf), left)])
		if err != nil {
			b.Fatal(err)
		}
		left -= n
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, p := range Patterns {
		b.Run(p, func(b *testing.B) {
			benchRead(b, Config{Pattern: p, Seed: 1, HasSeed: true})
		})
	}
}

func BenchmarkGenerateCDC(b *testing.B) {
	for _, p := range Patterns {
		b.Run(p, func(b *testing.B) {
			benchRead(b, Config{Pattern: p, Seed: 1, HasSeed: true, CDCMode: true})
		})
	}
}

func BenchmarkGenerateOrdersAllFields(b *testing.B) {
	benchRead(b, Config{Pattern: "orders", Seed: 1, HasSeed: true, IncludeSequence: true,
		IncludeTimestamp: true, CustomFields: []CustomField{{Name: "env", Value: runtime.String("bench")}}})
}
