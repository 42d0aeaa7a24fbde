package schemas

import (
	"encoding/binary"
	"fmt"
)

// WireMagic is the first byte of a Confluent wire-format message.
const WireMagic byte = 0

// WireHeaderLen is the length of the Confluent wire-format header: the magic
// byte and the 4-byte big-endian schema id.
const WireHeaderLen = 5

// AppendWireHeader appends the Confluent wire-format header for schema id
// to buf; the encoded payload follows it.
func AppendWireHeader(buf []byte, id uint32) []byte {
	buf = append(buf, WireMagic)
	return binary.BigEndian.AppendUint32(buf, id)
}

// WireError reports a message that is not in the Confluent wire format.
type WireError struct {
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *WireError) Error() string { return "confluent wire format: " + e.Reason }

// SplitWire returns the schema id and the payload of a Confluent
// wire-format message. The payload shares msg. It fails with a *WireError
// when msg is shorter than the header or its magic byte is not 0.
func SplitWire(msg []byte) (id uint32, payload []byte, err error) {
	if len(msg) < WireHeaderLen {
		return 0, nil, &WireError{Reason: fmt.Sprintf("message of %d bytes is shorter than the %d-byte header", len(msg), WireHeaderLen)}
	}
	if msg[0] != WireMagic {
		return 0, nil, &WireError{Reason: fmt.Sprintf("magic byte is 0x%02x, want 0x00", msg[0])}
	}
	return binary.BigEndian.Uint32(msg[1:5]), msg[WireHeaderLen:], nil
}
