package schemas

import (
	"encoding/binary"
	"fmt"
)

// AppendMessageIndexes appends the message-index array of the Confluent
// Protobuf wire format: the zig-zag varint count, then each index as a
// zig-zag varint. The path [0] (the file's first message), and an empty
// path meaning the same, are written as the single byte 0. Indexes must
// not be negative.
func AppendMessageIndexes(buf []byte, indexes []int) []byte {
	if len(indexes) == 0 || len(indexes) == 1 && indexes[0] == 0 {
		return append(buf, 0)
	}
	buf = binary.AppendVarint(buf, int64(len(indexes)))
	for _, i := range indexes {
		buf = binary.AppendVarint(buf, int64(i))
	}
	return buf
}

// AppendProtobufWireHeader appends the Confluent wire-format header of a
// Protobuf message to buf: the magic byte, the 4-byte big-endian schema id,
// and the message-index path of the message type in the schema (see
// AppendMessageIndexes and ProtobufCodec.MessageIndexes). The encoded
// message follows it.
func AppendProtobufWireHeader(buf []byte, id uint32, indexes []int) []byte {
	return AppendMessageIndexes(AppendWireHeader(buf, id), indexes)
}

// SplitProtobufWire returns the schema id, the message-index path (never
// empty: the single-byte form decodes as [0]) and the payload of a
// Confluent wire-format Protobuf message. The payload shares msg. It fails
// with a *WireError when the header is short or malformed, the magic byte
// is not 0, or an index is negative.
func SplitProtobufWire(msg []byte) (id uint32, indexes []int, payload []byte, err error) {
	id, rest, err := SplitWire(msg)
	if err != nil {
		return 0, nil, nil, err
	}
	n, k := binary.Varint(rest)
	if k <= 0 {
		return 0, nil, nil, &WireError{Reason: "message-index count is truncated or overflows"}
	}
	rest = rest[k:]
	if n == 0 {
		return id, []int{0}, rest, nil
	}
	// Each index takes at least one byte.
	if n < 0 || n > int64(len(rest)) {
		return 0, nil, nil, &WireError{Reason: fmt.Sprintf("message-index count %d is invalid for %d remaining bytes", n, len(rest))}
	}
	indexes = make([]int, n)
	for i := range indexes {
		x, k := binary.Varint(rest)
		if k <= 0 {
			return 0, nil, nil, &WireError{Reason: fmt.Sprintf("message index %d is truncated or overflows", i)}
		}
		if x < 0 || x > 1<<31-1 {
			return 0, nil, nil, &WireError{Reason: fmt.Sprintf("message index %d is %d, out of range", i, x)}
		}
		indexes[i] = int(x)
		rest = rest[k:]
	}
	return id, indexes, rest, nil
}
