package cdc

import (
	"bytes"
	"slices"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// binlogTable is a binlog table map as mysql-cdc uses it: the columns a
// rows event's values were written with. With binlog_row_metadata=FULL
// the map names the columns, so events written before a DDL decode with
// their own columns.
type binlogTable struct {
	t    table
	cols []binlogColumn
	// pk holds the primary key's column indexes (FULL metadata), in key
	// order.
	pk []int
	// hasNames reports that the map carried the column names.
	hasNames bool
}

// binlogColumn is one column of a table map.
type binlogColumn struct {
	name string
	// typ is the real type (a CHAR-typed ENUM or SET is MYSQL_TYPE_ENUM
	// or MYSQL_TYPE_SET) and meta its go-mysql metadata (DECIMAL:
	// precision<<8|scale; BIT: bytes<<8|bits%8 …).
	typ  byte
	meta uint16
	// unsigned: a numeric column declared UNSIGNED (FULL metadata).
	unsigned bool
	// collation is the collation id of a character column (63: binary);
	// 0 when unknown.
	collation uint64
	// enum and set are the member names (FULL metadata).
	enum, set []string
	// fixedBin is the catalog's type of a BINARY(16) or BINARY(4)
	// column that is a UUID, INET6 or INET4 (fixedBinAliases); 0 for
	// other columns.
	fixedBin kind
}

// tableOf converts go-mysql's table map event. ENUM and SET member
// names come in the column's character set: charsets converts them to
// UTF-8 (its error is textKind's, reading an East Asian set's table).
func tableOf(m *replication.TableMapEvent, charsets *serverCharsets) (*binlogTable, error) {
	n := int(m.ColumnCount)
	t := &binlogTable{t: table{string(m.Schema), string(m.Table)}, cols: make([]binlogColumn, n)}
	names := m.ColumnNameString()
	t.hasNames = len(names) == n
	unsigned := m.UnsignedMap()
	collations, enumSet := m.CollationMap(), m.EnumSetCollationMap()
	enums, sets := m.EnumStrValueMap(), m.SetStrValueMap()
	for i := range t.cols {
		c := &t.cols[i]
		c.typ, c.meta = m.ColumnType[i], m.ColumnMeta[i]
		if c.typ == gomysql.MYSQL_TYPE_STRING {
			if r := byte(c.meta >> 8); r == gomysql.MYSQL_TYPE_ENUM || r == gomysql.MYSQL_TYPE_SET {
				c.typ = r
			}
		}
		if t.hasNames {
			c.name = names[i]
		}
		c.unsigned = unsigned[i]
		c.collation = collations[i]
		c.enum, c.set = enums[i], sets[i]
		if c.typ == gomysql.MYSQL_TYPE_ENUM || c.typ == gomysql.MYSQL_TYPE_SET {
			c.collation = enumSet[i]
			if err := c.namesInUTF8(charsets); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range m.PrimaryKey {
		t.pk = append(t.pk, int(k))
	}
	return t, nil
}

// namesInUTF8 converts the member names of an ENUM or SET column from
// its character set (FULL metadata) to UTF-8.
func (c *binlogColumn) namesInUTF8(charsets *serverCharsets) error {
	name, ok := charsets.names[c.collation]
	if !ok || c.collation == 63 {
		return nil // names not read (binlog_row_metadata is not FULL)
	}
	_, cs, err := charsets.textKind(name)
	if err != nil || cs == nil {
		return err
	}
	conv := func(names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = string(cs.appendUTF8(nil, []byte(n)))
		}
		return out
	}
	c.enum, c.set = conv(c.enum), conv(c.set)
	return nil
}

// bits is a BIT column's width.
func (c *binlogColumn) bits() int { return int(c.meta>>8)*8 + int(c.meta&0xff) }

// stringLen reads the metadata of a CHAR (MYSQL_TYPE_STRING) column as
// go-mysql's decodeValue does: its length in bytes and its real type
// (MYSQL_TYPE_STRING for CHAR and BINARY).
func stringLen(meta uint16) (n int, typ byte) {
	if meta < 256 {
		return int(meta), gomysql.MYSQL_TYPE_STRING
	}
	b0, b1 := byte(meta>>8), int(meta&0xff)
	if b0&0x30 != 0x30 {
		return b1 | int((b0&0x30)^0x30)<<4, b0 | 0x30
	}
	return b1, b0
}

// binaryPad is the length a BINARY(n) value is padded to: the server
// pads it with zero bytes (and the snapshot reads it so), but the binlog
// holds it without its trailing zeros. 0 for other columns.
func (c *binlogColumn) binaryPad() int {
	if c.typ != gomysql.MYSQL_TYPE_STRING || c.collation != 63 {
		return 0
	}
	n, typ := stringLen(c.meta)
	if typ != gomysql.MYSQL_TYPE_STRING {
		return 0
	}
	return n
}

// padBinary returns b padded with zero bytes to n (b itself when it is
// as long).
func padBinary(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	p := make([]byte, n)
	copy(p, b)
	return p
}

// sameTableMap reports whether the table maps a and b hold the same in
// every field go-mysql exports (tablemap_test.go checks that none is
// left out). Each transaction has table map events of its own, equal
// while the table does not change: tableOf and relationOf of an equal
// map give what they gave before.
func sameTableMap(a, b *replication.TableMapEvent) bool {
	return a.TableID == b.TableID && a.Flags == b.Flags && a.ColumnCount == b.ColumnCount &&
		bytes.Equal(a.Schema, b.Schema) && bytes.Equal(a.Table, b.Table) &&
		bytes.Equal(a.ColumnType, b.ColumnType) && slices.Equal(a.ColumnMeta, b.ColumnMeta) &&
		bytes.Equal(a.NullBitmap, b.NullBitmap) && bytes.Equal(a.SignednessBitmap, b.SignednessBitmap) &&
		slices.Equal(a.DefaultCharset, b.DefaultCharset) && slices.Equal(a.ColumnCharset, b.ColumnCharset) &&
		slices.EqualFunc(a.SetStrValue, b.SetStrValue, sameNames) && slices.EqualFunc(a.EnumStrValue, b.EnumStrValue, sameNames) &&
		sameNames(a.ColumnName, b.ColumnName) && slices.Equal(a.GeometryType, b.GeometryType) &&
		slices.Equal(a.PrimaryKey, b.PrimaryKey) && slices.Equal(a.PrimaryKeyPrefix, b.PrimaryKeyPrefix) &&
		slices.Equal(a.EnumSetDefaultCharset, b.EnumSetDefaultCharset) && slices.Equal(a.EnumSetColumnCharset, b.EnumSetColumnCharset) &&
		bytes.Equal(a.VisibilityBitmap, b.VisibilityBitmap)
}

func sameNames(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }
