package cdc

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// binlogRow converts a binlog row image go-mysql decoded with the table
// map t (newSyncer's options) into row (len(r.cols) values): the images
// of the events the image decoder (rowimage.go) leaves to go-mysql. Each value
// becomes what column.value makes of binlogValue's form of it; the
// common forms (integers, DOUBLE, FLOAT, DECIMAL, dates and times, UTF-8
// text, binary strings and blobs) are converted directly, without boxing
// them again on the way.
func (r *relation) binlogRow(t *binlogTable, vals []any, row []runtime.Value) error {
	if len(vals) != len(r.cols) || len(t.cols) != len(r.cols) {
		return fmt.Errorf("mysql-cdc: table %s: a binlog row of %d values for %d columns", r.t, len(vals), len(r.cols))
	}
	row = row[:len(r.cols)]
	for i := range r.cols {
		c, bc := &r.cols[i], &t.cols[i]
		if c.kind.fixedSize() != 0 && vals[i] != nil {
			// Its bytes, which c.value would take for the text the
			// snapshot reads.
			b, err := fixedBinBytes(c.kind, vals[i])
			if err != nil {
				return fmt.Errorf("mysql-cdc: table %s, column %s: %w", r.t, quoteIdent(c.name), err)
			}
			var text [48]byte
			row[i] = runtime.String(string(appendFixedBin(text[:0], c.kind, b)))
			continue
		}
		if x, ok := c.binlogDirect(bc, vals[i]); ok {
			row[i] = x
			continue
		}
		v, err := binlogValue(bc, vals[i])
		if err != nil {
			return fmt.Errorf("mysql-cdc: table %s, column %s: %w", r.t, quoteIdent(c.name), err)
		}
		if b, ok := v.([]byte); ok && c.cs != nil {
			v = c.cs.appendUTF8(make([]byte, 0, len(b)*c.cs.most), b)
		}
		x, err := c.value(v)
		if err != nil {
			return fmt.Errorf("mysql-cdc: table %s: %w", r.t, err)
		}
		row[i] = x
	}
	return nil
}

// binlogDirect converts v, a value of the binlog column bc as go-mysql
// decodes it, to c's runtime value when it has one of the common forms,
// and reports whether it did; the value is c.value's of binlogValue's
// form (binlogrow_test.go compares them). Other forms (latin1 text, old
// TIME, BIT, ENUM, SET), and values that are errors, are left to
// binlogValue and c.value (false).
func (c *column) binlogDirect(bc *binlogColumn, v any) (runtime.Value, bool) {
	switch x := v.(type) {
	case nil:
		return runtime.Null(), true
	case int8:
		if c.kind == kInt && bc.typ == gomysql.MYSQL_TYPE_TINY {
			if bc.unsigned {
				return runtime.Int(int64(uint8(x))), true
			}
			return runtime.Int(int64(x)), true
		}
	case int16:
		if c.kind == kInt && bc.typ == gomysql.MYSQL_TYPE_SHORT {
			if bc.unsigned {
				return runtime.Int(int64(uint16(x))), true
			}
			return runtime.Int(int64(x)), true
		}
	case int32:
		if c.kind == kInt && (bc.typ == gomysql.MYSQL_TYPE_LONG || bc.typ == gomysql.MYSQL_TYPE_INT24) {
			switch {
			case !bc.unsigned:
				return runtime.Int(int64(x)), true
			case bc.typ == gomysql.MYSQL_TYPE_INT24:
				return runtime.Int(int64(uint32(x) & (1<<24 - 1))), true
			}
			return runtime.Int(int64(uint32(x))), true
		}
	case int64:
		if bc.typ == gomysql.MYSQL_TYPE_LONGLONG {
			switch {
			case c.kind == kInt && !bc.unsigned:
				return runtime.Int(x), true
			case c.kind == kUint64 && bc.unsigned:
				return runtime.String(strconv.FormatUint(uint64(x), 10)), true
			}
		}
	case int: // YEAR
		if c.kind == kInt && bc.typ == gomysql.MYSQL_TYPE_YEAR {
			return runtime.Int(int64(x)), true
		}
	case float64:
		if c.kind == kFloat64 {
			return runtime.Float(x), true
		}
	case float32:
		if c.kind == kFloat32 {
			return runtime.Float(shortestFloat32(float64(x))), true
		}
	case string:
		return c.binlogString(bc, x)
	case []byte:
		switch {
		case c.kind == kBinary:
			return runtime.String(base64.StdEncoding.EncodeToString(x)), true
		case c.kind == kText && c.cs == nil && utf8.Valid(x):
			return runtime.String(string(x)), true
		}
	}
	return runtime.Value{}, false
}

// binlogString is binlogDirect of a string.
func (c *column) binlogString(bc *binlogColumn, x string) (runtime.Value, bool) {
	switch bc.typ {
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		if c.kind == kDecimal {
			if negativeZero(x) {
				x = x[1:]
			}
			return runtime.String(x), true
		}
	case gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING:
		// go-mysql's string shares the event's buffer: copied.
		switch {
		case c.kind == kBinary:
			return runtime.String(base64.StdEncoding.EncodeToString(padBinary([]byte(x), bc.binaryPad()))), true
		case c.kind == kText && c.cs == nil && utf8.ValidString(x):
			return runtime.String(strings.Clone(x)), true
		}
	case gomysql.MYSQL_TYPE_DATE, gomysql.MYSQL_TYPE_NEWDATE, gomysql.MYSQL_TYPE_DATETIME, gomysql.MYSQL_TYPE_DATETIME2,
		gomysql.MYSQL_TYPE_TIMESTAMP, gomysql.MYSQL_TYPE_TIMESTAMP2, gomysql.MYSQL_TYPE_TIME2:
		// The text go-mysql made of the value.
		switch c.kind {
		case kDate, kDatetime, kTimestamp, kTime:
			if v, err := c.text(x); err == nil {
				return v, true
			}
		}
	}
	return runtime.Value{}, false
}
