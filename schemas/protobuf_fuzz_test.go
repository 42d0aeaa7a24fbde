package schemas_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// FuzzProtobufDecode decodes arbitrary bytes as an events record (open
// object as JSON, nullable custom fields, nested message, lists) and
// cross-checks the direct decoder against dynamicpb: both accept or both
// reject, agree on every value, and what is decoded re-encodes to the
// bytes proto.Marshal writes for it.
func FuzzProtobufDecode(f *testing.F) {
	cfg := datagen.Config{Pattern: "events", CustomFields: customFields()}
	s, rows := sample(f, cfg, 20)
	c, err := schemas.NewProtobufCodec(s, "events")
	if err != nil {
		f.Fatal(err)
	}
	for _, row := range rows {
		b, err := c.Append(nil, row)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		row, err := c.Decode(data)
		want, werr := schemas.ProtobufDecodeDynamic(c, data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("direct error %v, dynamicpb error %v", err, werr)
		}
		if err != nil {
			return
		}
		for j := range row {
			// Compare JSON, not values: NaN is not Equal to itself.
			if g, w := runtime.AppendJSON(nil, row[j]), runtime.AppendJSON(nil, want[j]); !bytes.Equal(g, w) || row[j].Kind() != want[j].Kind() {
				t.Fatalf("field %s: direct %s, dynamicpb %s", s.Fields[j].Name, g, w)
			}
		}
		b, err := c.Append(nil, row)
		if err != nil {
			t.Fatalf("re-encode of a decoded row: %v", err)
		}
		m := dynamicpb.NewMessage(c.Descriptor())
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatalf("dynamicpb rejects our encoding: %v", err)
		}
		if b2, err := (proto.MarshalOptions{Deterministic: true}).Marshal(m); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding differs from proto.Marshal: %x vs %x (%v)", b, b2, err)
		}
	})
}

// FuzzSplitProtobufWire cross-checks the message-index codec: whatever
// SplitProtobufWire accepts, AppendProtobufWireHeader re-frames into a
// message that splits to the same id, indexes and payload.
func FuzzSplitProtobufWire(f *testing.F) {
	for _, idx := range [][]int{{0}, {1}, {1, 0}, {2, 3, 64}} {
		f.Add(append(schemas.AppendProtobufWireHeader(nil, 9, idx), "body"...))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, idx, payload, err := schemas.SplitProtobufWire(msg)
		if err != nil {
			return
		}
		if len(idx) == 0 {
			t.Fatalf("empty index path")
		}
		again := append(schemas.AppendProtobufWireHeader(nil, id, idx), payload...)
		id2, idx2, payload2, err := schemas.SplitProtobufWire(again)
		if err != nil || id2 != id || !slices.Equal(idx, idx2) || !bytes.Equal(payload, payload2) {
			t.Fatalf("re-framed %x splits to %d %v %x (%v), want %d %v %x", again, id2, idx2, payload2, err, id, idx, payload)
		}
		if len(again) > len(msg) {
			t.Fatalf("re-framing grew the header: %x from %x", again, msg)
		}
	})
}
