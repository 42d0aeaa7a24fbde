package wire

import (
	"fmt"
	"testing"
)

// BenchmarkAppendFramePublishBatch is the client-side encoding cost alone:
// 100 records of 100 bytes into a reused buffer (expected: 0 allocs).
func BenchmarkAppendFramePublishBatch(b *testing.B) {
	recs := make([]Record, 100)
	for i := range recs {
		recs[i] = Record{Key: []byte(fmt.Sprintf("key-%05d", i)), Value: make([]byte, 100)}
	}
	req := &PublishBatch{Topic: "bench", Partition: Some[uint32](0), Records: recs}
	buf, _ := AppendFrame(nil, 0, req)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf, _ = AppendFrame(buf[:0], 1, req)
	}
}

// BenchmarkDecodeMessages is the client-side decoding cost of a Consume reply
// of 100 records.
func BenchmarkDecodeMessages(b *testing.B) {
	m := &Messages{}
	for i := 0; i < 100; i++ {
		m.Messages = append(m.Messages, MessageData{Offset: uint64(i), Key: []byte("key"), Value: make([]byte, 100), Timestamp: 1700000000000})
	}
	p := m.Encode(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := DecodeResponse(p); err != nil {
			b.Fatal(err)
		}
	}
}
