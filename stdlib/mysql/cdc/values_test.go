package cdc

import (
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// TestTypedValuesAreIdenticalInSnapshotAndStream writes the same values
// twice, once before the snapshot and once while streaming, and compares
// the records field by field for every common type.
func TestTypedValuesAreIdenticalInSnapshotAndStream(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, `CREATE TABLE ty (
id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec1 DECIMAL(30,10), dec2 DECIMAL(5,0), dec3 DECIMAL(12,4),
dt DATE, dtm DATETIME, dtm6 DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME, tm3 TIME(3), y YEAR,
c CHAR(5), vc VARCHAR(300), tx TEXT, l1 VARCHAR(10) CHARACTER SET latin1, bin BINARY(3), vb VARBINARY(10), bl BLOB,
e ENUM('red','green','blue'), st SET('a','b','c'), b1 BIT(1), b12 BIT(12), b64 BIT(64), js JSON, n INT,
g GEOMETRY, pt POINT REF_SYSTEM_ID=4326, pg POLYGON, bz BINARY(4), bz0 BINARY(2))`)
	vals := `-128, 255, -32768, -8388608, 16777215, -2147483648, 4294967295,
-9223372036854775808, 18446744073709551615, 1.2345678, 2.718281828459045, '-12345678901234567890.0123456789', 99999, '-0.0500',
'2024-02-29', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.120', '-838:59:59', '12:34:56.500', 2155,
'ab', REPEAT('é', 300), 'line1\nline2 ☃', 'café€', X'000102', X'FF00', X'DEADBEEF', 'green', 'a,c', b'1', b'101010101010',
b'1111111111111111111111111111111111111111111111111111111111111111', '{"a": [1, 2.50, "x"]}', NULL,
ST_GeomFromText('LINESTRING(0 0, 1 1)'), ST_GeomFromText('POINT(1 2)', 4326), ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'), X'0100', X''`
	server.Exec(t, db, "SET time_zone = '+00:00'", "INSERT INTO ty VALUES (1, "+vals+")")
	s := open(t, config(db, "ty"), nil)
	snap := read(t, s, 1)[0]
	server.Exec(t, db, "SET time_zone = '+00:00'; INSERT INTO ty VALUES (2, "+vals+")")
	ins := read(t, s, 1)[0]
	if snap.Op != runtime.OpSnapshot || ins.Op != runtime.OpInsert {
		t.Fatalf("ops %s %s", snap.Op, ins.Op)
	}
	fs := snap.Schema.Fields
	if len(ins.Schema.Fields) != len(fs) {
		t.Fatalf("schemas differ: %v and %v", fs, ins.Schema.Fields)
	}
	for i := 1; i < len(fs); i++ {
		if fs[i].Name != ins.Schema.Fields[i].Name || fs[i].Type.Kind != ins.Schema.Fields[i].Type.Kind {
			t.Errorf("field %d: %s %v in the snapshot, %s %v in the stream", i, fs[i].Name, fs[i].Type, ins.Schema.Fields[i].Name, ins.Schema.Fields[i].Type)
		}
		a, b := snap.After[i], ins.After[i]
		if !a.Equal(b) || a.Kind() != b.Kind() {
			t.Errorf("%s: snapshot %s, stream %s", fs[i].Name, show(a), show(b))
		}
	}
	want := map[string]string{
		"bu": `"18446744073709551615"`, "f": "1.2345678", "dec1": `"-12345678901234567890.0123456789"`, "dec3": `"-0.0500"`,
		"dtm": `"1000-01-01T00:00:00"`, "dtm6": `"9999-12-31T23:59:59.999999"`, "ts": `"2038-01-19T03:14:07.12Z"`, "tm": `"-838:59:59"`,
		"tm3": `"12:34:56.5"`, "y": "2155", "l1": `"café€"`, "bin": `"AAEC"`, "vb": `"/wA="`, "e": `"green"`, "st": `"a,c"`,
		"b1": "1", "b12": "2730", "b64": `"18446744073709551615"`, "js": `"{\"a\": [1, 2.50, \"x\"]}"`, "n": "null",
		"pt": `{"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":4326}`, "bz": `"AQAAAA=="`, "bz0": `"AAA="`,
		"g": `{"wkb":"AQIAAAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAA8D8=","srid":0}`,
	}
	for name, w := range want {
		i := snap.Schema.Index(name)
		if got := show(ins.After[i]); got != w {
			t.Errorf("%s = %s, want %s", name, got, w)
		}
	}
}

func show(v runtime.Value) string { return string(runtime.AppendJSON(nil, v)) }
