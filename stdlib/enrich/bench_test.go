package enrich

import "testing"

// BenchmarkCachedPath measures the per-record cost of enrich when every
// key of the batch is cached (the steady state with a warm cache): key
// read, cache hit, field merge, per record of a 256-record batch.
func BenchmarkCachedPath(b *testing.B) {
	cfg, _ := httpConfig(b)
	s := New(cfg, newClock().now)
	defer s.Close()
	ch := chainOf(s, nil)
	keys := make([]any, 256)
	for i := range keys {
		keys[i] = i%5 + 1
	}
	recs := records(keys...)
	ch.ProcessBatch(recs) // warm the cache
	calls := s.Calls()
	b.ReportAllocs()
	for b.Loop() {
		for i := range recs {
			recs[i].After, recs[i].Schema = recs[i].After[:2], inSchema
		}
		out := ch.ProcessBatch(recs)
		if !out[0].Keep {
			b.Fatal(out[0].Err)
		}
	}
	if s.Calls() != calls {
		b.Fatalf("the cached path called the back end")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
