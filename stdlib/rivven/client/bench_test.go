package client

import (
	"context"
	"fmt"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// BenchmarkPublishBatch measures PublishBatch through the client to the
// in-process test double over loopback: records/s and allocations per record.
// Allocations include the double's (same process): decoding the request and
// building its reply.
func BenchmarkPublishBatch(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := startBroker(b, brokertest.Config{DiscardRecords: true})
			c := newClient(b, testConfig(s.Addr()))
			ctx := context.Background()
			if _, err := c.CreateTopic(ctx, "bench", 1); err != nil {
				b.Fatal(err)
			}
			recs := make([]wire.Record, size)
			val := make([]byte, 100)
			for i := range recs {
				recs[i] = wire.Record{Key: []byte(fmt.Sprintf("key-%05d", i)), Value: val}
			}
			if _, err := c.PublishBatch(ctx, "bench", Partition(0), recs); err != nil { // warm the connection
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size * (len(val) + 9)))
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.PublishBatch(ctx, "bench", Partition(0), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			n := float64(b.N * size)
			b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(testing.AllocsPerRun(20, func() {
				c.PublishBatch(ctx, "bench", Partition(0), recs)
			}))/float64(size), "allocs/record")
		})
	}
}
