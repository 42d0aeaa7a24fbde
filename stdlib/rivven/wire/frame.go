package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Format is the frame's payload format byte.
type Format uint8

// Payload formats. Only FormatPostcard is implemented; a default rivvend build
// speaks nothing else.
const (
	FormatPostcard Format = 0x00
	FormatProtobuf Format = 0x01
)

const (
	// HeaderSize is the format byte plus the correlation id, counted in N.
	HeaderSize = 5
	// MaxFrameLength is the largest N (format + correlation id + payload)
	// rivvend accepts or sends: 10 MiB, as rivven-protocol's MAX_MESSAGE_SIZE.
	MaxFrameLength = 10 << 20
	// MaxPayloadSize is the largest payload that fits in a frame.
	MaxPayloadSize = MaxFrameLength - HeaderSize
)

// Frame errors. After ErrFrameTooLarge or ErrFrameTooShort the stream is out of
// step: the connection must be closed.
var (
	ErrFrameTooLarge = errors.New("wire: frame exceeds 10 MiB")
	ErrFrameTooShort = errors.New("wire: frame length below header size")
	ErrUnknownFormat = errors.New("wire: unknown frame format")
)

// Frame is one length-delimited unit on the connection.
type Frame struct {
	Format        Format
	CorrelationID uint32
	Payload       []byte // owned by whoever read or built the frame
}

// Encoder is anything that appends its postcard payload to dst: every Request
// and Response in this package.
type Encoder interface {
	Encode(dst []byte) []byte
}

// AppendFrame appends a postcard frame holding m's payload to dst. The payload
// is encoded in place (no intermediate buffer). It returns ErrFrameTooLarge,
// and dst unchanged, if the frame would exceed MaxFrameLength.
func AppendFrame(dst []byte, correlationID uint32, m Encoder) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(FormatPostcard), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[start+5:], correlationID)
	dst = m.Encode(dst)
	n := len(dst) - start - 4
	if n > MaxFrameLength {
		return dst[:start], fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}

// AppendRawFrame appends a frame around an already encoded payload.
func AppendRawFrame(dst []byte, f Frame) ([]byte, error) {
	n := HeaderSize + len(f.Payload)
	if n > MaxFrameLength {
		return dst, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, byte(f.Format))
	dst = binary.BigEndian.AppendUint32(dst, f.CorrelationID)
	return append(dst, f.Payload...), nil
}

// WriteFrame writes f to w in one Write call.
func WriteFrame(w io.Writer, f Frame) error {
	b, err := AppendRawFrame(make([]byte, 0, 9+len(f.Payload)), f)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadFrame reads one frame from r. The payload is freshly allocated and owned
// by the caller. A length above MaxFrameLength yields ErrFrameTooLarge without
// reading the body; a format other than postcard or protobuf yields
// ErrUnknownFormat after the whole frame was consumed (the frame is returned
// so the caller can answer with its correlation id). io.EOF is returned only
// when r ends cleanly before a frame starts; a frame cut short yields
// io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader) (Frame, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n > MaxFrameLength {
		return Frame{}, fmt.Errorf("%w: length %d", ErrFrameTooLarge, n)
	}
	if n < HeaderSize {
		return Frame{}, fmt.Errorf("%w: length %d", ErrFrameTooShort, n)
	}
	if _, err := io.ReadFull(r, hdr[4:9]); err != nil {
		return Frame{}, unexpectedEOF(err)
	}
	f := Frame{
		Format:        Format(hdr[4]),
		CorrelationID: binary.BigEndian.Uint32(hdr[5:9]),
		Payload:       make([]byte, n-HeaderSize),
	}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return Frame{}, unexpectedEOF(err)
	}
	if f.Format != FormatPostcard && f.Format != FormatProtobuf {
		return f, fmt.Errorf("%w: 0x%02x", ErrUnknownFormat, byte(f.Format))
	}
	return f, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
