package abi

import (
	"encoding/binary"
	"errors"
)

// Status is a call's outcome, the first field of its result frame.
type Status uint32

// The statuses.
const (
	// StatusOK: the call succeeded; the payload is its result.
	StatusOK Status = 0
	// StatusError: the call failed for the reason in the error text. A
	// transform's or sink's batch fails under the pipeline's on_error; a
	// source stops.
	StatusError Status = 1
	// StatusPanic: the plugin's code panicked; the error text is the
	// panic's message (and stack when the plugin has one). The host then
	// drops the instance and starts a new one for the next call.
	StatusPanic Status = 2
	// StatusEnd: a source has no more records (after the payload's batch,
	// which may be empty).
	StatusEnd Status = 3
	// StatusRetry: a sink could not write now (the target is busy or
	// briefly unreachable); the host retries the write with backoff.
	StatusRetry Status = 4
)

// String names s for messages.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusError:
		return "error"
	case StatusPanic:
		return "panic"
	case StatusEnd:
		return "end"
	case StatusRetry:
		return "retry"
	}
	return "status " + itoa(uint64(s))
}

// Frame is the result of every export: little-endian u32 status, u32
// length of the error text, the error text (UTF-8), then the payload up
// to the frame's end.
type Frame struct {
	Status  Status
	Error   string
	Payload []byte
}

// AppendFrame appends f's encoding to b.
func AppendFrame(b []byte, f Frame) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(f.Status))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Error)))
	b = append(b, f.Error...)
	return append(b, f.Payload...)
}

// ParseFrame decodes a frame; Payload aliases b.
func ParseFrame(b []byte) (Frame, error) {
	if len(b) < 8 {
		return Frame{}, errors.New("result frame shorter than its 8-byte header")
	}
	st := Status(binary.LittleEndian.Uint32(b))
	n := binary.LittleEndian.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-8) {
		return Frame{}, errors.New("result frame's error text runs past its end")
	}
	return Frame{Status: st, Error: string(b[8 : 8+n]), Payload: b[8+n:]}, nil
}

// Pack packs a pointer and a length into an export's i64 result.
func Pack(ptr, n uint32) uint64 { return uint64(ptr)<<32 | uint64(n) }

// Unpack splits an export's i64 result into pointer and length.
func Unpack(v uint64) (ptr, n uint32) { return uint32(v >> 32), uint32(v) }

// PollRequest is rivven_poll's input: little-endian u32, the most records
// the host takes in this call.
type PollRequest struct{ Max uint32 }

// AppendPollRequest appends r's encoding to b.
func AppendPollRequest(b []byte, r PollRequest) []byte {
	return binary.LittleEndian.AppendUint32(b, r.Max)
}

// ParsePollRequest decodes rivven_poll's input.
func ParsePollRequest(b []byte) (PollRequest, error) {
	if len(b) < 4 {
		return PollRequest{}, errors.New("poll request shorter than 4 bytes")
	}
	return PollRequest{Max: binary.LittleEndian.Uint32(b)}, nil
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
