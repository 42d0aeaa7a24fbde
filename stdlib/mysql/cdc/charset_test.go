package cdc

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// testCharsets reads the test server's character sets.
func testCharsets(t *testing.T) *serverCharsets {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := charsets(ctx, server.Open(t, server.NewDatabase(t)))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestSingleByteCharsetsAreTheServersText stores every byte in a column
// of each single-byte character set of the server, before the snapshot
// and while streaming: the stream, which converts the binlog's bytes
// with the tables read from the server, must give the text the server
// gives the snapshot, byte for byte ('?' for the bytes it cannot map).
func TestSingleByteCharsetsAreTheServersText(t *testing.T) {
	sets := testCharsets(t)
	var names []string
	for name, cs := range sets.bytes {
		if cs.unit == 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, want := range []string{"latin1", "latin2", "cp1251", "cp1252", "koi8r", "greek", "hebrew", "cp866", "tis620"} {
		if want == "cp1252" {
			continue // MariaDB's cp1252 is latin1
		}
		if sets.bytes[want] == nil {
			t.Errorf("no table for %s (the server's single-byte sets: %v)", want, names)
		}
	}
	db := server.NewDatabase(t)
	defs, vals := []string{"id INT PRIMARY KEY", "ct CHAR(255) CHARACTER SET cp1251", "tx TEXT CHARACTER SET koi8r"}, []string{}
	var every strings.Builder
	for i := range 256 {
		fmt.Fprintf(&every, "%02X", i)
	}
	for _, name := range names {
		defs = append(defs, "c_"+name+" VARCHAR(256) CHARACTER SET "+name)
		vals = append(vals, "CONVERT(X'"+every.String()+"' USING "+name+")")
	}
	row := func(id int) string {
		// CHAR drops trailing spaces: its value ends in another byte.
		return fmt.Sprintf("INSERT INTO sb VALUES (%d, CONVERT(X'%s41' USING cp1251), CONVERT(X'%s' USING koi8r), %s)",
			id, every.String()[2*0x20:], every.String(), strings.Join(vals, ", "))
	}
	server.Exec(t, db, "CREATE TABLE sb ("+strings.Join(defs, ", ")+")", row(1))
	s := open(t, config(db, "sb"), nil)
	snap := read(t, s, 1)[0]
	server.Exec(t, db, row(2))
	ins := read(t, s, 1)[0]
	fs := snap.Schema.Fields
	for i := 1; i < len(fs); i++ {
		a, b := snap.After[i], ins.After[i]
		if !a.Equal(b) {
			t.Errorf("%s: snapshot %s, stream %s", fs[i].Name, show(a), show(b))
		}
		if n := utf8.RuneCountInString(a.AsString()); strings.HasPrefix(fs[i].Name, "c_") && n != 256 {
			t.Errorf("%s: the snapshot's text has %d characters", fs[i].Name, n)
		}
	}
	t.Logf("%d single-byte character sets: %v", len(names), names)
}

// TestUnicodeCharsetsAreTheServersText writes text of random code points
// (BMP and beyond, the edges of each range) into UCS-2, UTF-16,
// UTF-16LE and UTF-32 columns, and malformed units the server may keep
// in a non-strict session, before the snapshot and while streaming: the
// stream's text must be the snapshot's.
func TestUnicodeCharsetsAreTheServersText(t *testing.T) {
	db := server.NewDatabase(t)
	r := rand.New(rand.NewPCG(7, 8))
	text := func(bmp bool) string {
		rs := []rune{0, 'a', 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff}
		if !bmp {
			rs = append(rs, 0x10000, 0x10ffff, 0x1f600)
		}
		for range 200 {
			var x rune
			switch {
			case bmp || r.IntN(2) == 0:
				x = rune(r.IntN(0xd800))
			default:
				x = 0x10000 + rune(r.IntN(0x100000))
			}
			rs = append(rs, x)
		}
		return "CONVERT(X'" + hex.EncodeToString([]byte(string(rs))) + "' USING utf8mb4)"
	}
	cols := "u2 VARCHAR(300) CHARACTER SET ucs2, u16 VARCHAR(300) CHARACTER SET utf16, u16le TEXT CHARACTER SET utf16le, u32 VARCHAR(300) CHARACTER SET utf32, c16 CHAR(5) CHARACTER SET utf16"
	vals := fmt.Sprintf("%s, %s, %s, %s, 'ab😀'", text(true), text(false), text(false), text(false))
	row := func(id int) string { return fmt.Sprintf("INSERT INTO uc VALUES (%d, %s)", id, vals) }
	// What the server keeps of malformed text in a non-strict session:
	// '?' in utf16 and utf16le, and in utf32 for a code point past
	// U+10FFFF, but surrogates in ucs2 and utf32, which it sends as bytes
	// that are not UTF-8.
	bad := "SET sql_mode = ''; INSERT INTO uc VALUES (%d, NULL, X'DC00D800', X'00D8', X'00110000', X'D83D')"
	server.Exec(t, db, "CREATE TABLE uc (id INT PRIMARY KEY, "+cols+")")
	server.Exec(t, db, row(1), fmt.Sprintf(bad, 2))
	s := open(t, config(db, "uc"), nil)
	snap := read(t, s, 2)
	server.Exec(t, db, row(11), fmt.Sprintf(bad, 12))
	ins := read(t, s, 2)
	for k := range snap {
		fs := snap[k].Schema.Fields
		for i := 1; i < len(fs); i++ {
			if a, b := snap[k].After[i], ins[k].After[i]; !a.Equal(b) {
				x, y := []rune(a.AsString()), []rune(b.AsString())
				j := 0
				for j < min(len(x), len(y)) && x[j] == y[j] {
					j++
				}
				t.Errorf("row %d, %s: snapshot and stream differ at character %d: %q and %q", k, fs[i].Name, j, x[j:min(j+3, len(x))], y[j:min(j+3, len(y))])
			}
		}
	}
	if got := snap[1].After[2].AsString(); !strings.Contains(got, "?") {
		t.Errorf("malformed utf16 = %q: the server kept it", got)
	}
	// A surrogate the server keeps: the snapshot refuses it, so must the
	// stream.
	for _, v := range []string{"X'D800', NULL", "NULL, X'0000DFFF'"} {
		server.Exec(t, db, "SET sql_mode = ''; INSERT INTO uc (id, u2, u32) VALUES (100, "+v+")")
		s := open(t, config(db, "uc"), nil)
		if err := readErr(t, s); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("snapshot of %s: %v, want the column's error", v, err)
		}
		server.Exec(t, db, "DELETE FROM uc WHERE id = 100")
		cfg := config(db, "uc")
		cfg.SnapshotMode = SnapshotNever
		s = open(t, cfg, nil)
		server.Exec(t, db, "SET sql_mode = ''; INSERT INTO uc (id, u2, u32) VALUES (100, "+v+")")
		if err := readErr(t, s); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("stream of %s: %v, want the column's error", v, err)
		}
		server.Exec(t, db, "DELETE FROM uc WHERE id = 100")
	}
	if got := show(snap[0].After[5]); got != `"ab😀"` {
		t.Errorf("c16 = %s", got)
	}
}
