package cdc

import (
	"context"
	"fmt"
	"strconv"
)

// MariaDB's UUID, INET6 and INET4 columns hold fixed-size binary values
// that read as text: "123e4567-e89b-12d3-a456-426614174000", "2001:db8::1",
// "192.0.2.1". The snapshot reads that text from the server. The binlog
// has no type for them: a table map shows them as BINARY(16) and
// BINARY(4) (type STRING, binary collation, even with FULL metadata), and
// a rows event holds their bytes (a UUID in its text's order, not the
// order the server stores it in) without trailing zero bytes. So the
// stream takes their types from the catalog when a table map has a
// column shaped so (fixedBinAliases), and formats their bytes as the
// server does (appendFixedBin).

// kindOfFixedBin returns the kind of a catalog DATA_TYPE of a fixed-size
// binary type, 0 for other types.
func kindOfFixedBin(dataType string) kind {
	switch dataType {
	case "uuid":
		return kUUID
	case "inet6":
		return kInet6
	case "inet4":
		return kInet4
	}
	return 0
}

// fixedSize is the bytes of a value of a fixed-size binary kind, 0 for
// other kinds.
func (k kind) fixedSize() int {
	switch k {
	case kUUID, kInet6:
		return 16
	case kInet4:
		return 4
	}
	return 0
}

// fixedBinCandidate reports whether values of the table map column c
// may be of a fixed-size binary type: a BINARY of 16 or 4 bytes.
func (c *binlogColumn) fixedBinCandidate() bool {
	n := c.binaryPad()
	return n == 16 || n == 4
}

// fixedBinAliases sets the fixedBin kind of t's columns that are of
// fixed-size binary types, and returns the kinds (setFixedBin gives them
// to another binlogTable of the same map), nil when t has none; catalog
// reads the table's columns of those types (fixedBinColumns), and is
// called only when t has a column that may be one. A column takes the catalog's type only when
// the table map's shape is that type's: a column the catalog no longer
// has, or has with another type, keeps the table map's (a rows event
// written before a DDL that changed it, read after: then the catalog
// cannot say what it was).
func fixedBinAliases(t *binlogTable, catalog func(table) (map[string]kind, error)) ([]kind, error) {
	var aliases []kind
	var cat map[string]kind
	for i := range t.cols {
		c := &t.cols[i]
		if !c.fixedBinCandidate() {
			continue
		}
		if cat == nil {
			var err error
			if cat, err = catalog(t.t); err != nil {
				return nil, err
			}
			if len(cat) == 0 {
				return nil, nil
			}
		}
		if k := cat[c.name]; k != 0 && k.fixedSize() == c.binaryPad() {
			if aliases == nil {
				aliases = make([]kind, len(t.cols))
			}
			aliases[i] = k
			c.fixedBin = k
		}
	}
	return aliases, nil
}

// setFixedBin gives t's columns the kinds fixedBinAliases found for a
// table map of the same columns (nil: none).
func (t *binlogTable) setFixedBin(aliases []kind) {
	for i, k := range aliases {
		t.cols[i].fixedBin = k
	}
}

// fixedBinColumns reads the columns of t whose types are fixed-size
// binary ones from the catalog.
func (s *Source) fixedBinColumns(ctx context.Context, t table) (map[string]kind, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND DATA_TYPE IN ('uuid', 'inet6', 'inet4')`, t.db, t.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]kind{}
	for rows.Next() {
		var name, dt string
		if err := rows.Scan(&name, &dt); err != nil {
			return nil, err
		}
		m[name] = kindOfFixedBin(dt)
	}
	return m, rows.Err()
}

// fixedBinError words an error of reading t's fixed-size binary columns.
func fixedBinError(t table, err error) error {
	return fmt.Errorf("mysql-cdc: reading from the catalog which of %s's BINARY(16) and BINARY(4) binlog columns are UUID, INET6 or INET4: %w", t, err)
}

// appendFixedBin appends the text the server gives a value of the
// fixed-size binary kind k whose binlog bytes are b (without trailing
// zero bytes: missing bytes are zeros). len(b) must not exceed
// k.fixedSize().
func appendFixedBin(dst []byte, k kind, b []byte) []byte {
	var v [16]byte
	copy(v[:], b)
	switch k {
	case kUUID:
		return appendUUID(dst, &v)
	case kInet4:
		return appendInet4(dst, v[:4])
	}
	return appendInet6(dst, &v)
}

// appendUUID appends a UUID as MariaDB's my_uuid2str writes it: lower
// case hex digits, grouped 8-4-4-4-12.
func appendUUID(dst []byte, v *[16]byte) []byte {
	const hex = "0123456789abcdef"
	for i, x := range v {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[x>>4], hex[x&15])
	}
	return dst
}

// appendInet4 appends an IPv4 address in dotted decimal.
func appendInet4(dst []byte, v []byte) []byte {
	for i, x := range v[:4] {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, uint64(x), 10)
	}
	return dst
}

// appendInet6 appends an IPv6 address as MariaDB's Inet6::to_string
// writes it, which is not quite RFC 5952: the first longest run of zero
// groups is written "::" even when it is one group long, and an address
// whose first five groups are zero and whose sixth is 0 or ffff ends in
// dotted IPv4 ("::1.2.3.4", "::ffff:1.2.3.4"), but for "::" and "::1"…
// whose seventh group is zero too.
func appendInet6(dst []byte, v *[16]byte) []byte {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(v[2*i])<<8 | uint16(v[2*i+1])
	}
	gapAt, gapLen := -1, 0
	for i := 0; i < len(w); {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < len(w) && w[j] == 0 {
			j++
		}
		if j-i > gapLen {
			gapAt, gapLen = i, j-i
		}
		i = j
	}
	for i := 0; i < len(w); i++ {
		switch {
		case i == gapAt:
			if i == 0 {
				dst = append(dst, ':')
			}
			dst = append(dst, ':')
			i += gapLen - 1
		case i == 6 && gapAt == 0 && (gapLen == 6 || gapLen == 5 && w[5] == 0xffff):
			return appendInet4(dst, v[12:])
		default:
			dst = strconv.AppendUint(dst, uint64(w[i]), 16)
			if i+1 < len(w) {
				dst = append(dst, ':')
			}
		}
	}
	return dst
}

// fixedBinBytes returns the bytes of a binlog value go-mysql decoded of
// a column of the fixed-size binary kind k (a string; nil for NULL).
func fixedBinBytes(k kind, v any) ([]byte, error) {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return nil, fmt.Errorf("go-mysql decoded a value of Go type %T", v)
	}
	if len(b) > k.fixedSize() {
		return nil, fmt.Errorf("a value of %d bytes, more than its type's %d", len(b), k.fixedSize())
	}
	return b, nil
}
