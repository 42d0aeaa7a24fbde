package schemas_test

import (
	"testing"

	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

// BenchmarkEncodeOrdersProtobuf is BenchmarkEncodeOrders for Protobuf:
// protobuf encodes one datagen orders record per op through dynamicpb,
// protobuf+wire adds the Confluent header with the message-index byte, and
// protobuf-decode reads one record back.
func BenchmarkEncodeOrdersProtobuf(b *testing.B) {
	s, rows := sample(b, datagen.Config{Pattern: "orders"}, 256)
	c, err := schemas.NewProtobufCodec(s, "orders")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("protobuf", func(b *testing.B) {
		b.ReportAllocs()
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
	b.Run("protobuf+wire", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for i := 0; b.Loop(); i++ {
			buf = schemas.AppendProtobufWireHeader(buf[:0], 1, c.MessageIndexes())
			buf, err = c.Append(buf, rows[i%len(rows)])
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	msgs := make([][]byte, len(rows))
	for i, row := range rows {
		if msgs[i], err = c.Append(nil, row); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("protobuf-decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := c.Decode(msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
