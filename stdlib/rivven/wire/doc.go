// Package wire is the byte-level codec of the Rivven broker (rivvend) native
// protocol, version 2: postcard primitives, length-prefixed frames, and one Go
// struct per Request and Response variant.
//
// # Frames
//
//	u32 BE length N | u8 format | u32 BE correlation id | payload (N-5 bytes)
//
// N counts the format byte, the correlation id and the payload and is at most
// [MaxFrameLength] (10 MiB). Only [FormatPostcard] payloads are produced or
// understood here.
//
// # Payloads
//
// A payload is one postcard-encoded enum value: varint(variant index), then the
// variant's fields in declaration order, with no names and no lengths. Every
// field is always on the wire; a short payload, an unknown variant, an invalid
// bool/Option tag, invalid UTF-8 in a string, an overflowing varint or bytes
// after the value are all decode errors (a [*DecodeError]), never panics.
//
// Go shapes of the Rust types:
//   - Option<T> is [Option][T]; Option<Bytes> is a []byte whose nil value is
//     None and whose non-nil value (even empty) is Some.
//   - Vec<T> is []T (empty decodes as nil); HashMap<K,V> is map[K]V (encoded
//     in ascending key order so encoding is deterministic; empty decodes as nil).
//   - usize is uint64.
//
// # Ownership
//
// Encode methods append to dst and return the extended slice; they never retain
// dst or the message. Decode methods make []byte fields alias the payload they
// were given (strings are copied): the caller must not modify the payload while
// the decoded message is in use. All functions are safe for concurrent use on
// distinct values; a message value must not be encoded and mutated at once.
package wire

// ProtocolVersion is the protocol version this package implements and that a
// client announces in [Handshake].
const ProtocolVersion uint32 = 2
