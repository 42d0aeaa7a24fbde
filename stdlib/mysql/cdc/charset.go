package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// serverCharsets are a server's character sets as the stream reads text
// in them. The snapshot reads text in UTF-8 (the server converts it);
// the binlog holds the bytes of the column's character set, which the
// stream converts as the server would: UTF-8 and ascii text is kept as
// it is, the text of a single-byte character set is mapped byte by byte
// with the server's own table, read from the server (so the two agree
// on every byte, the ones the server turns into '?' too), and UCS-2,
// UTF-16 and UTF-32 text is decoded.
type serverCharsets struct {
	// names maps collation ids to character set names.
	names map[uint64]string
	// bytes holds the character sets but UTF-8, ascii, binary and the
	// East Asian ones.
	bytes map[string]*charset
	// db reads the tables of the East Asian sets (widecharset.go), which
	// wide holds once read; mu guards wide (the stream and a syncer's
	// parser goroutine read them).
	db   *sql.DB
	mu   sync.Mutex
	wide map[string]*charset
}

// charset is a character set other than UTF-8 the stream converts text
// from: a single-byte one (text: the UTF-8 the server converts each
// byte to) or a Unicode encoding (unit). Read only once made.
type charset struct {
	name string
	text [256]string
	// asciiSame: the bytes below 0x80 are themselves.
	asciiSame bool
	// unit is the code unit of a Unicode encoding: 2 for ucs2, utf16 and
	// utf16le (little-endian: le), 4 for utf32; 0 for a single-byte set.
	unit int
	le   bool
	// most is the most bytes of UTF-8 a byte of text becomes.
	most int
	// wide is the table of an East Asian multi-byte set, whose single
	// bytes text maps.
	wide *wideTable
}

// unicodeCharsets are the Unicode encodings other than UTF-8 the
// servers have.
var unicodeCharsets = map[string]*charset{
	"ucs2":    {name: "ucs2", unit: 2, most: 2},
	"utf16":   {name: "utf16", unit: 2, most: 2},
	"utf16le": {name: "utf16le", unit: 2, le: true, most: 2},
	"utf32":   {name: "utf32", unit: 4, most: 1},
}

// appendUTF8 appends the text b, in cs, in UTF-8.
func (cs *charset) appendUTF8(d, b []byte) []byte {
	switch {
	case cs.unit != 0:
		return cs.appendUnicode(d, b)
	case cs.wide != nil:
		return cs.appendWide(d, b)
	}
	for _, x := range b {
		if x < utf8.RuneSelf && cs.asciiSame {
			d = append(d, x)
			continue
		}
		d = append(d, cs.text[x]...)
	}
	return d
}

// appendUnicode appends the UCS-2, UTF-16 or UTF-32 text b in UTF-8. A
// surrogate code point, which the server keeps in ucs2 and utf32 text
// (in utf16 it stores '?' instead), is written as the server sends it:
// its three bytes, not valid UTF-8, so the stream refuses the value as
// the snapshot does. A code point beyond U+10FFFF and bytes short of a
// unit, which the server does not store, become '?'.
func (cs *charset) appendUnicode(d, b []byte) []byte {
	u := cs.unit
	for len(b) > 0 {
		if len(b) < u {
			return append(d, '?')
		}
		var r rune
		switch {
		case u == 4:
			r = rune(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		case cs.le:
			r = rune(b[1])<<8 | rune(b[0])
		default:
			r = rune(b[0])<<8 | rune(b[1])
		}
		b = b[u:]
		if u == 2 && cs.name != "ucs2" && utf16.IsSurrogate(r) {
			if r < 0xdc00 && len(b) >= 2 {
				lo := rune(b[0])<<8 | rune(b[1])
				if cs.le {
					lo = rune(b[1])<<8 | rune(b[0])
				}
				if lo >= 0xdc00 && lo <= 0xdfff {
					r = utf16.DecodeRune(r, lo)
					b = b[2:]
				}
			}
		}
		switch {
		case r >= 0xd800 && r <= 0xdfff:
			d = append(d, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
			continue
		case r < 0 || r > utf8.MaxRune:
			r = '?'
		}
		d = utf8.AppendRune(d, r)
	}
	return d
}

// charsetName is what a character set name the server lists must look
// like to be written into a query (CONVERT … USING takes no parameter).
var charsetName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// charsets reads the server's collations and the tables of its
// single-byte character sets.
func charsets(ctx context.Context, db *sql.DB) (*serverCharsets, error) {
	cs := &serverCharsets{names: map[uint64]string{}, bytes: map[string]*charset{}, db: db}
	rows, err := db.QueryContext(ctx, "SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL")
	if err != nil {
		return nil, fmt.Errorf("mysql-cdc: list collations: %w", err)
	}
	for rows.Next() {
		var id uint64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("mysql-cdc: list collations: %w", err)
		}
		cs.names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysql-cdc: list collations: %w", err)
	}
	rows, err = db.QueryContext(ctx, `SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS
WHERE MAXLEN = 1 AND CHARACTER_SET_NAME NOT IN ('binary', 'ascii') ORDER BY CHARACTER_SET_NAME`)
	if err != nil {
		return nil, fmt.Errorf("mysql-cdc: list character sets: %w", err)
	}
	var single []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("mysql-cdc: list character sets: %w", err)
		}
		if charsetName.MatchString(name) {
			single = append(single, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysql-cdc: list character sets: %w", err)
	}
	for name, u := range unicodeCharsets {
		cs.bytes[name] = u
	}
	if len(single) == 0 {
		return cs, nil
	}
	// Every byte in each set, converted by the server: one row, one
	// column a set.
	var all strings.Builder
	for i := range 256 {
		fmt.Fprintf(&all, "%02X", i)
	}
	exprs := make([]string, len(single))
	for i, name := range single {
		exprs[i] = "CONVERT(X'" + all.String() + "' USING " + name + ")"
	}
	texts := make([]sql.NullString, len(single))
	dst := make([]any, len(single))
	for i := range texts {
		dst[i] = &texts[i]
	}
	if err := db.QueryRowContext(ctx, "SELECT "+strings.Join(exprs, ", ")).Scan(dst...); err != nil {
		return nil, fmt.Errorf("mysql-cdc: read the single-byte character sets' tables: %w", err)
	}
	for i, name := range single {
		if t := byteCharsetOf(name, texts[i].String); t != nil {
			cs.bytes[name] = t
		}
	}
	return cs, nil
}

// byteCharsetOf returns the single-byte set whose 256 bytes convert to
// the 256 characters of text, nil when text is not that (the set is
// then refused, as one not supported).
func byteCharsetOf(name, text string) *charset {
	t := &charset{name: name, asciiSame: true}
	i := 0
	for _, r := range text {
		if i == 256 {
			return nil
		}
		t.setByte(byte(i), string(r))
		i++
	}
	if i != 256 || !utf8.ValidString(text) {
		return nil
	}
	return t
}

// setByte makes text the UTF-8 of byte x of the single-byte part of cs.
func (cs *charset) setByte(x byte, text string) {
	cs.text[x] = text
	cs.most = max(cs.most, len(text))
	if x < utf8.RuneSelf && text != string(rune(x)) {
		cs.asciiSame = false
	}
}

// plainTextKind is the kind of text in the character sets whose text is
// read as it is (UTF-8, ascii; "" for none) or is bytes (binary).
func plainTextKind(name string) (kind, bool) {
	switch name {
	case "", "utf8", "utf8mb3", "utf8mb4", "ascii":
		return kText, true
	case "binary":
		return kBinary, true
	}
	return 0, false
}

// textKind maps the character set of a binlog text column to the kind
// of its values and, for a set other than UTF-8, its table.
func (s *serverCharsets) textKind(name string) (kind, *charset, error) {
	name = strings.ToLower(name)
	if k, ok := plainTextKind(name); ok {
		return k, nil, nil
	}
	if t := s.bytes[name]; t != nil {
		return kText, t, nil
	}
	if wideCharsets[name] {
		t, err := s.wideCharset(name)
		if err != nil {
			return 0, nil, catalogError{fmt.Errorf("mysql-cdc: %w", err)}
		}
		return kText, t, nil
	}
	return 0, nil, unsupportedCharset(name)
}

// sqlTextKind maps the character set of a catalog text column (maxLen:
// its bytes per character) to the kind of its values.
func sqlTextKind(name string, maxLen int) (kind, error) {
	name = strings.ToLower(name)
	if k, ok := plainTextKind(name); ok {
		return k, nil
	}
	if maxLen == 1 || unicodeCharsets[name] != nil || wideCharsets[name] {
		return kText, nil
	}
	return 0, unsupportedCharset(name)
}

func unsupportedCharset(name string) error {
	return fmt.Errorf("character set %s is not supported by mysql-cdc yet (utf8mb4, utf8mb3, ascii, binary, ucs2, utf16, utf16le, utf32, the East Asian ones and the single-byte ones are)", name)
}
