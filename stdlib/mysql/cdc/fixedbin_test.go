package cdc

import (
	"context"
	"database/sql/driver"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// TestFixedBinValuesAreTheServersText writes edge and random UUID, INET6
// and INET4 values (and BINARY(16) and BINARY(4) beside them) before the
// snapshot and again while streaming: the stream, which formats the
// binlog's bytes, must give the text the server gives the snapshot, for
// every value; a column added mid-stream is typed from the catalog too.
func TestFixedBinValuesAreTheServersText(t *testing.T) {
	db := server.NewDatabase(t)
	var cols []imageColumn
	for _, c := range imageColumns() {
		switch c.name {
		case "uu", "i6", "i4", "b16", "b4":
			cols = append(cols, c)
		}
	}
	defs, names := []string{"id INT PRIMARY KEY"}, []string{"id + 100000"}
	for _, c := range cols {
		defs = append(defs, c.name+" "+c.typ)
		names = append(names, c.name)
	}
	const n = 500
	r := rand.New(rand.NewPCG(5, 6))
	server.Exec(t, db, "CREATE TABLE fb ("+strings.Join(defs, ", ")+")",
		"INSERT INTO fb VALUES "+strings.Join(imageRowValues(cols, r, 1, n), ", "))
	s := open(t, config(db, "fb"), nil)
	snap := read(t, s, n)
	server.Exec(t, db, "INSERT INTO fb SELECT "+strings.Join(names, ", ")+" FROM fb")
	stream := read(t, s, n)
	byID := map[int64]runtime.Record{}
	for _, rec := range stream {
		byID[rec.After[0].AsInt()-100000] = rec
	}
	fs := snap[0].Schema.Fields
	for i, f := range stream[0].Schema.Fields {
		if f.Name != fs[i].Name || f.Type.Kind != fs[i].Type.Kind {
			t.Fatalf("field %d: %s %v in the snapshot, %s %v in the stream", i, fs[i].Name, fs[i].Type, f.Name, f.Type)
		}
	}
	compared := 0
	for _, a := range snap {
		b, ok := byID[a.After[0].AsInt()]
		if !ok {
			t.Fatalf("row %d was not streamed", a.After[0].AsInt())
		}
		for i := 1; i < len(fs); i++ {
			if x, y := a.After[i], b.After[i]; !x.Equal(y) || x.Kind() != y.Kind() {
				t.Errorf("row %d, %s: snapshot %s, stream %s", a.After[0].AsInt(), fs[i].Name, show(x), show(y))
			}
			compared++
		}
	}
	first := snap[0].After
	for i, want := range map[string]string{"uu": `"00000000-0000-0000-0000-000000000000"`, "i6": `"::"`, "i4": `"0.0.0.0"`, "b16": `"AAAAAAAAAAAAAAAAAAAAAA=="`} {
		if got := show(first[snap[0].Schema.Index(i)]); got != want {
			t.Errorf("%s = %s, want %s", i, got, want)
		}
	}
	t.Logf("%d values compared", compared)

	// A UUID column added while streaming: its table map is new, and so
	// is the column's name.
	server.Exec(t, db, "ALTER TABLE fb ADD COLUMN u2 UUID AFTER id, ADD COLUMN a2 INET6",
		"INSERT INTO fb (id, u2, a2) VALUES (300000, '123e4567-e89b-42d3-a456-426614174000', '::ffff:10.0.0.0')")
	rec := read(t, s, 1)[0]
	for name, want := range map[string]string{"u2": `"123e4567-e89b-42d3-a456-426614174000"`, "a2": `"::ffff:10.0.0.0"`, "uu": "null"} {
		if i := rec.Schema.Index(name); i < 0 || show(rec.After[i]) != want {
			t.Errorf("after the ALTER, %s = %v, want %s", name, rec.After, want)
		}
	}
}

// TestInet6TextIsMariaDBs pins the cases where MariaDB's text of an IPv6
// address differs from RFC 5952's (and from Go's netip).
func TestInet6TextIsMariaDBs(t *testing.T) {
	for _, c := range []struct {
		words [8]uint16
		want  string
	}{
		{[8]uint16{}, "::"},
		{[8]uint16{7: 1}, "::1"},
		{[8]uint16{1, 0, 2, 3, 4, 5, 6, 7}, "1::2:3:4:5:6:7"}, // one zero group is "::" too
		{[8]uint16{1, 0, 2, 0, 0, 3, 0, 0}, "1:0:2::3:0:0"},   // the first longest run
		{[8]uint16{5: 0xffff, 6: 0x0102, 7: 0x0304}, "::ffff:1.2.3.4"},
		{[8]uint16{6: 0x0102, 7: 0x0304}, "::1.2.3.4"},
		{[8]uint16{6: 1}, "::0.1.0.0"},
		{[8]uint16{4: 0xffff, 6: 0x0102, 7: 0x0304}, "::ffff:0:102:304"},
		{[8]uint16{0x2001, 0xdb8}, "2001:db8::"},
		{[8]uint16{0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	} {
		var b [16]byte
		for i, w := range c.words {
			b[2*i], b[2*i+1] = byte(w>>8), byte(w)
		}
		// The binlog's bytes lack the trailing zeros.
		short := strings.TrimRight(string(b[:]), "\x00")
		if got := string(appendFixedBin(nil, kInet6, []byte(short))); got != c.want {
			t.Errorf("%04x: %q, want %q", c.words, got, c.want)
		}
	}
}

// TestCatalogFailureWhileStreamingReconnects fails the stream's first
// catalog reads of a table's fixed-size binary columns, once transiently
// and then for good: the first must cost a reconnect and nothing else
// (every row once, typed), the second must stop the source naming it.
func TestCatalogFailureWhileStreamingReconnects(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE cf (id INT PRIMARY KEY, u UUID)", "INSERT INTO cf VALUES (1, '123e4567-e89b-42d3-a456-426614174000')")
	var calls atomic.Int32
	var final atomic.Bool
	s := openWith(t, config(db, "cf"), nil, func(s *Source) {
		s.catalogHook = func(ctx context.Context, tb table) (map[string]kind, error) {
			switch {
			case final.Load():
				return nil, &mysql.MySQLError{Number: 1142, Message: "SELECT command denied"}
			case calls.Add(1) == 1:
				return nil, driver.ErrBadConn
			}
			return s.fixedBinColumns(ctx, tb)
		}
	})
	if rec := read(t, s, 1)[0]; rec.Op != runtime.OpSnapshot {
		t.Fatalf("op %s", rec.Op)
	}
	server.Exec(t, db, "INSERT INTO cf VALUES (2, '00000000-0000-0000-0000-000000000001'), (3, NULL)",
		"INSERT INTO cf VALUES (4, 'ffffffff-ffff-ffff-ffff-ffffffffffff')")
	recs := read(t, s, 3)
	for i, want := range []string{`"00000000-0000-0000-0000-000000000001"`, "null", `"ffffffff-ffff-ffff-ffff-ffffffffffff"`} {
		if got := show(recs[i].After[1]); got != want || recs[i].After[0].AsInt() != int64(i+2) {
			t.Errorf("record %d: %s %s, want id %d %s", i, show(recs[i].After[0]), got, i+2, want)
		}
	}
	if calls.Load() < 2 {
		t.Errorf("the catalog was read %d times: the failed read was not repeated", calls.Load())
	}

	final.Store(true)
	server.Exec(t, db, "ALTER TABLE cf ADD COLUMN v INT", "INSERT INTO cf VALUES (5, NULL, 1)")
	err := readErr(t, s)
	if err == nil || !strings.Contains(err.Error(), "SELECT command denied") || !strings.Contains(err.Error(), "catalog") {
		t.Fatalf("got %v, want the catalog's error", err)
	}
}
