package cdc

import (
	"fmt"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

func TestBinlogValueNormalisesGoMySQLForms(t *testing.T) {
	col := func(typ byte, unsigned bool) *binlogColumn { return &binlogColumn{typ: typ, unsigned: unsigned} }
	enum := &binlogColumn{typ: gomysql.MYSQL_TYPE_ENUM, enum: []string{"red", "green"}}
	set := &binlogColumn{typ: gomysql.MYSQL_TYPE_SET, set: []string{"a", "b", "c"}}
	cases := []struct {
		c    *binlogColumn
		in   any
		want string // fmt "%T %v"
	}{
		{col(gomysql.MYSQL_TYPE_TINY, false), int8(-128), "int64 -128"},
		{col(gomysql.MYSQL_TYPE_TINY, true), int8(-1), "uint64 255"},
		{col(gomysql.MYSQL_TYPE_SHORT, true), int16(-1), "uint64 65535"},
		{col(gomysql.MYSQL_TYPE_INT24, true), int32(-1), "uint64 16777215"},
		{col(gomysql.MYSQL_TYPE_INT24, false), int32(-8388608), "int64 -8388608"},
		{col(gomysql.MYSQL_TYPE_LONG, true), int32(-1), "uint64 4294967295"},
		{col(gomysql.MYSQL_TYPE_LONGLONG, true), int64(-1), "uint64 18446744073709551615"},
		{col(gomysql.MYSQL_TYPE_LONGLONG, false), int64(-9223372036854775808), "int64 -9223372036854775808"},
		{col(gomysql.MYSQL_TYPE_BIT, false), int64(-1), "uint64 18446744073709551615"},
		{col(gomysql.MYSQL_TYPE_YEAR, false), 2155, "int64 2155"},
		{col(gomysql.MYSQL_TYPE_FLOAT, false), float32(1.5), "float32 1.5"},
		{col(gomysql.MYSQL_TYPE_NEWDECIMAL, false), "-0.0500", "string -0.0500"},
		{col(gomysql.MYSQL_TYPE_NEWDECIMAL, false), "-0.000", "string 0.000"},
		{col(gomysql.MYSQL_TYPE_TIME, false), "12:34:56", "string 12:34:56"},
		{col(gomysql.MYSQL_TYPE_TIME, false), "1677:72:15", "string -00:00:01"}, // 0xffffff - 0 → -1 s
		{col(gomysql.MYSQL_TYPE_TIME2, false), "-838:59:59", "string -838:59:59"},
		{col(gomysql.MYSQL_TYPE_VARCHAR, false), "é", "[]uint8 [195 169]"},
		{col(gomysql.MYSQL_TYPE_BLOB, false), []byte{1}, "[]uint8 [1]"},
		{enum, int64(2), "string green"},
		{enum, int64(0), "string "},
		{set, int64(5), "string a,c"},
		{set, int64(0), "string "},
		{col(gomysql.MYSQL_TYPE_LONG, false), nil, "<nil> <nil>"},
	}
	for _, c := range cases {
		got, err := binlogValue(c.c, c.in)
		if err != nil {
			t.Errorf("%d %#v: %v", c.c.typ, c.in, err)
			continue
		}
		if g := fmt.Sprintf("%T %v", got, got); g != c.want {
			t.Errorf("%d %#v = %s, want %s", c.c.typ, c.in, g, c.want)
		}
	}
	for _, bad := range []struct {
		c  *binlogColumn
		in any
	}{{enum, int64(3)}, {set, int64(8)}, {col(gomysql.MYSQL_TYPE_LONG, false), struct{}{}}} {
		if _, err := binlogValue(bad.c, bad.in); err == nil {
			t.Errorf("%d %#v: no error", bad.c.typ, bad.in)
		}
	}
}
