package cdc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

// binlogValue turns a value as go-mysql decodes it (newSyncer's options)
// into the form column.value takes: nil (NULL); int64 (signed integers,
// YEAR); uint64 (unsigned integers, BIT); float32 (FLOAT); float64
// (DOUBLE); string (DECIMAL as its exact text; DATE, DATETIME, TIMESTAMP
// in UTC and TIME as the server prints them; ENUM and SET as their member
// names; character strings, copied out of the event); []byte (blobs,
// binary strings, BINARY(n) padded to n bytes, and character strings in
// latin1).
func binlogValue(c *binlogColumn, v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int8:
		return integer(c, int64(x), 8), nil
	case int16:
		return integer(c, int64(x), 16), nil
	case int32:
		if c.typ == gomysql.MYSQL_TYPE_INT24 {
			return integer(c, int64(x), 24), nil
		}
		return integer(c, int64(x), 32), nil
	case int64:
		switch c.typ {
		case gomysql.MYSQL_TYPE_BIT:
			return uint64(x), nil
		case gomysql.MYSQL_TYPE_ENUM:
			return enumName(c, x)
		case gomysql.MYSQL_TYPE_SET:
			return setNames(c, x)
		}
		if !c.unsigned {
			return v, nil // already an int64: not boxed again
		}
		return uint64(x), nil
	case int: // YEAR
		return int64(x), nil
	case float32, float64:
		return x, nil
	case string:
		switch c.typ {
		case gomysql.MYSQL_TYPE_NEWDECIMAL:
			if negativeZero(x) {
				return x[1:], nil
			}
		case gomysql.MYSQL_TYPE_TIME:
			return time1(x)
		case gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING:
			// go-mysql's string shares the event's buffer: copied (and a
			// BINARY's trailing zeros put back).
			return padBinary([]byte(x), c.binaryPad()), nil
		}
		return v, nil // v, not x: a string is not boxed again
	case []byte:
		return v, nil
	}
	return nil, fmt.Errorf("go-mysql decoded a value of Go type %T", v)
}

// negativeZero reports whether the DECIMAL text s is a negative zero
// ("-0.00"), which the server prints without its sign.
func negativeZero[T string | []byte](s T) bool {
	if len(s) == 0 || s[0] != '-' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; c != '0' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// integer gives a signed binlog integer of the given width its column's
// signedness.
func integer(c *binlogColumn, x int64, width uint) any {
	if !c.unsigned {
		return x
	}
	if width == 64 {
		return uint64(x)
	}
	return uint64(x) & (1<<width - 1)
}

func enumName(c *binlogColumn, idx int64) (any, error) {
	if idx == 0 {
		return "", nil
	}
	if idx > 0 && int(idx) <= len(c.enum) {
		return c.enum[idx-1], nil
	}
	return nil, fmt.Errorf("ENUM index %d without a member name (binlog_row_metadata is not FULL?)", idx)
}

func setNames(c *binlogColumn, bits int64) (any, error) {
	var names []string
	for i := 0; i < 64 && bits != 0; i++ {
		if bits&(1<<i) == 0 {
			continue
		}
		bits &^= 1 << i
		if i >= len(c.set) {
			return nil, fmt.Errorf("SET member %d without a name (binlog_row_metadata is not FULL?)", i+1)
		}
		names = append(names, c.set[i])
	}
	return strings.Join(names, ","), nil
}

// time1 corrects a TIME of the pre-5.6 format, which go-mysql prints
// from the unsigned 24-bit value: negative times come back as their
// two's complement.
func time1(s string) (any, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("TIME %q is not HH:MM:SS", s)
	}
	var n [3]int64
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, errors.New("TIME " + strconv.Quote(s) + " is not HH:MM:SS")
		}
		n[i] = v
	}
	v := n[0]*10000 + n[1]*100 + n[2]
	if v&0x800000 == 0 {
		return s, nil
	}
	v = -(v - 1<<24)
	return fmt.Sprintf("-%02d:%02d:%02d", v/10000, v/100%100, v%100), nil
}
