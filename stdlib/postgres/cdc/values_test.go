package cdc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mask"
)

// valuesCase is one row of valuesTable: the SQL of its values and the JSON
// row every record of it must encode to (snapshot and stream alike).
type valuesCase struct{ sql, want string }

// valuesTable holds json and jsonb values whose numbers a float64 cannot
// carry, whose json text jsonb would normalise, and dates and times at
// PostgreSQL's extremes.
const valuesTable = `CREATE TABLE v (id int PRIMARY KEY, j json, jb jsonb, ts timestamp, tstz timestamptz, d date,
  da date[], tsa timestamptz[], ja json[])`

var valuesCases = []valuesCase{
	{`'123456789012345678901234567890.5', '123456789012345678901234567890.5', '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00+00 BC', '4713-01-01 BC', NULL, NULL, NULL`,
		`{"j":123456789012345678901234567890.5,"jb":123456789012345678901234567890.5,"ts":"-0043-03-15T12:00:00","tstz":"-0043-03-15T12:00:00Z","d":"-4712-01-01","da":null,"tsa":null,"ja":null}`},
	{`'0.1000000000000000000001', '0.1000000000000000000001', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00', '5874897-12-31', NULL, NULL, NULL`,
		`{"j":0.1000000000000000000001,"jb":0.1000000000000000000001,"ts":"+294276-12-31T23:59:59.999999","tstz":"+294276-12-31T23:59:59.999999Z","d":"+5874897-12-31","da":null,"tsa":null,"ja":null}`},
	// 2^64, below -2^63, and 2^63 (one past int64).
	{`'[18446744073709551616, -9223372036854775809, 9223372036854775808, 9223372036854775807]', '[18446744073709551616, -9223372036854775809, 9223372036854775808, 9223372036854775807]', '4714-11-24 00:00:00 BC', '4714-11-24 00:00:00+00 BC', '0001-01-01 BC', NULL, NULL, NULL`,
		`{"j":[18446744073709551616,-9223372036854775809,9223372036854775808,9223372036854775807],"jb":[18446744073709551616,-9223372036854775809,9223372036854775808,9223372036854775807],"ts":"-4713-11-24T00:00:00","tstz":"-4713-11-24T00:00:00Z","d":"0000-01-01","da":null,"tsa":null,"ja":null}`},
	// Exponents: json keeps them as written, jsonb writes numeric's text.
	{`'[1.0, 1E+2, 1e-7, -0.0, 2.50e1, 1e400, -1E-400]', '[1.0, 1E+2, 1e-7, -0.0, 2.50e1, 1e400]', '0001-01-01 00:00:00', '9999-12-31 23:59:59.999999+00', '10000-01-01', NULL, NULL, NULL`,
		`{"j":[1.0,1E+2,1e-7,-0.0,2.50e1,1e400,-1E-400],"jb":[1.0,100,0.0000001,0.0,25.0,1` + strings.Repeat("0", 400) + `],"ts":"0001-01-01T00:00:00","tstz":"9999-12-31T23:59:59.999999Z","d":"+10000-01-01","da":null,"tsa":null,"ja":null}`},
	// Duplicate keys, key order and white space: json as written (without
	// the white space between tokens), jsonb normalised.
	{`E'{"b" : 1,\n "a":1, "a" : {"y": 2, "x": [ ]} }', E'{"b" : 1,\n "a":1, "a" : {"y": 2, "x": [ ]} }', '2024-01-02 03:04:05.12', '2024-01-02 03:04:05.5+02', '2024-02-29', '{4713-01-01 BC,5874897-12-31,2024-02-29}', '{"0044-03-15 12:00:00+00 BC",infinity}', ARRAY['{"b": 1.0, "a": [1E+2]}', ' [ "\u00e9" ] ']::json[]`,
		`{"j":{"b":1,"a":1,"a":{"y":2,"x":[]}},"jb":{"a":{"x":[],"y":2},"b":1},"ts":"2024-01-02T03:04:05.12","tstz":"2024-01-02T01:04:05.5Z","d":"2024-02-29","da":["-4712-01-01","+5874897-12-31","2024-02-29"],"tsa":["-0043-03-15T12:00:00Z","infinity"],"ja":[{"b":1.0,"a":[1E+2]},["\u00e9"]]}`},
	// Strings: a lone surrogate (json only; jsonb refuses it), escapes as
	// written in json, decoded in jsonb; <, > and & escaped as everywhere.
	{`'["\ud800", "\u00e9\/", "<&>"]', '["\u00e9\/", "<&>"]', 'infinity', '-infinity', '-infinity', '{}', '{}', NULL`,
		`{"j":["\ud800","\u00e9\/","\u003c\u0026\u003e"],"jb":["é/","\u003c\u0026\u003e"],"ts":"infinity","tstz":"-infinity","d":"-infinity","da":[],"tsa":[],"ja":null}`},
	{`'"\ud800"', '"x"', NULL, NULL, NULL, NULL, NULL, NULL`,
		`{"j":"\ud800","jb":"x","ts":null,"tstz":null,"d":null,"da":null,"tsa":null,"ja":null}`},
}

// TestValuesExactInSnapshotAndStream: json numbers keep their decimal
// text, json keeps its text, and dates and times at every extreme use the
// documented layout, identically in the snapshot and in the stream.
func TestValuesExactInSnapshotAndStream(t *testing.T) {
	db := cluster.NewDatabase(t)
	insert := func(base int) []string {
		var sql []string
		for i, c := range valuesCases {
			sql = append(sql, fmt.Sprintf("INSERT INTO v VALUES (%d, %s)", base+i, c.sql))
		}
		return sql
	}
	cluster.Exec(t, db, append([]string{valuesTable}, insert(1)...)...)
	s := open(t, config(db, "v"))
	snap := read(t, s, len(valuesCases))
	cluster.Exec(t, db, insert(101)...)
	stream := read(t, s, len(valuesCases))
	for i, c := range valuesCases {
		if snap[i].Op != runtime.OpSnapshot || stream[i].Op != runtime.OpInsert {
			t.Fatalf("row %d: ops %s and %s, want a snapshot and an insert", i+1, snap[i].Op, stream[i].Op)
		}
		for _, r := range []runtime.Record{snap[i], stream[i]} {
			got := string(runtime.AppendJSONRow(nil, runtime.NewSchema(r.Schema.Fields[1:]...), r.After[1:], "", 0))
			if got != c.want {
				t.Errorf("%s row %d\n got %s\nwant %s", r.Op, i+1, got, c.want)
			}
		}
	}
	if t.Failed() {
		return
	}
	// Conditions see the numbers; a mask inside a json value keeps the
	// other numbers exact.
	j := snap[0].Schema.Index("j")
	if f := snap[1].After[j].AsFloat(); f != 0.1 {
		t.Errorf("0.1000000000000000000001 reads as %v", f)
	}
	row := []runtime.Value{snap[4].After[j]}
	(&mask.Spec{Strategy: mask.Redact}).Apply(row, 0, []string{"b"})
	if got, want := string(runtime.AppendJSON(nil, row[0])), `{"b":"*","a":{"y":2,"x":[]}}`; got != want {
		t.Errorf("masked json: got %s, want %s", got, want)
	}
	row = []runtime.Value{snap[2].After[j]}
	if got, want := mask.HashValue(row[0], "").AsString(), mask.HashValue(runtime.String(`[18446744073709551616,-9223372036854775809,9223372036854775808,9223372036854775807]`), "").AsString(); got != want {
		t.Errorf("hash of a json array: got %s, want the hash of its exact text %s", got, want)
	}
}

func TestDateTimeLayout(t *testing.T) {
	ts, tstz, date := &pgType{name: "timestamp", kind: kTimestamp}, &pgType{name: "timestamptz", kind: kTimestamptz}, &pgType{name: "date", kind: kDate}
	for _, c := range []struct {
		t       *pgType
		in, out string
	}{
		{date, "2024-02-29", "2024-02-29"},
		{date, "0001-01-01", "0001-01-01"},
		{date, "0001-01-01 BC", "0000-01-01"},
		{date, "0002-12-31 BC", "-0001-12-31"},
		{date, "4713-01-01 BC", "-4712-01-01"},
		{date, "9999-12-31", "9999-12-31"},
		{date, "10000-01-01", "+10000-01-01"},
		{date, "5874897-12-31", "+5874897-12-31"},
		{date, "infinity", "infinity"},
		{date, "-infinity", "-infinity"},
		{ts, "2024-01-02 03:04:05", "2024-01-02T03:04:05"},
		{ts, "2024-01-02 03:04:05.000001", "2024-01-02T03:04:05.000001"},
		{ts, "0044-03-15 12:00:00 BC", "-0043-03-15T12:00:00"},
		{ts, "294276-12-31 23:59:59.999999", "+294276-12-31T23:59:59.999999"},
		{ts, "-infinity", "-infinity"},
		{tstz, "2024-01-02 03:04:05+00", "2024-01-02T03:04:05Z"},
		{tstz, "0044-03-15 12:00:00+00 BC", "-0043-03-15T12:00:00Z"},
		{tstz, "294276-12-31 23:59:59.999999+00", "+294276-12-31T23:59:59.999999Z"},
		{tstz, "2024-01-02 03:04:05+05:30", "2024-01-02T03:04:05+05:30"},
		{tstz, "2024-01-02 03:04:05-08", "2024-01-02T03:04:05-08:00"},
		{tstz, "infinity", "infinity"},
	} {
		v, err := decodeText(c.t, []byte(c.in))
		if err != nil {
			t.Errorf("%s %q: %v", c.t.name, c.in, err)
			continue
		}
		if v.Kind() != runtime.KindString || v.AsString() != c.out {
			t.Errorf("%s %q: got %s, want %q", c.t.name, c.in, runtime.AppendJSON(nil, v), c.out)
		}
	}
	for _, c := range []struct {
		t  *pgType
		in string
	}{
		{date, "24-01-02"}, {date, "2024-01-02 AD"}, {date, "2024/01/02"}, {date, "+2024-01-02"}, {date, ""},
		{ts, "2024-01-02T03:04:05"}, {ts, "2024-01-02 03:04"}, {ts, "2024-01-02 03:04:05+00"}, {ts, "2024-01-02 03:04:05 bc"},
		{tstz, "2024-01-02 03:04:05"}, {tstz, "2024-01-02 03:04:05Z"}, {tstz, "2024-01-02 03:04:05+0"},
	} {
		if v, err := decodeText(c.t, []byte(c.in)); err == nil {
			t.Errorf("%s %q: no error, got %s", c.t.name, c.in, runtime.AppendJSON(nil, v))
		} else if !strings.Contains(err.Error(), c.t.name) {
			t.Errorf("%s %q: the error does not name the type: %v", c.t.name, c.in, err)
		}
	}
}
