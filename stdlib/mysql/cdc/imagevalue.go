package cdc

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// value decodes the value of c at the start of b: the runtime value
// binlogRow makes of what go-mysql decodes there (newSyncer's options),
// and its size in b. false: b ends too soon, or the value is one that
// binlogRow turns into an error or takes a general path for (text that
// is not UTF-8, an ENUM or SET member without a name, a DECIMAL group
// out of range).
func (c *imageCol) value(b []byte, a *textArena) (runtime.Value, int, bool) {
	switch c.typ {
	case gomysql.MYSQL_TYPE_TINY:
		if len(b) < 1 {
			break
		}
		if c.unsigned {
			return runtime.Int(int64(b[0])), 1, true
		}
		return runtime.Int(int64(int8(b[0]))), 1, true
	case gomysql.MYSQL_TYPE_SHORT:
		if len(b) < 2 {
			break
		}
		x := binary.LittleEndian.Uint16(b)
		if c.unsigned {
			return runtime.Int(int64(x)), 2, true
		}
		return runtime.Int(int64(int16(x))), 2, true
	case gomysql.MYSQL_TYPE_INT24:
		if len(b) < 3 {
			break
		}
		x := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		if c.unsigned {
			return runtime.Int(int64(x)), 3, true
		}
		return runtime.Int(int64(int32(x<<8) >> 8)), 3, true
	case gomysql.MYSQL_TYPE_LONG:
		if len(b) < 4 {
			break
		}
		x := binary.LittleEndian.Uint32(b)
		if c.unsigned {
			return runtime.Int(int64(x)), 4, true
		}
		return runtime.Int(int64(int32(x))), 4, true
	case gomysql.MYSQL_TYPE_LONGLONG:
		if len(b) < 8 {
			break
		}
		x := binary.LittleEndian.Uint64(b)
		if c.kind == kUint64 {
			return runtime.String(a.take(strconv.AppendUint(a.reserve(20), x, 10))), 8, true
		}
		return runtime.Int(int64(x)), 8, true
	case gomysql.MYSQL_TYPE_YEAR:
		if len(b) < 1 {
			break
		}
		if b[0] == 0 {
			return runtime.Int(0), 1, true
		}
		return runtime.Int(int64(b[0]) + 1900), 1, true
	case gomysql.MYSQL_TYPE_FLOAT:
		if len(b) < 4 {
			break
		}
		f := math.Float32frombits(binary.LittleEndian.Uint32(b))
		return runtime.Float(shortestFloat32(float64(f))), 4, true
	case gomysql.MYSQL_TYPE_DOUBLE:
		if len(b) < 8 {
			break
		}
		return runtime.Float(math.Float64frombits(binary.LittleEndian.Uint64(b))), 8, true
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		if len(b) < c.width {
			break
		}
		start := a.reserve(c.prec + 3)
		d, ok := appendDecimal(start, b[:c.width], c.prec, c.scale)
		if !ok {
			break
		}
		if t := d[len(start):]; negativeZero(t) {
			// The server prints a negative zero without its sign.
			copy(t, t[1:])
			d = d[:len(d)-1]
		}
		return runtime.String(a.take(d)), c.width, true
	case gomysql.MYSQL_TYPE_DATE:
		if len(b) < 3 {
			break
		}
		x := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		d := appendPadded(a.reserve(16), x/(16*32), 4)
		d = appendPadded(append(d, '-'), x/32%16, 2)
		d = appendPadded(append(d, '-'), x%32, 2)
		return runtime.String(a.take(d)), 3, true
	case gomysql.MYSQL_TYPE_DATETIME2:
		return c.datetime2(b, a)
	case gomysql.MYSQL_TYPE_TIMESTAMP2:
		return c.timestamp2(b, a)
	case gomysql.MYSQL_TYPE_TIME2:
		return c.time2(b, a)
	case gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING, gomysql.MYSQL_TYPE_BLOB,
		gomysql.MYSQL_TYPE_GEOMETRY:
		if len(b) < c.lenBytes {
			break
		}
		var n int
		for i := c.lenBytes - 1; i >= 0; i-- {
			n = n<<8 | int(b[i])
		}
		end := c.lenBytes + n
		if n < 0 || len(b) < end {
			break
		}
		s := b[c.lenBytes:end]
		switch c.kind {
		case kBinary:
			return runtime.String(a.base64(padBinary(s, c.pad))), end, true
		case kUUID, kInet6, kInet4:
			if len(s) > c.kind.fixedSize() {
				break
			}
			return runtime.String(a.take(appendFixedBin(a.reserve(39), c.kind, s))), end, true
		case kGeometry:
			if len(s) < 4 {
				break
			}
			return geometryValue(a.base64(s[4:]), binary.LittleEndian.Uint32(s)), end, true
		}
		if c.kind != kText {
			break
		}
		if c.cs != nil {
			t := a.charsetText(s, c.cs)
			if c.cs.unit != 0 && !utf8.ValidString(t) {
				break // a surrogate: binlogRow's error
			}
			return runtime.String(t), end, true
		}
		if !utf8.Valid(s) {
			break
		}
		return runtime.String(a.copyBytes(s)), end, true
	case gomysql.MYSQL_TYPE_ENUM:
		if len(b) < c.width {
			break
		}
		i := int(b[0])
		if c.width == 2 {
			i |= int(b[1]) << 8
		}
		switch {
		case i == 0:
			return runtime.String(""), c.width, true
		case i <= len(c.names):
			return runtime.String(c.names[i-1]), c.width, true
		}
	case gomysql.MYSQL_TYPE_SET:
		if len(b) < c.width {
			break
		}
		var bits uint64
		for i := c.width - 1; i >= 0; i-- {
			bits = bits<<8 | uint64(b[i])
		}
		if s, ok := c.setNames(bits, a); ok {
			return runtime.String(s), c.width, true
		}
	case gomysql.MYSQL_TYPE_BIT:
		if len(b) < c.width {
			break
		}
		var x uint64
		for _, v := range b[:c.width] {
			x = x<<8 | uint64(v)
		}
		if c.kind == kBit64 {
			return runtime.String(a.take(strconv.AppendUint(a.reserve(20), x, 10))), c.width, true
		}
		return runtime.Int(int64(x)), c.width, true
	}
	return runtime.Value{}, 0, false
}

// base64 returns b in standard base64.
func (a *textArena) base64(b []byte) string {
	n := base64.StdEncoding.EncodedLen(len(b))
	if n > arenaChunk/4 {
		return base64.StdEncoding.EncodeToString(b)
	}
	d := a.reserve(n)
	return a.take(base64.StdEncoding.AppendEncode(d, b))
}

// charsetText returns the text b, in the single-byte character set cs,
// in UTF-8.
func (a *textArena) charsetText(b []byte, cs *charset) string {
	n := len(b) * cs.most
	if n > arenaChunk/4 {
		return string(cs.appendUTF8(make([]byte, 0, n), b))
	}
	return a.take(cs.appendUTF8(a.reserve(n), b))
}

// setNames is setNames of binlogvalue.go: the members of a SET value,
// comma-separated; false when a bit has no member.
func (c *imageCol) setNames(bits uint64, a *textArena) (string, bool) {
	var d []byte
	first, only := true, ""
	for i := 0; i < 64 && bits != 0; i++ {
		if bits&(1<<i) == 0 {
			continue
		}
		bits &^= 1 << i
		if i >= len(c.names) {
			return "", false
		}
		switch {
		case first:
			first, only = false, c.names[i]
		case d == nil:
			d = append(append(append(a.reserve(len(only)+1+len(c.names[i])), only...), ','), c.names[i]...)
		default:
			d = append(append(d, ','), c.names[i]...)
		}
	}
	if d == nil {
		return only, true
	}
	return a.take(d), true
}

// appendPadded appends x in decimal with at least width digits (x ≥ 0:
// fmt's %0*d).
func appendPadded(d []byte, x, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(x), 10)
	for i := len(s); i < width; i++ {
		d = append(d, '0')
	}
	return append(d, s...)
}

// appendClock appends "YYYY-MM-DDTHH:MM:SS" and the first dec digits of
// frac (padded to six) after a '.', trailing zeros dropped: the text of
// go-mysql's formatDatetime or fracTime, as isoDatetime rewrites it.
func appendClock(d []byte, year, month, day, hour, minute, second, frac, dec int) []byte {
	d = appendPadded(d, year, 4)
	d = appendPadded(append(d, '-'), month, 2)
	d = appendPadded(append(d, '-'), day, 2)
	d = appendPadded(append(d, 'T'), hour, 2)
	d = appendPadded(append(d, ':'), minute, 2)
	d = appendPadded(append(d, ':'), second, 2)
	return appendFrac(d, frac, dec)
}

// appendFrac appends '.' and the digits of frac as go-mysql prints it
// (%06d, the last 6-dec cut off) with trailing zeros dropped (trimFrac);
// nothing when dec is 0 or every digit is a zero.
func appendFrac(d []byte, frac, dec int) []byte {
	if dec == 0 {
		return d
	}
	n := len(d)
	d = appendPadded(append(d, '.'), frac, 6)
	d = d[:len(d)-(6-dec)]
	for len(d) > n+1 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	if len(d) == n+1 {
		d = d[:n]
	}
	return d
}

// datetime2 decodes a DATETIME(dec) as go-mysql's decodeDatetime2 does
// without ParseTime.
func (c *imageCol) datetime2(b []byte, a *textArena) (runtime.Value, int, bool) {
	dec := c.width
	n := 5 + (dec+1)/2
	if len(b) < n {
		return runtime.Value{}, 0, false
	}
	intPart := int64(beBytes(b[:5])) - 0x8000000000
	frac := fracPart(b[5:n], dec)
	d := a.reserve(32)
	if intPart == 0 {
		return runtime.String(a.take(appendClock(d, 0, 0, 0, 0, 0, 0, int(frac), dec))), n, true
	}
	tmp := intPart<<24 + frac
	if tmp < 0 {
		tmp = -tmp
	}
	ymdhms := tmp >> 24
	ymd, hms := ymdhms>>17, ymdhms%(1<<17)
	ym := ymd >> 5
	d = appendClock(d, int(ym/13), int(ym%13), int(ymd%(1<<5)), int(hms>>12), int((hms>>6)%(1<<6)), int(hms%(1<<6)), int(frac), dec)
	return runtime.String(a.take(d)), n, true
}

// fracPart is the fraction of a DATETIME2 or TIMESTAMP2 in microseconds,
// as go-mysql reads it.
func fracPart(b []byte, dec int) int64 {
	switch dec {
	case 1, 2:
		return int64(b[0]) * 10000
	case 3, 4:
		return int64(binary.BigEndian.Uint16(b)) * 100
	case 5, 6:
		return int64(beBytes(b[:3]))
	}
	return 0
}

// timestamp2 decodes a TIMESTAMP(dec) as go-mysql's decodeTimestamp2
// does without ParseTime, in UTC, with isoDatetime's "Z".
func (c *imageCol) timestamp2(b []byte, a *textArena) (runtime.Value, int, bool) {
	dec := c.width
	n := 4 + (dec+1)/2
	if len(b) < n {
		return runtime.Value{}, 0, false
	}
	sec := int64(binary.BigEndian.Uint32(b))
	usec := fracPart(b[4:n], dec)
	d := a.reserve(32)
	if sec == 0 {
		d = appendClock(d, 0, 0, 0, 0, 0, 0, int(usec), dec)
	} else {
		t := time.Unix(sec, usec*1000).UTC()
		year, month, day := t.Date()
		hour, minute, second := t.Clock()
		d = appendClock(d, year, int(month), day, hour, minute, second, t.Nanosecond()/1000, dec)
	}
	return runtime.String(a.take(append(d, 'Z'))), n, true
}

// time2 decodes a TIME(dec) as go-mysql's decodeTime2 and timeFormat
// do, with trimFrac's trailing zeros dropped.
func (c *imageCol) time2(b []byte, a *textArena) (runtime.Value, int, bool) {
	dec := c.width
	n := 3 + (dec+1)/2
	if len(b) < n {
		return runtime.Value{}, 0, false
	}
	var tmp, intPart, frac int64
	switch dec {
	case 1, 2:
		intPart = int64(beBytes(b[:3])) - 0x800000
		frac = int64(b[3])
		if intPart < 0 && frac != 0 {
			intPart++
			frac -= 0x100
		}
		tmp = intPart<<24 + frac*10000
	case 3, 4:
		intPart = int64(beBytes(b[:3])) - 0x800000
		frac = int64(binary.BigEndian.Uint16(b[3:]))
		if intPart < 0 && frac != 0 {
			intPart++
			frac -= 0x10000
		}
		tmp = intPart<<24 + frac*100
	case 5, 6:
		tmp = int64(beBytes(b[:6])) - 0x800000000000
		intPart = 1 // not the zero time's shortcut
	default:
		intPart = int64(beBytes(b[:3])) - 0x800000
		tmp = intPart << 24
	}
	d := a.reserve(24)
	if intPart == 0 && frac == 0 {
		return runtime.String(a.take(append(d, "00:00:00"...))), n, true
	}
	if tmp < 0 {
		tmp = -tmp
		d = append(d, '-')
	}
	hms := tmp >> 24
	d = appendPadded(d, int((hms>>12)%(1<<10)), 2)
	d = appendPadded(append(d, ':'), int((hms>>6)%(1<<6)), 2)
	d = appendPadded(append(d, ':'), int(hms%(1<<6)), 2)
	if frac := int(tmp % (1 << 24)); frac != 0 {
		d = appendFrac(d, frac, dec)
	}
	return runtime.String(a.take(d)), n, true
}

// decimalSize is the size of a DECIMAL(prec, scale) in a row image.
func decimalSize(prec, scale int) int {
	integral := prec - scale
	return integral/9*4 + decimalBytes[integral%9] + scale/9*4 + decimalBytes[scale%9]
}

// decimalBytes is the size of a group of fewer than nine digits.
var decimalBytes = [9]int{0, 1, 1, 2, 2, 3, 3, 4, 4}

// appendDecimal appends the text of the DECIMAL(prec, scale) in b (its
// decimalSize bytes) as go-mysql's decodeDecimal prints it; false for a
// group of nine digits that holds more (go-mysql fails on it).
func appendDecimal(d, b []byte, prec, scale int) ([]byte, bool) {
	integral := prec - scale
	var mask uint32
	if b[0]&0x80 == 0 {
		mask = math.MaxUint32
		d = append(d, '-')
	}
	// group reads size bytes at pos, big-endian, the sign bit (the first
	// byte's top bit) flipped, the bits inverted for a negative number.
	group := func(pos, size int) uint32 {
		var x uint32
		for i := pos; i < pos+size; i++ {
			v := b[i]
			if i == 0 {
				v ^= 0x80
			}
			x = x<<8 | uint32(v)
		}
		return x ^ mask>>(32-8*size)
	}
	pos, leading := decimalBytes[integral%9], true
	if pos > 0 {
		if x := group(0, pos); x != 0 {
			leading = false
			d = strconv.AppendUint(d, uint64(x), 10)
		}
	}
	for i := 0; i < integral/9; i++ {
		x := group(pos, 4)
		pos += 4
		switch {
		case !leading:
			if x > 999999999 {
				return nil, false
			}
			d = appendPadded(d, int(x), 9)
		case x != 0:
			leading = false
			d = strconv.AppendUint(d, uint64(x), 10)
		}
	}
	if leading {
		d = append(d, '0')
	}
	if pos == len(b) {
		return d, true
	}
	d = append(d, '.')
	for i := 0; i < scale/9; i++ {
		x := group(pos, 4)
		pos += 4
		if x > 999999999 {
			return nil, false
		}
		d = appendPadded(d, int(x), 9)
	}
	if size := decimalBytes[scale%9]; size > 0 {
		d = appendPadded(d, int(group(pos, size)), scale%9)
	}
	return d, true
}
