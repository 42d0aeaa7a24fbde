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

// TestEastAsianCharsetsAreTheServersText writes random CJK ideographs,
// kana (full and half width), hangul, full-width forms, symbols and ASCII
// into a column of each East Asian set (what a set lacks becomes '?'),
// before the snapshot and while streaming: the stream, which converts
// with the tables it reads from the server, must give the snapshot's
// text.
func TestEastAsianCharsetsAreTheServersText(t *testing.T) {
	db := server.NewDatabase(t)
	r := rand.New(rand.NewPCG(9, 10))
	ranges := [][2]rune{{0x20, 0x7e}, {0x4e00, 0x9fff}, {0x3040, 0x309f}, {0x30a0, 0x30ff}, {0xff61, 0xff9f}, {0xac00, 0xd7a3},
		{0xff01, 0xff5e}, {0x2460, 0x24ff}, {0x2500, 0x257f}, {0x3000, 0x303f}, {0xa1, 0xff}, {0x391, 0x3c9}, {0x410, 0x44f}}
	var names []string
	for name := range wideCharsets {
		names = append(names, name)
	}
	slices.Sort(names)
	defs := []string{"id INT PRIMARY KEY"}
	for _, name := range names {
		defs = append(defs, "c_"+name+" VARCHAR(300) CHARACTER SET "+name)
	}
	defs = append(defs, "tx TEXT CHARACTER SET sjis", "ch CHAR(10) CHARACTER SET ujis")
	var rows []string
	for id := 1; id <= 20; id++ {
		vals := []string{fmt.Sprint(id)}
		for range len(defs) - 1 {
			n := 1 + r.IntN(200)
			if len(vals) == len(defs)-1 {
				n = 1 + r.IntN(10)
			}
			rs := make([]rune, n)
			for i := range rs {
				g := ranges[r.IntN(len(ranges))]
				rs[i] = g[0] + rune(r.IntN(int(g[1]-g[0]+1)))
			}
			vals = append(vals, "CONVERT(X'"+hex.EncodeToString([]byte(strings.TrimRight(string(rs), " ")))+"' USING utf8mb4)")
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	insert := "SET sql_mode = ''; INSERT INTO ea VALUES " + strings.Join(rows, ", ")
	server.Exec(t, db, "CREATE TABLE ea ("+strings.Join(defs, ", ")+")", insert)
	s := open(t, config(db, "ea"), nil)
	snap := read(t, s, len(rows))
	server.Exec(t, db, "DELETE FROM ea", insert)
	stream := read(t, s, 2*len(rows))[len(rows):]
	mapped := 0
	for k := range snap {
		fs := snap[k].Schema.Fields
		for i := 1; i < len(fs); i++ {
			a, b := snap[k].After[i], stream[k].After[i]
			if !a.Equal(b) {
				x, y := []rune(a.AsString()), []rune(b.AsString())
				j := 0
				for j < min(len(x), len(y)) && x[j] == y[j] {
					j++
				}
				t.Errorf("row %d, %s: snapshot and stream differ at character %d: %q and %q", k, fs[i].Name, j, x[j:min(j+3, len(x))], y[j:min(j+3, len(y))])
			}
			mapped += utf8.RuneCountInString(a.AsString()) - strings.Count(a.AsString(), "?")
		}
	}
	if mapped < 5000 {
		t.Errorf("only %d characters were not '?': the sets took too few of the text's", mapped)
	}
	t.Logf("%d characters compared that the sets have", mapped)
}

// TestEveryCharsetOfTheServerIsRead asks the stream for the kind of text
// in each character set the server has: none may be refused.
func TestEveryCharsetOfTheServerIsRead(t *testing.T) {
	sets := testCharsets(t)
	rows, err := sets.db.Query("SELECT CHARACTER_SET_NAME, MAXLEN FROM information_schema.CHARACTER_SETS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name string
		var maxLen int
		if err := rows.Scan(&name, &maxLen); err != nil {
			t.Fatal(err)
		}
		n++
		if _, _, err := sets.textKind(name); err != nil {
			t.Errorf("the stream refuses %s: %v", name, err)
		}
		if _, err := sqlTextKind(name, maxLen); err != nil {
			t.Errorf("the snapshot refuses %s: %v", name, err)
		}
	}
	if n < 40 {
		t.Errorf("the server lists %d character sets", n)
	}
	t.Logf("%d character sets", n)
}

// TestEnumAndSetMembersInOtherCharsets: the table map names ENUM and
// SET members in the column's character set; the stream must give them
// in UTF-8, as the snapshot does.
func TestEnumAndSetMembersInOtherCharsets(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, `CREATE TABLE en (id INT PRIMARY KEY, e ENUM('café','naïve') CHARACTER SET latin1,
s SET('щука','рыба') CHARACTER SET cp1251, g ENUM('漢字','x') CHARACTER SET gbk, u ENUM('ü😀','y') CHARACTER SET utf16)`)
	row := "(%d, 'naïve', 'щука,рыба', '漢字', 'ü😀')"
	server.Exec(t, db, "INSERT INTO en VALUES "+fmt.Sprintf(row, 1))
	s := open(t, config(db, "en"), nil)
	snap := read(t, s, 1)[0]
	server.Exec(t, db, "INSERT INTO en VALUES "+fmt.Sprintf(row, 2))
	ins := read(t, s, 1)[0]
	for i, want := range []string{"", `"naïve"`, `"щука,рыба"`, `"漢字"`, `"ü😀"`} {
		if i == 0 {
			continue
		}
		if a, b := show(snap.After[i]), show(ins.After[i]); a != want || b != want {
			t.Errorf("%s: snapshot %s, stream %s, want %s", snap.Schema.Fields[i].Name, a, b, want)
		}
	}
}
