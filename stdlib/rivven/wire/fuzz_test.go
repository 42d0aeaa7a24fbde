package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecodeResponse checks that any payload either fails to decode or decodes
// to a value that re-encodes and decodes back to the same value (a
// cross-check, not only "no panic").
func FuzzDecodeResponse(f *testing.F) {
	for _, g := range responseGoldens {
		f.Add(h(g.hex))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeResponse(p)
		if err != nil {
			return
		}
		enc := m.Encode(nil)
		m2, err := DecodeResponse(enc)
		if err != nil {
			t.Fatalf("re-decode of % X: %v", enc, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", m, m2)
		}
		if enc2 := m2.Encode(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: % X vs % X", enc, enc2)
		}
	})
}

// FuzzDecodeRequest is FuzzDecodeResponse for requests (what brokertest decodes).
func FuzzDecodeRequest(f *testing.F) {
	for _, g := range requestGoldens {
		f.Add(h(g.hex))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeRequest(p)
		if err != nil {
			return
		}
		enc := m.Encode(nil)
		m2, err := DecodeRequest(enc)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip of % X: %v\n%#v\n%#v", p, err, m, m2)
		}
	})
}

// FuzzReadFrame checks the frame reader never panics and never returns a
// payload inconsistent with the length prefix.
func FuzzReadFrame(f *testing.F) {
	f.Add(h("00 00 00 06 00 00 00 00 2A 0D"))
	f.Add(h("00 A0 00 01 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ReadFrame(bytes.NewReader(b))
		if err == nil && len(fr.Payload)+HeaderSize+4 > len(b) {
			t.Fatalf("payload longer than input")
		}
	})
}
