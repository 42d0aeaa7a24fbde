package cdc

import (
	"fmt"
	"math"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// viaForms is the general conversion of a binlog value: binlogValue's
// form, in UTF-8 for latin1 text, then column.value.
func viaForms(c *column, bc *binlogColumn, v any) (runtime.Value, error) {
	f, err := binlogValue(bc, v)
	if err != nil {
		return runtime.Value{}, err
	}
	if b, ok := f.([]byte); ok && c.cs != nil {
		f = c.cs.appendUTF8(nil, b)
	}
	return c.value(f)
}

// TestBinlogDirectIsTheGeneralConversion pins the direct conversion of
// the common binlog forms to the general one (binlogValue, then
// column.value), and that it takes the forms it is meant for.
func TestBinlogDirectIsTheGeneralConversion(t *testing.T) {
	charsets := testCharsets(t)
	col := func(typ byte, unsigned bool, collation uint64) *binlogColumn {
		return &binlogColumn{name: "c", typ: typ, unsigned: unsigned, collation: collation}
	}
	bit := func(meta uint16) *binlogColumn {
		return &binlogColumn{name: "c", typ: gomysql.MYSQL_TYPE_BIT, meta: meta}
	}
	enum := &binlogColumn{name: "c", typ: gomysql.MYSQL_TYPE_ENUM, enum: []string{"red", "green"}}
	set := &binlogColumn{name: "c", typ: gomysql.MYSQL_TYPE_SET, set: []string{"a", "b", "c"}}
	const (
		direct  = true
		general = false
	)
	cases := []struct {
		c    *binlogColumn
		in   []any
		fast bool // binlogDirect takes them
	}{
		{col(gomysql.MYSQL_TYPE_TINY, false, 0), []any{int8(-128), int8(-1), int8(0), int8(127)}, direct},
		{col(gomysql.MYSQL_TYPE_TINY, true, 0), []any{int8(-128), int8(-1), int8(0), int8(127)}, direct},
		{col(gomysql.MYSQL_TYPE_SHORT, false, 0), []any{int16(math.MinInt16), int16(-1), int16(math.MaxInt16)}, direct},
		{col(gomysql.MYSQL_TYPE_SHORT, true, 0), []any{int16(math.MinInt16), int16(-1), int16(math.MaxInt16)}, direct},
		{col(gomysql.MYSQL_TYPE_INT24, false, 0), []any{int32(-8388608), int32(-1), int32(8388607)}, direct},
		{col(gomysql.MYSQL_TYPE_INT24, true, 0), []any{int32(-8388608), int32(-1), int32(8388607)}, direct},
		{col(gomysql.MYSQL_TYPE_LONG, false, 0), []any{int32(math.MinInt32), int32(-1), int32(1000), int32(math.MaxInt32)}, direct},
		{col(gomysql.MYSQL_TYPE_LONG, true, 0), []any{int32(math.MinInt32), int32(-1), int32(1000), int32(math.MaxInt32)}, direct},
		{col(gomysql.MYSQL_TYPE_LONGLONG, false, 0), []any{int64(math.MinInt64), int64(-1), int64(math.MaxInt64)}, direct},
		{col(gomysql.MYSQL_TYPE_LONGLONG, true, 0), []any{int64(math.MinInt64), int64(-1), int64(0), int64(math.MaxInt64)}, direct},
		{col(gomysql.MYSQL_TYPE_YEAR, false, 0), []any{0, 1901, 2155}, direct},
		{col(gomysql.MYSQL_TYPE_FLOAT, false, 0), []any{float32(1.2345678), float32(0.1), float32(-3.4e38), float32(math.Inf(-1)), float32(math.NaN()), float32(1e-45)}, direct},
		{col(gomysql.MYSQL_TYPE_DOUBLE, false, 0), []any{2.718281828459045, math.Copysign(0, -1), math.Inf(1), math.NaN(), 5e-324}, direct},
		{col(gomysql.MYSQL_TYPE_NEWDECIMAL, false, 0), []any{"-0.00", "-0", "-0.0500", "123.45", "0", "-12345678901234567890.0123456789"}, direct},
		{col(gomysql.MYSQL_TYPE_VARCHAR, false, 45), []any{"é", "", "line1\nline2 ☃"}, direct},
		{col(gomysql.MYSQL_TYPE_STRING, false, 33), []any{"ab", "café"}, direct},
		{col(gomysql.MYSQL_TYPE_VAR_STRING, false, 45), []any{"x"}, direct},
		{col(gomysql.MYSQL_TYPE_VARCHAR, false, 63), []any{"\xff\x00", "", "\xde\xad\xbe\xef"}, direct},
		{col(gomysql.MYSQL_TYPE_STRING, false, 63), []any{"\x00\x01\x02"}, direct},
		{col(gomysql.MYSQL_TYPE_BLOB, false, 63), []any{[]byte{}, []byte{0xde, 0xad, 0xbe, 0xef}}, direct},
		{col(gomysql.MYSQL_TYPE_BLOB, false, 45), []any{[]byte("line1\nline2 ☃"), []byte{}}, direct},
		{col(gomysql.MYSQL_TYPE_DATE, false, 0), []any{"2024-02-29", "0000-00-00"}, direct},
		{col(gomysql.MYSQL_TYPE_DATETIME2, false, 0), []any{"1000-01-01 00:00:00", "9999-12-31 23:59:59.999999", "2024-01-02 03:04:05.100000"}, direct},
		{col(gomysql.MYSQL_TYPE_TIMESTAMP2, false, 0), []any{"2038-01-19 03:14:07.120", "1970-01-01 00:00:01"}, direct},
		{col(gomysql.MYSQL_TYPE_TIME2, false, 0), []any{"-838:59:59", "12:34:56.500", "00:00:00.000000"}, direct},
		// Left to the general conversion.
		{col(gomysql.MYSQL_TYPE_VARCHAR, false, 8), []any{"caf\xe9\x80", ""}, general},
		{col(gomysql.MYSQL_TYPE_BLOB, false, 8), []any{[]byte("caf\xe9\x80")}, general},
		{col(gomysql.MYSQL_TYPE_TIME, false, 0), []any{"12:34:56", "1677:72:15"}, general},
		{bit(1), []any{int64(1), int64(0)}, general},
		{bit(1<<8 | 4), []any{int64(2730)}, general},
		{bit(8 << 8), []any{int64(-1)}, general},
		{enum, []any{int64(0), int64(2)}, general},
		{set, []any{int64(0), int64(5)}, general},
	}
	for _, tc := range cases {
		k, cs, err := kindOfBinlog(tc.c, charsets)
		if err != nil {
			t.Fatalf("type %d: %v", tc.c.typ, err)
		}
		c := &column{name: "c", kind: k, cs: cs}
		for _, in := range append(tc.in, nil) {
			want, err := viaForms(c, tc.c, in)
			if err != nil {
				t.Errorf("type %d %#v: the general conversion fails: %v", tc.c.typ, in, err)
				continue
			}
			got, ok := c.binlogDirect(tc.c, in)
			switch {
			case !ok && (tc.fast || in == nil):
				t.Errorf("type %d %#v: not converted directly", tc.c.typ, in)
			case ok && !tc.fast && in != nil:
				t.Errorf("type %d %#v: converted directly to %s, meant for the general conversion", tc.c.typ, in, show(got))
			case ok && (got.Kind() != want.Kind() || show(got) != show(want)):
				t.Errorf("type %d %#v: directly %v %s, generally %v %s", tc.c.typ, in, got.Kind(), show(got), want.Kind(), show(want))
			}
		}
	}
}

// TestBinlogRowErrorsAreTheGeneralOnes checks that values the direct
// conversion does not take give the general conversion's errors.
func TestBinlogRowErrorsAreTheGeneralOnes(t *testing.T) {
	bt := &binlogTable{t: table{"db", "t"}, cols: []binlogColumn{
		{name: "id", typ: gomysql.MYSQL_TYPE_LONG},
		{name: "s", typ: gomysql.MYSQL_TYPE_VARCHAR, collation: 45},
		{name: "e", typ: gomysql.MYSQL_TYPE_ENUM, enum: []string{"red"}},
	}}
	rel := newRelation(bt.t, []column{{name: "id", kind: kInt}, {name: "s", kind: kText}, {name: "e", kind: kText}}, []int{0})
	for _, tc := range []struct {
		vals []any
		want string
	}{
		{[]any{int32(1), "ok", int64(1)}, ""},
		{[]any{int32(1), "\xff", int64(1)}, "mysql-cdc: table `db`.`t`: column s: text is not valid UTF-8"},
		{[]any{int32(1), []byte("\xff"), int64(1)}, "mysql-cdc: table `db`.`t`: column s: text is not valid UTF-8"},
		{[]any{int32(1), "ok", int64(2)}, "mysql-cdc: table `db`.`t`, column `e`: ENUM index 2 without a member name (binlog_row_metadata is not FULL?)"},
		{[]any{"1", "ok", int64(1)}, "mysql-cdc: table `db`.`t`: column id: unexpected value of Go type string"},
		{[]any{int32(1), "ok"}, "mysql-cdc: table `db`.`t`: a binlog row of 2 values for 3 columns"},
	} {
		row := make([]runtime.Value, len(rel.cols))
		err := rel.binlogRow(bt, tc.vals, row)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%#v: error %q, want %q", tc.vals, got, tc.want)
		}
		if err == nil && fmt.Sprintln(show(row[0]), show(row[1]), show(row[2])) != "1 \"ok\" \"red\"\n" {
			t.Errorf("%#v: row %s %s %s", tc.vals, show(row[0]), show(row[1]), show(row[2]))
		}
	}
}

// TestEventRecordsAllocateOnlyTheirStrings checks that, apart from
// their chunks, a rows event's records of common forms cost the copies
// of their strings.
func TestEventRecordsAllocateOnlyTheirStrings(t *testing.T) {
	bt := &binlogTable{t: table{"db", "t"}, cols: []binlogColumn{
		{name: "id", typ: gomysql.MYSQL_TYPE_LONG},
		{name: "s", typ: gomysql.MYSQL_TYPE_VARCHAR, collation: 45},
		{name: "d", typ: gomysql.MYSQL_TYPE_NEWDECIMAL},
		{name: "f", typ: gomysql.MYSQL_TYPE_FLOAT},
		{name: "n", typ: gomysql.MYSQL_TYPE_LONG},
	}}
	rel := newRelation(bt.t, []column{{name: "id", kind: kInt}, {name: "s", kind: kText}, {name: "d", kind: kDecimal},
		{name: "f", kind: kFloat32}, {name: "n", kind: kInt}}, []int{0})
	vals := []any{int32(123456), "name-123456", "185184.00", float32(1.2345678), nil}
	const runs = 10 * rowChunk
	raw := make([][]any, runs+1)
	for i := range raw {
		raw[i] = vals
	}
	e := newEventRecords(rel, bt, token{file: "bin.000001", pos: 4}, "0-1-5", raw, nil, 1)
	i := 0
	n := testing.AllocsPerRun(runs, func() {
		row, err := e.row(i)
		i++
		if err != nil {
			t.Fatal(err)
		}
		e.meta(row, nil)
	})
	// The copy of s, and 1/rowChunk + 1/metaChunk of an allocation,
	// which AllocsPerRun rounds down.
	if n != 1 {
		t.Errorf("%v allocations per record, want 1", n)
	}
}
