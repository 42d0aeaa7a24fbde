package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The East Asian multi-byte character sets: a character is one byte
// (ASCII, and in sjis and cp932 the half-width katakana), two, or in ujis
// and eucjpms three. Like the single-byte sets, the stream converts them
// with the server's own tables, read from the server: every character
// of two and three bytes, converted at once (wideTableOf), the first
// time a table map has a column in the set.

// wideCharsets are the East Asian multi-byte character sets.
var wideCharsets = map[string]bool{
	"big5": true, "gbk": true, "gb2312": true, "sjis": true, "cp932": true, "ujis": true, "eucjpms": true, "euckr": true,
}

// wideTable is the table of an East Asian set.
type wideTable struct {
	// width is the length of a character that starts with each byte: 1,
	// 2 or 3.
	width [256]uint8
	// two holds the UTF-8 of each character of two bytes, by its bytes
	// (0x80-0xFF, 0x40-0xFF); "" for none.
	two [128][192]string
	// three holds those of three bytes, 0x8F then two of 0xA1-0xFE
	// (JIS X 0212 in ujis and eucjpms); nil in the other sets.
	three *[94][94]string
}

// appendWide appends the text b, in the East Asian set cs, in UTF-8. A
// byte that starts no character the set has becomes cs.text's ('?'), as
// the server converts it, and the next byte is read on its own.
func (cs *charset) appendWide(d, b []byte) []byte {
	w := cs.wide
	for i := 0; i < len(b); {
		x := b[i]
		switch w.width[x] {
		case 2:
			if i+1 < len(b) && b[i+1] >= 0x40 {
				if t := w.two[x-0x80][b[i+1]-0x40]; t != "" {
					d = append(d, t...)
					i += 2
					continue
				}
			}
		case 3:
			if i+2 < len(b) && w.three != nil && b[i+1] >= 0xa1 && b[i+1] <= 0xfe && b[i+2] >= 0xa1 && b[i+2] <= 0xfe {
				if t := w.three[b[i+1]-0xa1][b[i+2]-0xa1]; t != "" {
					d = append(d, t...)
					i += 3
					continue
				}
			}
		}
		d = append(d, cs.text[x]...)
		i++
	}
	return d
}

// wideCharset returns the table of the East Asian set name, reading it
// from the server the first time.
func (s *serverCharsets) wideCharset(name string) (*charset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.wide[name]; cs != nil {
		return cs, nil
	}
	if s.db == nil {
		return nil, fmt.Errorf("no connection to read the %s character set's table with", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), catalogTimeout)
	defer cancel()
	cs, err := wideTableOf(ctx, s.db, name)
	if err != nil {
		return nil, err
	}
	if s.wide == nil {
		s.wide = map[string]*charset{}
	}
	s.wide[name] = cs
	return cs, nil
}

// wideTableOf reads the table of the East Asian set name from the
// server: it converts every byte, every pair of a byte from 0x80 and a
// byte from 0x40, and in ujis and eucjpms every 0x8F triple, each
// followed by a newline (which no character contains and which ends an
// invalid one), and keeps what became one character.
func wideTableOf(ctx context.Context, db *sql.DB, name string) (*charset, error) {
	if !wideCharsets[name] {
		return nil, fmt.Errorf("%s is not an East Asian character set", name)
	}
	var q strings.Builder
	q.WriteString("SELECT CONVERT(X'")
	n := 0
	seg := func(b ...byte) {
		for _, x := range b {
			fmt.Fprintf(&q, "%02X", x)
		}
		q.WriteString("0A")
		n++
	}
	for x := range 256 {
		if x != '\n' {
			seg(byte(x))
		}
	}
	for lead := 0x80; lead < 0x100; lead++ {
		for trail := 0x40; trail < 0x100; trail++ {
			seg(byte(lead), byte(trail))
		}
	}
	triples := name == "ujis" || name == "eucjpms"
	if triples {
		for a := 0xa1; a <= 0xfe; a++ {
			for b := 0xa1; b <= 0xfe; b++ {
				seg(0x8f, byte(a), byte(b))
			}
		}
	}
	q.WriteString("' USING " + name + ")")
	var text string
	if err := db.QueryRowContext(ctx, q.String()).Scan(&text); err != nil {
		return nil, fmt.Errorf("reading the %s character set's table from the server: %w", name, err)
	}
	segs := strings.Split(text, "\n")
	if len(segs) != n+1 || !utf8.ValidString(text) {
		return nil, fmt.Errorf("the server converted %s's characters to %d lines, not %d", name, len(segs)-1, n)
	}
	one := func(s string) bool { return utf8.RuneCountInString(s) == 1 }
	cs := &charset{name: name, wide: &wideTable{}, asciiSame: true}
	w := cs.wide
	k := 0
	for x := range 256 {
		w.width[x] = 1
		switch {
		case x == '\n':
			cs.setByte(byte(x), "\n")
			continue
		case one(segs[k]):
			cs.setByte(byte(x), segs[k])
		default:
			cs.setByte(byte(x), "?")
		}
		k++
	}
	for lead := 0x80; lead < 0x100; lead++ {
		for trail := 0x40; trail < 0x100; trail++ {
			if s := segs[k]; one(s) && s != "?" {
				w.two[lead-0x80][trail-0x40] = s
				w.width[lead] = 2
				cs.most = max(cs.most, (len(s)+1)/2)
			}
			k++
		}
	}
	if triples {
		w.three = new([94][94]string)
		for a := range 94 {
			for b := range 94 {
				if s := segs[k]; one(s) && s != "?" {
					w.three[a][b] = s
					if w.width[0x8f] == 2 {
						return nil, fmt.Errorf("%s has characters of two and three bytes that start with 0x8F", name)
					}
					w.width[0x8f] = 3
					cs.most = max(cs.most, (len(s)+2)/3)
				}
				k++
			}
		}
	}
	for x := 0x80; x < 0x100; x++ {
		if w.width[x] > 1 && cs.text[x] != "?" {
			return nil, fmt.Errorf("%s's byte 0x%02X is a character and starts longer ones", name, x)
		}
	}
	return cs, nil
}
