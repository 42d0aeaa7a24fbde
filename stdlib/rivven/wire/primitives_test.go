package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func TestUvarint(t *testing.T) {
	for _, c := range []struct {
		v   uint64
		hex string
	}{
		{0, "00"}, {1, "01"}, {127, "7F"}, {128, "80 01"}, {300, "AC 02"}, {12345, "B9 60"},
		{16383, "FF 7F"}, {16384, "80 80 01"}, {math.MaxUint32, "FF FF FF FF 0F"},
		{math.MaxUint64, "FF FF FF FF FF FF FF FF FF 01"},
	} {
		if got := AppendUvarint(nil, c.v); !bytes.Equal(got, h(c.hex)) {
			t.Errorf("AppendUvarint(%d) = % X, want %s", c.v, got, c.hex)
		}
		d := NewDecoder(h(c.hex))
		if got := d.U64(); got != c.v || d.Finish() != nil {
			t.Errorf("U64(%s) = %d, %v", c.hex, got, d.Err())
		}
	}
}

func TestVarintOverflow(t *testing.T) {
	for _, c := range []struct {
		name string
		hex  string
		read func(*Decoder)
	}{
		{"u16 65536", "80 80 04", func(d *Decoder) { d.U16() }},
		{"u16 4 bytes", "80 80 80 00", func(d *Decoder) { d.U16() }},
		{"u32 2^32", "80 80 80 80 10", func(d *Decoder) { d.U32() }},
		{"u32 6 bytes", "80 80 80 80 80 00", func(d *Decoder) { d.U32() }},
		{"u64 2^64", "80 80 80 80 80 80 80 80 80 02", func(d *Decoder) { d.U64() }},
		{"u64 11 bytes", "80 80 80 80 80 80 80 80 80 80 00", func(d *Decoder) { d.U64() }},
	} {
		d := NewDecoder(h(c.hex))
		c.read(d)
		if !errors.Is(d.Err(), ErrVarintOverflow) {
			t.Errorf("%s: got %v, want overflow", c.name, d.Err())
		}
	}
	d := NewDecoder(h("FF FF 03"))
	if v := d.U16(); v != math.MaxUint16 || d.Finish() != nil {
		t.Errorf("u16 max = %d, %v", v, d.Err())
	}
}

func TestZigzag(t *testing.T) {
	for _, c := range []struct {
		v   int64
		hex string
	}{
		{0, "00"}, {-1, "01"}, {1, "02"}, {-2, "03"}, {63, "7E"}, {-64, "7F"}, {64, "80 01"},
		{math.MaxInt32, "FE FF FF FF 0F"}, {math.MinInt32, "FF FF FF FF 0F"},
		{math.MaxInt64, "FE FF FF FF FF FF FF FF FF 01"}, {math.MinInt64, "FF FF FF FF FF FF FF FF FF 01"},
	} {
		if got := AppendVarint(nil, c.v); !bytes.Equal(got, h(c.hex)) {
			t.Errorf("AppendVarint(%d) = % X, want %s", c.v, got, c.hex)
		}
		d := NewDecoder(h(c.hex))
		if got := d.I64(); got != c.v || d.Finish() != nil {
			t.Errorf("I64(%s) = %d, %v", c.hex, got, d.Err())
		}
		if c.v >= math.MinInt32 && c.v <= math.MaxInt32 {
			d := NewDecoder(h(c.hex))
			if got := d.I32(); int64(got) != c.v || d.Finish() != nil {
				t.Errorf("I32(%s) = %d, %v", c.hex, got, d.Err())
			}
		}
	}
	d := NewDecoder(h("FF FF 03"))
	if v := d.I16(); v != math.MinInt16 || d.Finish() != nil {
		t.Errorf("I16 = %d, %v", v, d.Err())
	}
}

func TestFloats(t *testing.T) {
	if got := AppendF64(nil, 1.5); !bytes.Equal(got, h("00 00 00 00 00 00 F8 3F")) {
		t.Errorf("AppendF64(1.5) = % X", got)
	}
	if got := AppendF32(nil, -2); !bytes.Equal(got, h("00 00 00 C0")) {
		t.Errorf("AppendF32(-2) = % X", got)
	}
	d := NewDecoder(h("00 00 00 00 00 00 F8 3F 00 00 00 C0"))
	if a, b := d.F64(), d.F32(); a != 1.5 || b != -2 || d.Finish() != nil {
		t.Errorf("floats = %v %v %v", a, b, d.Err())
	}
	d = NewDecoder(h("00 00 00"))
	if d.F64(); !errors.Is(d.Err(), ErrTruncated) {
		t.Errorf("short f64: %v", d.Err())
	}
}

func TestInvalidTags(t *testing.T) {
	// Authenticate with require_tls byte 2.
	if _, err := DecodeRequest(h("00 01 75 01 70 02")); !errors.Is(err, ErrInvalidBool) {
		t.Errorf("bool 2: %v", err)
	}
	// CreateTopic with option tag 2.
	if _, err := DecodeRequest(h("06 01 74 02 03")); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("option 2: %v", err)
	}
	// GetMetadata with a lone continuation byte as a string.
	if _, err := DecodeRequest(h("0B 01 80")); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("utf8: %v", err)
	}
	// A count larger than the remaining bytes is truncation, not a huge allocation.
	if _, err := DecodeResponse(h("06 FF FF FF FF 0F")); !errors.Is(err, ErrTruncated) {
		t.Errorf("huge count: %v", err)
	}
	var de *DecodeError
	_, err := DecodeRequest(h("06 01 74 02 03"))
	if !errors.As(err, &de) || de.Offset != 3 {
		t.Errorf("offset: %#v", err)
	}
}

func TestOptionBytesNilVersusEmpty(t *testing.T) {
	for _, c := range []struct {
		key []byte
		hex string
	}{{nil, "00"}, {[]byte{}, "01 00"}, {[]byte("k"), "01 01 6B"}} {
		if got := AppendOptionBytes(nil, c.key); !bytes.Equal(got, h(c.hex)) {
			t.Errorf("AppendOptionBytes(%q) = % X", c.key, got)
		}
		d := NewDecoder(h(c.hex))
		got := d.OptionBytes()
		if (got == nil) != (c.key == nil) || !bytes.Equal(got, c.key) || d.Finish() != nil {
			t.Errorf("OptionBytes(%s) = %#v", c.hex, got)
		}
	}
}

func TestDecodedBytesDoNotGrowIntoPayload(t *testing.T) {
	p := h("26 01 74 00 02 00 01 61 00 01 62 00")
	m, err := DecodeRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	b := m.(*PublishBatch)
	_ = append(b.Records[0].Value, 'X', 'Y', 'Z')
	if !bytes.Equal(p, h("26 01 74 00 02 00 01 61 00 01 62 00")) {
		t.Fatal("append to a decoded slice overwrote the payload")
	}
}
