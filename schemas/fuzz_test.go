package schemas_test

import (
	"bytes"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

// FuzzAvroDecode decodes arbitrary bytes as an events record (nested open
// object, nullable custom fields, arrays) and cross-checks: what we decode
// re-encodes to bytes that decode and re-encode to the same bytes, and
// hamba accepts them. testdata/fuzz keeps the cases found so far.
func FuzzAvroDecode(f *testing.F) {
	cfg := datagen.Config{Pattern: "events", CustomFields: customFields()}
	s, rows := sample(f, cfg, 20)
	c, err := schemas.NewAvroCodec(s, "events")
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
		if err != nil {
			return
		}
		b, err := c.Append(nil, row)
		if err != nil {
			t.Fatalf("re-encode of a decoded row: %v", err)
		}
		again, err := c.Decode(b)
		if err != nil {
			t.Fatalf("decode of a re-encoded row: %v", err)
		}
		// Compare encodings, not values: NaN is not Equal to itself.
		b2, err := c.Append(nil, again)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable over a round trip: %x vs %x (%v)", b, b2, err)
		}
		var generic map[string]any
		if err := avro.Unmarshal(c.Schema(), b, &generic); err != nil {
			t.Fatalf("hamba rejects our encoding: %v", err)
		}
	})
}
