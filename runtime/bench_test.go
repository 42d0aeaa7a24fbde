package runtime

import (
	"context"
	"io"
	"testing"
)

// benchSource produces n cheap records (one int field) reusing the slots.
type benchSource struct {
	n, next uint64
	schema  *Schema
}

func (s *benchSource) Open(context.Context) error          { return nil }
func (s *benchSource) Close() error                        { return nil }
func (s *benchSource) Ack(context.Context, Position) error { return nil }
func (s *benchSource) Read(_ context.Context, batch []Record) (int, error) {
	k := 0
	for k < len(batch) && s.next < s.n {
		r := &batch[k]
		r.Stream, r.Schema, r.Position = "b", s.schema, Position{Offset: s.next}
		r.After = append(r.After[:0], Int(int64(s.next)))
		s.next++
		k++
	}
	if s.next == s.n {
		return k, io.EOF
	}
	return k, nil
}

// benchSink sums what it receives (so the work is not optimised away).
type benchSink struct{ sum int64 }

func (s *benchSink) Open(context.Context) error { return nil }
func (s *benchSink) Close() error               { return nil }
func (s *benchSink) Write(_ context.Context, rs []Record) error {
	for i := range rs {
		s.sum += rs[i].After[0].AsInt()
	}
	return nil
}

var benchSchema = NewSchema(Field{Name: "n", Type: Type{Kind: KindInt}})

// BenchmarkDriver measures the driver's overhead per record (one op = one
// record) on a trivial source, program and sink: the baseline is a bare
// read → process → write loop with no goroutines, batching, acks or
// stats; "driver" is Pipeline.Run with sink batching on (max_records 1024);
// "driver-unbatched" writes once per source batch (the default).
func BenchmarkDriver(b *testing.B) {
	prog := ProgramFunc(keepEven)
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		src, sink := &benchSource{n: uint64(b.N), schema: benchSchema}, &benchSink{}
		batch := make([]Record, DefaultBatchSize)
		ctx := context.Background()
		for {
			n, err := src.Read(ctx, batch)
			kept := 0
			for i := range batch[:n] {
				if keep, _ := prog.Process(&batch[i]); keep {
					batch[kept], batch[i] = batch[i], batch[kept]
					kept++
				}
			}
			_ = sink.Write(ctx, batch[:kept])
			if err != nil {
				break
			}
		}
	})
	for _, bc := range []struct {
		name string
		sb   SinkBatch
	}{{"driver", SinkBatch{MaxRecords: 1024, TimeoutMs: 100}}, {"driver-unbatched", SinkBatch{}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			p := &Pipeline{Name: "bench", Source: &benchSource{n: uint64(b.N), schema: benchSchema}, Sink: &benchSink{},
				Program: prog, Settings: Settings{SinkBatch: bc.sb}}
			if err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
