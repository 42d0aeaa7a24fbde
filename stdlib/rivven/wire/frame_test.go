package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestReadFrameLimits(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxFrameLength+1)
	if _, err := ReadFrame(bytes.NewReader(hdr[:])); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	binary.BigEndian.PutUint32(hdr[:], 4)
	if _, err := ReadFrame(bytes.NewReader(hdr[:])); !errors.Is(err, ErrFrameTooShort) {
		t.Errorf("undersize: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("clean EOF: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(h("00 00 00 06 00 00 00"))); err != io.ErrUnexpectedEOF {
		t.Errorf("cut header: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(h("00 00 00 06 00 00 00 00 2A"))); err != io.ErrUnexpectedEOF {
		t.Errorf("cut payload: %v", err)
	}
	f, err := ReadFrame(bytes.NewReader(h("00 00 00 06 07 00 00 00 05 0D")))
	if !errors.Is(err, ErrUnknownFormat) || f.CorrelationID != 5 {
		t.Errorf("format 7: %+v %v", f, err)
	}
}

type rawPayload []byte

func (r rawPayload) Encode(dst []byte) []byte { return append(dst, r...) }

func TestAppendFrameLimit(t *testing.T) {
	ok := make(rawPayload, MaxPayloadSize)
	b, err := AppendFrame(nil, 1, ok)
	if err != nil || binary.BigEndian.Uint32(b) != MaxFrameLength {
		t.Fatalf("max payload: len %d, %v", len(b), err)
	}
	prefix := []byte("keep")
	b, err = AppendFrame(prefix, 1, make(rawPayload, MaxPayloadSize+1))
	if !errors.Is(err, ErrFrameTooLarge) || !bytes.Equal(b, prefix) {
		t.Fatalf("oversize: %v, %q", err, b[:min(len(b), 8)])
	}
	if _, err := AppendRawFrame(nil, Frame{Payload: make([]byte, MaxPayloadSize+1)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("raw oversize: %v", err)
	}
}

func TestFrameRoundTripSequence(t *testing.T) {
	var buf bytes.Buffer
	for i, m := range []Encoder{&Ping{}, &Handshake{ProtocolVersion: 2, ClientID: "c"}, &Pong{}} {
		b, err := AppendFrame(nil, uint32(i), m)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	for i := 0; i < 3; i++ {
		f, err := ReadFrame(&buf)
		if err != nil || f.CorrelationID != uint32(i) {
			t.Fatalf("frame %d: %+v %v", i, f, err)
		}
	}
	if _, err := ReadFrame(&buf); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}
