package cdc

import (
	"context"
	"fmt"
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
	for name := range sets.bytes {
		names = append(names, name)
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
