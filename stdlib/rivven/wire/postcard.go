package wire

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// Decode failure causes, wrapped in a [*DecodeError]; test with errors.Is.
var (
	ErrTruncated      = errors.New("unexpected end of payload")
	ErrTrailingBytes  = errors.New("trailing bytes after value")
	ErrVarintOverflow = errors.New("varint overflows its type")
	ErrInvalidBool    = errors.New("bool byte is neither 0 nor 1")
	ErrInvalidOption  = errors.New("option tag is neither 0 nor 1")
	ErrInvalidUTF8    = errors.New("string is not valid UTF-8")
	ErrUnknownVariant = errors.New("unknown enum variant")
	ErrWrongVariant   = errors.New("payload holds another variant")
)

// DecodeError reports where and why a payload could not be decoded.
type DecodeError struct {
	Offset int   // byte offset in the payload where decoding stopped
	Err    error // one of the Err* causes above
}

// Error renders the cause and the offset.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("wire: decode: %v at byte %d", e.Err, e.Offset)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// AppendUvarint appends v as an unsigned LEB128 varint (postcard u16/u32/u64/usize).
func AppendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// AppendVarint appends v zigzag-encoded as a varint (postcard i16/i32/i64).
func AppendVarint(dst []byte, v int64) []byte {
	return AppendUvarint(dst, uint64(v<<1)^uint64(v>>63))
}

// AppendBool appends one byte, 0 or 1.
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendF32 appends v as little-endian IEEE 754.
func AppendF32(dst []byte, v float32) []byte {
	return binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
}

// AppendF64 appends v as little-endian IEEE 754.
func AppendF64(dst []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

// AppendBytes appends varint(len(b)) then b (postcard Bytes / Vec<u8>).
func AppendBytes(dst []byte, b []byte) []byte {
	return append(AppendUvarint(dst, uint64(len(b))), b...)
}

// AppendString appends varint(len(s)) then s. The broker rejects invalid UTF-8.
func AppendString(dst []byte, s string) []byte {
	return append(AppendUvarint(dst, uint64(len(s))), s...)
}

// AppendOptionBytes appends Option<Bytes>: nil is None, non-nil (even empty) is Some.
func AppendOptionBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return append(dst, 0)
	}
	return AppendBytes(append(dst, 1), b)
}

func appendOpt[T any](dst []byte, o Option[T], f func([]byte, T) []byte) []byte {
	if !o.Valid {
		return append(dst, 0)
	}
	return f(append(dst, 1), o.Value)
}

func appendOptU32(dst []byte, o Option[uint32]) []byte {
	if !o.Valid {
		return append(dst, 0)
	}
	return AppendUvarint(append(dst, 1), uint64(o.Value))
}

func appendOptU64(dst []byte, o Option[uint64]) []byte {
	if !o.Valid {
		return append(dst, 0)
	}
	return AppendUvarint(append(dst, 1), o.Value)
}

func appendOptString(dst []byte, o Option[string]) []byte {
	return appendOpt(dst, o, AppendString)
}

func appendVec[T any](dst []byte, items []T, f func([]byte, T) []byte) []byte {
	dst = AppendUvarint(dst, uint64(len(items)))
	for _, it := range items {
		dst = f(dst, it)
	}
	return dst
}

func appendStrings(dst []byte, ss []string) []byte { return appendVec(dst, ss, AppendString) }

func appendU32s(dst []byte, vs []uint32) []byte {
	dst = AppendUvarint(dst, uint64(len(vs)))
	for _, v := range vs {
		dst = AppendUvarint(dst, uint64(v))
	}
	return dst
}

// appendMap appends HashMap<K,V> in ascending key order (deterministic bytes).
func appendMap[K cmp.Ordered, V any](dst []byte, m map[K]V, fk func([]byte, K) []byte, fv func([]byte, V) []byte) []byte {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = fv(fk(dst, k), m[k])
	}
	return dst
}

// Decoder reads postcard primitives from a payload. The first failure is
// sticky: later reads return zero values and Err reports the first cause.
// Byte slices it returns alias the payload. A Decoder is not safe for
// concurrent use.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a Decoder reading p from its start.
func NewDecoder(p []byte) *Decoder { return &Decoder{buf: p} }

// Err returns the first decode failure, or nil.
func (d *Decoder) Err() error { return d.err }

// Remaining returns the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Finish returns the first failure, or a trailing-bytes error if unread bytes remain.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.buf) {
		d.fail(ErrTrailingBytes)
	}
	return d.err
}

func (d *Decoder) fail(cause error) {
	if d.err == nil {
		d.err = &DecodeError{Offset: d.off, Err: cause}
	}
}

// Fail records cause (if no failure was recorded yet) at the current offset.
func (d *Decoder) Fail(cause error) { d.fail(cause) }

func (d *Decoder) uvarint(maxBytes int, max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < maxBytes; i++ {
		if d.off >= len(d.buf) {
			d.fail(ErrTruncated)
			return 0
		}
		b := d.buf[d.off]
		d.off++
		if i == 9 && b > 1 { // the 10th byte of a u64 may hold only one bit
			d.fail(ErrVarintOverflow)
			return 0
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if v > max {
				d.fail(ErrVarintOverflow)
				return 0
			}
			return v
		}
	}
	d.fail(ErrVarintOverflow)
	return 0
}

// U64 reads a varint u64 (also usize).
func (d *Decoder) U64() uint64 { return d.uvarint(10, math.MaxUint64) }

// U32 reads a varint u32.
func (d *Decoder) U32() uint32 { return uint32(d.uvarint(5, math.MaxUint32)) }

// U16 reads a varint u16.
func (d *Decoder) U16() uint16 { return uint16(d.uvarint(3, math.MaxUint16)) }

// I64 reads a zigzag varint i64.
func (d *Decoder) I64() int64 {
	u := d.U64()
	return int64(u>>1) ^ -int64(u&1)
}

// I32 reads a zigzag varint i32.
func (d *Decoder) I32() int32 {
	u := d.U32()
	return int32(u>>1) ^ -int32(u&1)
}

// I16 reads a zigzag varint i16.
func (d *Decoder) I16() int16 {
	u := d.U16()
	return int16(u>>1) ^ -int16(u&1)
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.off {
		d.fail(ErrTruncated)
		return nil
	}
	b := d.buf[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// U8 reads one raw byte.
func (d *Decoder) U8() uint8 {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads a 0/1 byte; any other value is an error.
func (d *Decoder) Bool() bool {
	switch d.U8() {
	case 0:
		return false
	case 1:
		return true
	default:
		d.off--
		d.fail(ErrInvalidBool)
		return false
	}
}

// F32 reads a little-endian IEEE 754 float32.
func (d *Decoder) F32() float32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}

// F64 reads a little-endian IEEE 754 float64.
func (d *Decoder) F64() float64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// length reads a varint length or count that must not exceed the unread bytes
// (every element this protocol sends is at least one byte long).
func (d *Decoder) length() int {
	n := d.U64()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.buf)-d.off) {
		d.fail(ErrTruncated)
		return 0
	}
	return int(n)
}

// Bytes reads varint(len) + bytes. An empty value decodes as nil. The result
// aliases the payload (capacity clipped, so appending to it cannot clobber it).
func (d *Decoder) Bytes() []byte {
	n := d.length()
	if n == 0 {
		return nil
	}
	return d.take(n)
}

// String reads varint(len) + UTF-8 bytes into a new string.
func (d *Decoder) String() string {
	n := d.length()
	b := d.take(n)
	if d.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		d.off -= n
		d.fail(ErrInvalidUTF8)
		return ""
	}
	return string(b)
}

// OptionTag reads an Option tag and reports whether a value follows.
func (d *Decoder) OptionTag() bool {
	switch d.U8() {
	case 0:
		return false
	case 1:
		return true
	default:
		if d.err == nil {
			d.off--
			d.fail(ErrInvalidOption)
		}
		return false
	}
}

// OptionBytes reads Option<Bytes>: nil for None, a non-nil slice (possibly
// empty) for Some. The result aliases the payload.
func (d *Decoder) OptionBytes() []byte {
	if !d.OptionTag() {
		return nil
	}
	b := d.Bytes()
	if b == nil && d.err == nil {
		return d.buf[d.off:d.off:d.off]
	}
	return b
}

func decOpt[T any](d *Decoder, f func(*Decoder) T) Option[T] {
	if !d.OptionTag() {
		return Option[T]{}
	}
	v := f(d)
	if d.err != nil {
		return Option[T]{}
	}
	return Some(v)
}

func (d *Decoder) optU32() Option[uint32]    { return decOpt(d, (*Decoder).U32) }
func (d *Decoder) optU64() Option[uint64]    { return decOpt(d, (*Decoder).U64) }
func (d *Decoder) optU8() Option[uint8]      { return decOpt(d, (*Decoder).U8) }
func (d *Decoder) optString() Option[string] { return decOpt(d, (*Decoder).String) }

// decVec reads Vec<T>. The count is checked against the unread bytes and the
// preallocation is capped, so a hostile count cannot force a huge allocation.
func decVec[T any](d *Decoder, f func(*Decoder) T) []T {
	n := d.length()
	if n == 0 {
		return nil
	}
	out := make([]T, 0, min(n, 256))
	for i := 0; i < n; i++ {
		v := f(d)
		if d.err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

func (d *Decoder) strings() []string { return decVec(d, (*Decoder).String) }
func (d *Decoder) u32s() []uint32    { return decVec(d, (*Decoder).U32) }

func decMap[K comparable, V any](d *Decoder, fk func(*Decoder) K, fv func(*Decoder) V) map[K]V {
	n := d.length()
	if n == 0 {
		return nil
	}
	m := make(map[K]V, min(n, 256))
	for i := 0; i < n; i++ {
		k := fk(d)
		v := fv(d)
		if d.err != nil {
			return nil
		}
		m[k] = v
	}
	return m
}
