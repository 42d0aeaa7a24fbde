package cdc

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// kind says how a column's values become runtime values; the snapshot
// and the stream map their columns to the same kinds, and each kind
// turns both paths' forms into identical values.
type kind uint8

const (
	kText      kind = iota // character strings, ENUM, SET, JSON (MariaDB: text) → string
	kInt                   // integers that fit 64 bits signed, YEAR → int
	kUint64                // BIGINT UNSIGNED → string holding the decimal (values beyond 2^63)
	kFloat32               // FLOAT → float (the float32's shortest decimal, read as a float64)
	kFloat64               // DOUBLE → float
	kDecimal               // DECIMAL → string holding the exact decimal with its scale
	kDate                  // DATE → "2006-01-02"
	kDatetime              // DATETIME → "2006-01-02T15:04:05.999999" (fraction: trailing zeros dropped)
	kTimestamp             // TIMESTAMP → UTC "2006-01-02T15:04:05.999999Z"
	kTime                  // TIME → "-838:59:59.5" (fraction: trailing zeros dropped)
	kBinary                // BINARY, VARBINARY, BLOB → standard base64
	kBit                   // BIT(1..63) → int
	kBit64                 // BIT(64) → string holding the decimal
	kGeometry              // GEOMETRY and its subtypes → object {wkb: base64 of the OGC WKB, srid: int}
	kUUID                  // MariaDB UUID → "123e4567-e89b-12d3-a456-426614174000" (fixedbin.go)
	kInet6                 // MariaDB INET6 → the server's text of the address ("2001:db8::1", "::ffff:192.0.2.1")
	kInet4                 // MariaDB INET4 → "192.0.2.1"
)

// geometryKeys are the keys of a GEOMETRY value's object (Debezium's
// geometry struct: the OGC well-known binary and the SRID).
var geometryKeys = [...]string{"wkb", "srid"}

// geometryType is the record type of GEOMETRY values.
var geometryType = runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{
	{Name: geometryKeys[0], Type: runtime.Type{Kind: runtime.KindString}},
	{Name: geometryKeys[1], Type: runtime.Type{Kind: runtime.KindInt}},
}}

// column is one column as records see it.
type column struct {
	name    string
	kind    kind
	cs      *charset // text in another character set than UTF-8: converted to UTF-8 from the binlog
	key     bool
	display string // the type for messages and discover (COLUMN_TYPE; empty from the binlog)
	notNull bool   // NOT NULL (known from the catalog only)
}

func (k kind) runtimeType() runtime.Type {
	switch k {
	case kInt, kBit:
		return runtime.Type{Kind: runtime.KindInt}
	case kFloat32, kFloat64:
		return runtime.Type{Kind: runtime.KindFloat}
	case kGeometry:
		return geometryType
	}
	return runtime.Type{Kind: runtime.KindString}
}

// kindOfSQL maps an information_schema column (DATA_TYPE, COLUMN_TYPE,
// CHARACTER_SET_NAME and its MAXLEN) to its kind.
func kindOfSQL(dataType, columnType, charset string, maxLen int) (kind, error) {
	unsigned := strings.Contains(strings.ToLower(columnType), "unsigned")
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "year":
		return kInt, nil
	case "bigint":
		if unsigned {
			return kUint64, nil
		}
		return kInt, nil
	case "float":
		return kFloat32, nil
	case "double", "real":
		return kFloat64, nil
	case "decimal", "numeric":
		return kDecimal, nil
	case "date":
		return kDate, nil
	case "datetime":
		return kDatetime, nil
	case "timestamp":
		return kTimestamp, nil
	case "time":
		return kTime, nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return kBinary, nil
	case "bit":
		if strings.TrimSpace(strings.ToLower(columnType)) == "bit(64)" {
			return kBit64, nil
		}
		return kBit, nil
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json":
		return sqlTextKind(charset, maxLen)
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
		"geometrycollection", "geomcollection":
		return kGeometry, nil
	case "uuid", "inet6", "inet4":
		return kindOfFixedBin(strings.ToLower(dataType)), nil
	}
	return 0, fmt.Errorf("column type %s is not supported by mysql-cdc yet", columnType)
}

// kindOfBinlog maps a table map column to its kind and, for text in a
// single-byte character set, that set.
func kindOfBinlog(c *binlogColumn, charsets *serverCharsets) (kind, *charset, error) {
	if c.fixedBin != 0 {
		return c.fixedBin, nil, nil
	}
	switch c.typ {
	case gomysql.MYSQL_TYPE_TINY, gomysql.MYSQL_TYPE_SHORT, gomysql.MYSQL_TYPE_INT24, gomysql.MYSQL_TYPE_LONG, gomysql.MYSQL_TYPE_YEAR:
		return kInt, nil, nil
	case gomysql.MYSQL_TYPE_LONGLONG:
		if c.unsigned {
			return kUint64, nil, nil
		}
		return kInt, nil, nil
	case gomysql.MYSQL_TYPE_FLOAT:
		return kFloat32, nil, nil
	case gomysql.MYSQL_TYPE_DOUBLE:
		return kFloat64, nil, nil
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		return kDecimal, nil, nil
	case gomysql.MYSQL_TYPE_DATE, gomysql.MYSQL_TYPE_NEWDATE:
		return kDate, nil, nil
	case gomysql.MYSQL_TYPE_DATETIME, gomysql.MYSQL_TYPE_DATETIME2:
		return kDatetime, nil, nil
	case gomysql.MYSQL_TYPE_TIMESTAMP, gomysql.MYSQL_TYPE_TIMESTAMP2:
		return kTimestamp, nil, nil
	case gomysql.MYSQL_TYPE_TIME, gomysql.MYSQL_TYPE_TIME2:
		return kTime, nil, nil
	case gomysql.MYSQL_TYPE_BIT:
		if c.bits() == 64 {
			return kBit64, nil, nil
		}
		return kBit, nil, nil
	case gomysql.MYSQL_TYPE_ENUM, gomysql.MYSQL_TYPE_SET:
		return kText, nil, nil
	case gomysql.MYSQL_TYPE_STRING, gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING, gomysql.MYSQL_TYPE_BLOB,
		gomysql.MYSQL_TYPE_TINY_BLOB, gomysql.MYSQL_TYPE_MEDIUM_BLOB, gomysql.MYSQL_TYPE_LONG_BLOB:
		if c.collation == 63 {
			return kBinary, nil, nil
		}
		cs, ok := charsets.names[c.collation]
		if !ok {
			return 0, nil, fmt.Errorf("collation id %d is unknown (binlog_row_metadata is not FULL?)", c.collation)
		}
		return charsets.textKind(cs)
	case gomysql.MYSQL_TYPE_GEOMETRY:
		return kGeometry, nil, nil
	case gomysql.MYSQL_TYPE_JSON:
		return 0, nil, errors.New("MySQL's binary JSON columns are not decoded yet")
	}
	return 0, nil, fmt.Errorf("binlog column type %d is not supported by mysql-cdc yet", c.typ)
}

// value turns a snapshot value (go-sql-driver, binary protocol) or a
// binlog value into the column's runtime value.
func (c *column) value(v any) (runtime.Value, error) {
	if v == nil {
		return runtime.Null(), nil
	}
	bad := func() (runtime.Value, error) {
		return runtime.Value{}, fmt.Errorf("column %s: unexpected value of Go type %T", c.name, v)
	}
	switch c.kind {
	case kInt:
		switch x := v.(type) {
		case int64:
			return runtime.Int(x), nil
		case uint64:
			if x > math.MaxInt64 {
				return bad()
			}
			return runtime.Int(int64(x)), nil
		case []byte:
			n, err := strconv.ParseInt(string(x), 10, 64)
			if err != nil {
				return bad()
			}
			return runtime.Int(n), nil
		}
	case kUint64:
		switch x := v.(type) {
		case int64:
			return runtime.String(strconv.FormatUint(uint64(x), 10)), nil
		case uint64:
			return runtime.String(strconv.FormatUint(x, 10)), nil
		case []byte:
			return runtime.String(string(x)), nil
		}
	case kFloat32:
		switch x := v.(type) {
		case float32:
			return runtime.Float(shortestFloat32(float64(x))), nil
		case float64:
			return runtime.Float(shortestFloat32(x)), nil
		}
	case kFloat64:
		switch x := v.(type) {
		case float64:
			return runtime.Float(x), nil
		case float32:
			return runtime.Float(float64(x)), nil
		}
	case kBit:
		switch x := v.(type) {
		case uint64:
			return runtime.Int(int64(x)), nil
		case []byte:
			return runtime.Int(int64(beBytes(x))), nil
		}
	case kBit64:
		switch x := v.(type) {
		case uint64:
			return runtime.String(strconv.FormatUint(x, 10)), nil
		case []byte:
			return runtime.String(strconv.FormatUint(beBytes(x), 10)), nil
		}
	case kGeometry:
		if x, ok := v.([]byte); ok {
			return geometry(c, x)
		}
	case kBinary:
		switch x := v.(type) {
		case []byte:
			return runtime.String(base64.StdEncoding.EncodeToString(x)), nil
		case string:
			return runtime.String(base64.StdEncoding.EncodeToString([]byte(x))), nil
		}
	default:
		var s string
		switch x := v.(type) {
		case []byte:
			s = string(x)
		case string:
			s = x
		case int64: // YEAR in text form never; kept for safety
			s = strconv.FormatInt(x, 10)
		default:
			return bad()
		}
		return c.text(s)
	}
	return bad()
}

// geometry maps a GEOMETRY value as the server stores it (and sends it,
// in the snapshot and the binlog): the SRID, four bytes little-endian,
// then the OGC well-known binary.
func geometry(c *column, b []byte) (runtime.Value, error) {
	if len(b) < 4 {
		return runtime.Value{}, fmt.Errorf("column %s: a GEOMETRY value of %d bytes has no SRID", c.name, len(b))
	}
	return geometryValue(base64.StdEncoding.EncodeToString(b[4:]), binary.LittleEndian.Uint32(b)), nil
}

// geometryValue is the object of a GEOMETRY value: wkb, its well-known
// binary in base64, and its SRID.
func geometryValue(wkb string, srid uint32) runtime.Value {
	return runtime.ObjectValue(&runtime.Object{Keys: geometryKeys[:],
		Values: []runtime.Value{runtime.String(wkb), runtime.Int(int64(srid))}})
}

// text maps the text form of a value of a text-like kind.
func (c *column) text(s string) (runtime.Value, error) {
	switch c.kind {
	case kDatetime:
		return runtime.String(isoDatetime(s, "")), nil
	case kTimestamp:
		return runtime.String(isoDatetime(s, "Z")), nil
	case kTime:
		return runtime.String(trimFrac(s)), nil
	case kText:
		if !utf8.ValidString(s) {
			return runtime.Value{}, fmt.Errorf("column %s: text is not valid UTF-8", c.name)
		}
	}
	return runtime.String(s), nil
}

// isoDatetime turns "2006-01-02 15:04:05.120000" into
// "2006-01-02T15:04:05.12" + zone.
func isoDatetime(s, zone string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i] + "T" + s[i+1:]
	}
	return trimFrac(s) + zone
}

func trimFrac(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		f := strings.TrimRight(s[i+1:], "0")
		if f == "" {
			return s[:i]
		}
		return s[:i+1] + f
	}
	return s
}

// shortestFloat32 is f as a FLOAT: the float64 of the shortest decimal
// that reads back as f's float32 (1.2345678, not 1.2345677614212036).
func shortestFloat32(f float64) float64 {
	var buf [32]byte
	g, _ := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], f, 'g', -1, 32)), 64)
	return g
}

func beBytes(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
