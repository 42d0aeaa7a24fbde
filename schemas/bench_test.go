package schemas_test

import (
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

// BenchmarkEncodeOrders encodes one datagen orders record per op: baseline
// is the SourceEvent JSON the JSON sinks write, avro the Avro binary body
// and avro+wire the same with the Confluent wire header.
func BenchmarkEncodeOrders(b *testing.B) {
	s, rows := sample(b, datagen.Config{Pattern: "orders"}, 256)
	recs := make([]runtime.Record, len(rows))
	for i, row := range rows {
		recs[i] = runtime.Record{Stream: "datagen", Op: runtime.OpRecord, Schema: s, After: row, Time: fixedNow}
	}
	c, err := schemas.NewAvroCodec(s, "orders")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		var n int
		for i := 0; b.Loop(); i++ {
			buf = runtime.AppendSourceEvent(buf[:0], &recs[i%len(recs)], false, true)
			n += len(buf)
		}
		b.ReportMetric(float64(n)/float64(b.N), "bytes/record")
	})
	b.Run("avro", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		var n int
		for i := 0; b.Loop(); i++ {
			buf, err = c.Append(buf[:0], rows[i%len(rows)])
			if err != nil {
				b.Fatal(err)
			}
			n += len(buf)
		}
		b.ReportMetric(float64(n)/float64(b.N), "bytes/record")
	})
	b.Run("avro+wire", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for i := 0; b.Loop(); i++ {
			buf = schemas.AppendWireHeader(buf[:0], 1)
			buf, err = c.Append(buf, rows[i%len(rows)])
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
