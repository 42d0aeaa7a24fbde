package cdc

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mysql/mysqltest"
)

// imageColumn is a column of the differential tests' table: its type,
// values at its edges, and a random value (SQL literals).
type imageColumn struct {
	name, typ string
	edges     []string
	gen       func(r *rand.Rand) string
}

func quoted(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

func hexLit(r *rand.Rand, max int) string {
	b := make([]byte, r.IntN(max+1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if len(b) == 0 {
		return "''"
	}
	return "X'" + hex.EncodeToString(b) + "'"
}

func textLit(r *rand.Rand, max int) string {
	alphabet := []rune("abcXYZ019 é€☃😀'\\\n\t,")
	n := r.IntN(max + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(alphabet[r.IntN(len(alphabet))])
	}
	return quoted(b.String())
}

func intLit(r *rand.Rand, lo, hi int64) string {
	if lo == math.MinInt64 && hi == math.MaxInt64 {
		return strconv.FormatInt(int64(r.Uint64()), 10)
	}
	return strconv.FormatInt(lo+r.Int64N(hi-lo+1), 10)
}

func decimalLit(r *rand.Rand, prec, scale int) string {
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	s := digits(r.IntN(prec - scale + 1))
	if s == "" {
		s = "0"
	}
	if scale > 0 {
		s += "." + digits(scale)
	}
	if r.IntN(2) == 0 {
		s = "-" + s
	}
	return "'" + s + "'"
}

func fracLit(r *rand.Rand, dec int) string {
	if dec == 0 {
		return ""
	}
	return "." + fmt.Sprintf("%06d", r.IntN(1000000))[:dec]
}

func dateLit(r *rand.Rand) string {
	return fmt.Sprintf("%04d-%02d-%02d", 1000+r.IntN(9000), 1+r.IntN(12), 1+r.IntN(28))
}

// uuidLit is a random UUID the server takes (not one of version 8 or
// more with variant 0), some with trailing zero bytes.
func uuidLit(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if b[6]&-b[8]&0x80 != 0 {
		b[6] &^= 0x80
	}
	if r.IntN(4) == 0 {
		b[14], b[15] = 0, 0
	}
	h := hex.EncodeToString(b[:])
	return "'" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:] + "'"
}

// inet6Lit is a random IPv6 address with runs of zero groups, some
// IPv4-mapped or IPv4-compatible.
func inet6Lit(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return "'::ffff:" + inet4Text(r) + "'"
	case 1:
		return "'::" + inet4Text(r) + "'"
	}
	g := make([]string, 8)
	for i := range g {
		switch r.IntN(3) {
		case 0:
			g[i] = "0"
		case 1:
			g[i] = strconv.FormatUint(uint64(r.IntN(16)), 16)
		default:
			g[i] = strconv.FormatUint(uint64(r.Uint32()&0xffff), 16)
		}
	}
	return "'" + strings.Join(g, ":") + "'"
}

func inet4Text(r *rand.Rand) string {
	b := [4]uint32{r.Uint32() & 0xff, r.Uint32() & 0xff, r.Uint32() & 0xff, 0}
	if r.IntN(2) == 0 {
		b[3] = r.Uint32() & 0xff
	}
	return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
}

// cjkLit is random text of CJK ideographs, kana, hangul and ASCII.
func cjkLit(r *rand.Rand, max int) string {
	ranges := [][2]rune{{0x21, 0x7e}, {0x4e00, 0x9fff}, {0x3040, 0x30ff}, {0xff61, 0xff9f}, {0xac00, 0xd7a3}}
	rs := make([]rune, r.IntN(max+1))
	for i := range rs {
		g := ranges[r.IntN(len(ranges))]
		rs[i] = g[0] + rune(r.IntN(int(g[1]-g[0]+1)))
	}
	return "CONVERT(X'" + hex.EncodeToString([]byte(string(rs))) + "' USING utf8mb4)"
}

func clockLit(r *rand.Rand) string {
	return fmt.Sprintf("%02d:%02d:%02d", r.IntN(24), r.IntN(60), r.IntN(60))
}

// imageColumns covers every type the image decoder takes.
func imageColumns() []imageColumn {
	integer := func(name, typ string, lo, hi int64) imageColumn {
		return imageColumn{name, typ, []string{strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10), "0"},
			func(r *rand.Rand) string { return intLit(r, lo, hi) }}
	}
	decimal := func(name string, prec, scale int) imageColumn {
		max := strings.Repeat("9", prec-scale)
		if scale > 0 {
			max += "." + strings.Repeat("9", scale)
		}
		if prec == scale {
			max = "0" + max
		}
		return imageColumn{name, fmt.Sprintf("DECIMAL(%d,%d)", prec, scale), []string{quoted(max), quoted("-" + max), "0", "'-0'"},
			func(r *rand.Rand) string { return decimalLit(r, prec, scale) }}
	}
	datetime := func(name string, dec int) imageColumn {
		return imageColumn{name, fmt.Sprintf("DATETIME(%d)", dec),
			[]string{"'0000-00-00 00:00:00'", "'1000-01-01 00:00:00.000001'", "'9999-12-31 23:59:59.999999'", "'2024-00-00 00:00:00'"},
			func(r *rand.Rand) string { return "'" + dateLit(r) + " " + clockLit(r) + fracLit(r, dec) + "'" }}
	}
	timestamp := func(name string, dec int) imageColumn {
		return imageColumn{name, fmt.Sprintf("TIMESTAMP(%d) NULL", dec),
			[]string{"'0000-00-00 00:00:00'", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999999'"},
			func(r *rand.Rand) string {
				t := time.Unix(1+r.Int64N(1<<31-2), 0).UTC()
				return "'" + t.Format("2006-01-02 15:04:05") + fracLit(r, dec) + "'"
			}}
	}
	clock := func(name string, dec int) imageColumn {
		return imageColumn{name, fmt.Sprintf("TIME(%d)", dec),
			[]string{"'-838:59:59'", "'838:59:59'", "'00:00:00'", "'-00:00:00.01'", "'-00:00:01.5'", "'-12:00:00.000001'", "'00:00:00.999999'"},
			func(r *rand.Rand) string {
				sign := ""
				if r.IntN(2) == 0 {
					sign = "-"
				}
				return fmt.Sprintf("'%s%d:%02d:%02d%s'", sign, r.IntN(839), r.IntN(60), r.IntN(60), fracLit(r, dec))
			}}
	}
	text := func(name, typ string, max int, edges ...string) imageColumn {
		return imageColumn{name, typ, append([]string{"''"}, edges...), func(r *rand.Rand) string { return textLit(r, max) }}
	}
	binary := func(name, typ string, max int) imageColumn {
		return imageColumn{name, typ, []string{"''", "X'00'", "X'FF00FF'"}, func(r *rand.Rand) string { return hexLit(r, max) }}
	}
	var members, bigSet []string
	for i := 1; i <= 300; i++ {
		members = append(members, fmt.Sprintf("'m%03d'", i))
	}
	for i := 1; i <= 64; i++ {
		bigSet = append(bigSet, fmt.Sprintf("'s%02d'", i))
	}
	bits := func(name string, n int) imageColumn {
		max := uint64(1)<<n - 1
		if n == 64 {
			max = ^uint64(0)
		}
		return imageColumn{name, fmt.Sprintf("BIT(%d)", n), []string{"0", strconv.FormatUint(max, 10)},
			func(r *rand.Rand) string { return strconv.FormatUint(r.Uint64()&max, 10) }}
	}
	return []imageColumn{
		integer("ti", "TINYINT", -128, 127), integer("tu", "TINYINT UNSIGNED", 0, 255),
		integer("si", "SMALLINT", -32768, 32767), integer("su", "SMALLINT UNSIGNED", 0, 65535),
		integer("mi", "MEDIUMINT", -8388608, 8388607), integer("mu", "MEDIUMINT UNSIGNED", 0, 16777215),
		integer("i", "INT", -2147483648, 2147483647), integer("iu", "INT UNSIGNED", 0, 4294967295),
		integer("bi", "BIGINT", -9223372036854775808, 9223372036854775807),
		{"bu", "BIGINT UNSIGNED", []string{"0", "18446744073709551615", "9223372036854775808"},
			func(r *rand.Rand) string { return strconv.FormatUint(r.Uint64(), 10) }},
		{"f", "FLOAT", []string{"0", "-1.17549435e-38", "3.40282e38", "1.2345678"},
			func(r *rand.Rand) string { return strconv.FormatFloat(float64(r.Float32()*2e6-1e6), 'g', -1, 32) }},
		{"d", "DOUBLE", []string{"0", "2.2250738585072014e-308", "-1.7976931348623157e308", "0.1"},
			func(r *rand.Rand) string { return strconv.FormatFloat(r.NormFloat64()*1e10, 'g', -1, 64) }},
		decimal("dec1", 30, 10), decimal("dec2", 5, 0), decimal("dec3", 12, 4), decimal("dec4", 65, 30),
		decimal("dec5", 9, 9), decimal("dec6", 18, 9), decimal("dec7", 1, 0), decimal("dec8", 10, 1), decimal("dec9", 38, 38),
		{"dt", "DATE", []string{"'0000-00-00'", "'1000-01-01'", "'9999-12-31'", "'2024-02-29'", "'2024-00-00'"},
			func(r *rand.Rand) string { return "'" + dateLit(r) + "'" }},
		datetime("dtm", 0), datetime("dtm1", 1), datetime("dtm2", 2), datetime("dtm3", 3), datetime("dtm5", 5), datetime("dtm6", 6),
		timestamp("ts", 0), timestamp("ts2", 2), timestamp("ts4", 4), timestamp("ts6", 6),
		clock("tm", 0), clock("tm1", 1), clock("tm2", 2), clock("tm3", 3), clock("tm4", 4), clock("tm5", 5), clock("tm6", 6),
		{"y", "YEAR", []string{"0", "1901", "2155"}, func(r *rand.Rand) string { return intLit(r, 1901, 2155) }},
		text("c", "CHAR(5)", 5, "'😀😀😀😀😀'"), text("c255", "CHAR(255)", 255), text("vc", "VARCHAR(300)", 300, "REPEAT('é', 300)"),
		text("va", "VARCHAR(10) CHARACTER SET ascii", 0, "'abc'"), text("u3", "VARCHAR(20) CHARACTER SET utf8mb3", 20),
		text("tx", "TINYTEXT", 60), text("tt", "TEXT", 3000, "REPEAT('€', 3000)"), text("mt", "MEDIUMTEXT", 5000),
		text("lt", "LONGTEXT", 100),
		{"js", "JSON", []string{`'{"a": [1, 2.50, "x"]}'`, "'[]'"}, func(r *rand.Rand) string { return fmt.Sprintf(`'{"k": %d}'`, r.IntN(1000)) }},
		binary("bin", "BINARY(3)", 3), binary("vb", "VARBINARY(10)", 10), binary("vbl", "VARBINARY(1000)", 1000),
		binary("tb", "TINYBLOB", 255), binary("bl", "BLOB", 5000), binary("mb", "MEDIUMBLOB", 300), binary("lb", "LONGBLOB", 300),
		{"e", "ENUM('red','green','blue')", []string{"'red'", "'blue'", "''"},
			func(r *rand.Rand) string { return []string{"'red'", "'green'", "'blue'"}[r.IntN(3)] }},
		{"e2", "ENUM(" + strings.Join(members, ",") + ")", []string{"'m001'", "'m300'", "''"},
			func(r *rand.Rand) string { return members[r.IntN(len(members))] }},
		{"st", "SET('a','b','c')", []string{"''", "'a,b,c'", "'c'"},
			func(r *rand.Rand) string { return []string{"'a'", "'a,c'", "'b,c'", "''"}[r.IntN(4)] }},
		{"st64", "SET(" + strings.Join(bigSet, ",") + ")", []string{"''", "'s64'", "'s01,s33,s64'"},
			func(r *rand.Rand) string { return strconv.FormatUint(r.Uint64(), 10) }},
		binary("l1", "VARCHAR(20) CHARACTER SET latin1", 20), binary("lc", "CHAR(10) CHARACTER SET latin1", 10),
		text("lx", "TEXT CHARACTER SET latin1", 2000, "'café €'"), binary("cy", "VARCHAR(20) CHARACTER SET cp1251", 20),
		binary("ko", "CHAR(8) CHARACTER SET koi8r", 8), text("w16", "VARCHAR(10) CHARACTER SET utf16", 10),
		text("w32", "TEXT CHARACTER SET utf32", 40), text("w2", "CHAR(6) CHARACTER SET ucs2", 6),
		{"gk", "VARCHAR(20) CHARACTER SET gbk", []string{"''", "'漢字'"}, func(r *rand.Rand) string { return cjkLit(r, 20) }},
		{"sj", "TEXT CHARACTER SET sjis", []string{"''", "'ｶﾀｶﾅ\\~'"}, func(r *rand.Rand) string { return cjkLit(r, 30) }},
		{"uj", "CHAR(5) CHARACTER SET ujis", []string{"'丂'"}, func(r *rand.Rand) string { return cjkLit(r, 5) }},
		{"el", "ENUM('café','naïve','ü') CHARACTER SET latin1", []string{"'café'", "''"},
			func(r *rand.Rand) string { return []string{"'café'", "'naïve'", "'ü'"}[r.IntN(3)] }},
		{"sc", "SET('щука','рыба') CHARACTER SET cp1251", []string{"'щука,рыба'", "''"},
			func(r *rand.Rand) string {
				return []string{"'щука'", "'рыба'", "'щука,рыба'"}[r.IntN(3)]
			}},
		bits("b1", 1), bits("b7", 7), bits("b12", 12), bits("b33", 33), bits("b64", 64),
		{"gm", "GEOMETRY", []string{"ST_GeomFromText('POINT(1 2)', 4326)", "ST_GeomFromText('GEOMETRYCOLLECTION EMPTY')"},
			func(r *rand.Rand) string {
				return fmt.Sprintf("ST_GeomFromText('LINESTRING(%g %g, %g %g)', %d)", r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.IntN(5000))
			}},
		{"pt", "POINT", []string{"ST_GeomFromText('POINT(0 0)')"},
			func(r *rand.Rand) string {
				return fmt.Sprintf("POINT(%g, %g)", r.Float64()*360-180, r.Float64()*180-90)
			}},
		{"uu", "UUID", []string{"'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
			"'6ccd780c-baba-1026-9564-5b8c656024db'", "'123e4567-e89b-42d3-a456-426614174000'"}, uuidLit},
		{"i6", "INET6", []string{"'::'", "'::1'", "'::ffff:1.2.3.4'", "'::1.2.3.4'", "'1:0:2:0:0:3:0:0'", "'2001:db8::'",
			"'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'", "'::0.1.0.0'", "'0:0:0:0:0:1:0:0'", "'1::'"}, inet6Lit},
		{"i4", "INET4", []string{"'0.0.0.0'", "'255.255.255.255'", "'10.0.0.0'"},
			func(r *rand.Rand) string { return "'" + inet4Text(r) + "'" }},
		binary("b16", "BINARY(16)", 16), binary("b4", "BINARY(4)", 4),
	}
}

// imageRowValues returns the SQL values of n rows from id: first each
// column's edges (the rest random), then random rows, some NULLs.
func imageRowValues(cols []imageColumn, r *rand.Rand, id, n int) []string {
	var rows []string
	for k := range n {
		vals := []string{strconv.Itoa(id + k)}
		for _, c := range cols {
			switch {
			case k < len(c.edges):
				vals = append(vals, c.edges[k])
			case k == len(cols)+3 || r.IntN(10) == 0:
				vals = append(vals, "NULL")
			default:
				vals = append(vals, c.gen(r))
			}
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	return rows
}

// TestImageDecoderIsBinlogRow reads a real server's rows events of every
// type the image decoder takes, with their edge values, random values
// and NULLs, in inserts (one row and many), updates and deletes, with
// both decoders: the image decoder must take every event and give the
// values go-mysql's decoding and binlogRow give.
func TestImageDecoderIsBinlogRow(t *testing.T) {
	db := server.NewDatabase(t)
	cols := imageColumns()
	var small []imageColumn // for events of many rows
	for _, c := range cols {
		switch c.name {
		case "ti", "i", "bu", "d", "dec3", "dt", "dtm3", "ts2", "tm2", "va", "e", "st", "b12", "pt":
			small = append(small, c)
		}
	}
	create := func(name string, cols []imageColumn) (string, []string) {
		defs, names := []string{"id INT PRIMARY KEY"}, []string{}
		for _, c := range cols {
			defs = append(defs, c.name+" "+c.typ)
			names = append(names, c.name)
		}
		return "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")", names
	}
	imDDL, names := create("im", cols)
	smDDL, _ := create("sm", small)
	server.Exec(t, db, imDDL, smDDL, "CREATE TABLE src LIKE im")
	cfg := config(db, "im", "sm")
	cfg.SnapshotMode = SnapshotNever
	s := open(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := server.Open(t, db)
	from, err := binlogEnd(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 300
	rows := imageRowValues(cols, r, 1, n)
	set := make([]string, len(names))
	for i, name := range names {
		set[i] = "im." + name + " = src." + name
	}
	session := "SET sql_mode = '', time_zone = '+00:00'; "
	server.Exec(t, db, session+"INSERT INTO im VALUES "+rows[0],
		session+"INSERT INTO im VALUES "+strings.Join(rows[1:], ", "),
		session+"INSERT INTO src VALUES "+strings.Join(imageRowValues(cols, r, 1, n), ", "),
		session+"UPDATE im JOIN src USING (id) SET "+strings.Join(set, ", "),
		session+"UPDATE im SET ti = 1 WHERE id = 7",
		session+"DELETE FROM im WHERE id % 3 = 0",
		session+"INSERT INTO im SELECT id + 100000, "+strings.Join(names, ", ")+" FROM im",
		session+"INSERT INTO sm VALUES "+strings.Join(imageRowValues(small, r, 1, 3000), ", "),
		session+"UPDATE sm SET i = i + 1, dtm3 = NULL WHERE id % 2 = 0",
		session+"DELETE FROM sm")
	end, err := binlogEnd(ctx, c)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	decoded, images, most := 0, 0, 0
	d := newImageDecoder(s.selected(), s.charset, func(t table) (map[string]kind, error) { return s.fixedBinColumns(ctx, t) })
	compare := func(e *replication.RowsEvent, data []byte) error {
		pos, err := e.DecodeHeader(data)
		if err != nil || !d.selected[table{string(e.Table.Schema), string(e.Table.Table)}] {
			return err
		}
		var im *imageRows
		ok := false
		p := d.plan(e.TableID, e.Table)
		if p.ok() != nil && plainRowsEvent(e) {
			im, ok = p.decode(e, data[pos:], &d.text)
		}
		if err := e.DecodeData(pos, data); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if !ok {
			t.Errorf("a %s event of %d rows of %s was not decoded", e.Type(), len(e.Rows), e.Table.Table)
			return nil
		}
		decoded++
		most = max(most, len(im.images))
		if len(im.images) != len(e.Rows) {
			t.Errorf("%d images, go-mysql decoded %d", len(im.images), len(e.Rows))
			return nil
		}
		bt, err := tableOf(e.Table, s.charset)
		if err != nil {
			return err
		}
		if string(e.Table.Table) == "im" {
			got := map[string]kind{}
			for i, k := range p.alias {
				if k != 0 {
					got[bt.cols[i].name] = k
				}
			}
			if len(got) != 3 || got["uu"] != kUUID || got["i6"] != kInet6 || got["i4"] != kInet4 {
				t.Errorf("the fixed-size binary columns of im are %v", got)
			}
		}
		bt.setFixedBin(p.alias)
		rel := testRelation(t, bt, s.charset)
		for i, raw := range e.Rows {
			images++
			want := make([]runtime.Value, len(rel.cols))
			if err := rel.binlogRow(bt, raw, want); err != nil {
				t.Errorf("binlogRow: %v", err)
				continue
			}
			for j, w := range want {
				g := im.images[i][j]
				if show(g) != show(w) || g.Kind() != w.Kind() {
					t.Errorf("%s row %v, column %s (%v): image decoder %s, binlogRow %s", e.Type(), raw[0], rel.cols[j].name, raw[j], show(g), show(w))
				}
			}
		}
		return nil
	}
	readBinlog(t, ctx, s, from, end, compare, nil)
	if decoded == 0 || images < 2*n+9000 || most <= rowChunk {
		t.Errorf("decoded %d events of im and sm (%d images, %d at most in one)", decoded, images, most)
	}
	t.Logf("%d events of im and sm decoded, %d images compared, %d at most in one", decoded, images, most)
}

// testRelation is the relation of bt (relationOf without a source).
func testRelation(t *testing.T, bt *binlogTable, charsets *serverCharsets) *relation {
	cols := make([]column, len(bt.cols))
	for i := range bt.cols {
		k, cs, err := kindOfBinlog(&bt.cols[i], charsets)
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = column{name: bt.cols[i].name, kind: k, cs: cs}
	}
	return newRelation(bt.t, cols, nil)
}

// readBinlog reads the binlog from from to end with s's syncer settings
// and decode as the rows events' decoder, handing each event to each
// (when not nil).
func readBinlog(t testing.TB, ctx context.Context, s *Source, from, end token, decode func(*replication.RowsEvent, []byte) error,
	each func(*replication.BinlogEvent)) {
	t.Helper()
	cfg, err := s.syncerConfig(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServerID = uint32(serverIDs())
	cfg.RowsEventDecodeFunc = decode
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	st, err := syncer.StartSync(gomysql.Position{Name: from.file, Pos: from.pos})
	if err != nil {
		t.Fatal(err)
	}
	file := from.file
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if re, ok := ev.Event.(*replication.RotateEvent); ok {
			file = string(re.NextLogName)
			continue
		}
		if each != nil {
			each(ev)
		}
		if file == end.file && ev.Header.LogPos >= end.pos || file > end.file {
			return
		}
	}
}

// TestPlainRowsEventReadsGoMySQLsEventType pins the unexported field the
// image decoder reads go-mysql's event type from.
func TestPlainRowsEventReadsGoMySQLsEventType(t *testing.T) {
	if rowsEventType == nil {
		t.Fatal("go-mysql's RowsEvent has no eventType field of type EventType: no event is decoded by images")
	}
}

// imageFuzzTemplates are a real server's binlog events the fuzz target
// builds its rows events from: the format description, a table map of
// many types, and one rows event of each type (its bytes up to the rows,
// its checksum) with its rows as seeds.
type imageFuzzTemplates struct {
	charsets *serverCharsets
	fixedBin map[string]kind // the catalog's fixed-size binary columns
	fde, tm  []byte
	heads    [3][]byte // write, update, delete: header to the rows
	sums     [3][]byte
	seeds    [][2][]byte // kind, rows
}

var (
	fuzzTemplatesOnce sync.Once
	fuzzTemplates     *imageFuzzTemplates
)

func loadImageFuzzTemplates(t testing.TB) *imageFuzzTemplates {
	fuzzTemplatesOnce.Do(func() { fuzzTemplates = captureImageFuzzTemplates(t) })
	if fuzzTemplates == nil {
		t.Fatal("the fuzz templates could not be captured (see the first failure)")
	}
	return fuzzTemplates
}

func captureImageFuzzTemplates(t testing.TB) *imageFuzzTemplates {
	db := server.NewDatabase(t)
	var cols []imageColumn
	for _, c := range imageColumns() {
		switch c.name {
		case "ti", "tu", "mi", "bu", "f", "d", "dec1", "dec4", "dec5", "dec7", "dt", "dtm", "dtm1", "dtm6", "ts", "ts2", "ts6",
			"tm", "tm2", "tm4", "tm6", "y", "c", "c255", "vc", "tt", "bin", "tb", "bl", "e", "e2", "st", "st64", "b1", "b12", "b64",
			"gm", "l1", "lx", "cy", "w16", "w32", "gk", "uj", "el", "sc", "uu", "i6", "i4", "b16":
			cols = append(cols, c)
		}
	}
	defs := []string{"id INT PRIMARY KEY"}
	for _, c := range cols {
		defs = append(defs, c.name+" "+c.typ)
	}
	server.Exec(t, db, "CREATE TABLE fz ("+strings.Join(defs, ", ")+")")
	cfg := config(db, "fz")
	cfg.SnapshotMode = SnapshotNever
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if s.db, err = s.openDB(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.db.Close()
	if s.charset, err = charsets(ctx, s.db); err != nil {
		t.Fatal(err)
	}
	from, err := binlogEnd(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	session := "SET sql_mode = '', time_zone = '+00:00'; "
	server.Exec(t, db, session+"INSERT INTO fz VALUES "+strings.Join(imageRowValues(cols, r, 1, 8), ", "),
		session+"UPDATE fz SET ti = ti + 1, dtm6 = NULL WHERE id < 4",
		session+"DELETE FROM fz WHERE id > 5")
	end, err := binlogEnd(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	ft := &imageFuzzTemplates{charsets: s.charset}
	for _, name := range []string{"gbk", "ujis"} {
		if _, err := s.charset.wideCharset(name); err != nil { // read before s.db closes
			t.Fatal(err)
		}
	}
	if ft.fixedBin, err = s.fixedBinColumns(ctx, table{db, "fz"}); err != nil || len(ft.fixedBin) != 3 {
		t.Fatalf("fixed-size binary columns of fz: %v %v", ft.fixedBin, err)
	}
	var mu sync.Mutex
	rowsAt := map[*replication.RowsEvent]int{} // where the rows start
	decode := func(e *replication.RowsEvent, data []byte) error {
		pos, err := e.DecodeHeader(data)
		mu.Lock()
		rowsAt[e] = pos
		mu.Unlock()
		return err
	}
	readBinlog(t, ctx, s, from, end, decode, func(ev *replication.BinlogEvent) {
		switch e := ev.Event.(type) {
		case *replication.FormatDescriptionEvent:
			ft.fde = ev.RawData
		case *replication.TableMapEvent:
			if string(e.Table) == "fz" {
				ft.tm = ev.RawData
			}
		case *replication.RowsEvent:
			if string(e.Table.Table) != "fz" {
				break
			}
			k := int(e.Type()) - 1
			raw := ev.RawData
			mu.Lock()
			last := rowsAt[e]
			mu.Unlock()
			head, rows, sum := raw[:replication.EventHeaderSize+last], raw[replication.EventHeaderSize+last:len(raw)-4], raw[len(raw)-4:]
			ft.heads[k], ft.sums[k] = head, sum
			ft.seeds = append(ft.seeds, [2][]byte{{byte(k)}, rows})
		}
	})
	if ft.fde == nil || ft.tm == nil || ft.heads[0] == nil || ft.heads[1] == nil || ft.heads[2] == nil {
		t.Fatalf("the binlog from %s to %s lacks a format description, table map or rows event of each type", from, end)
	}
	return ft
}

// FuzzImageDecoder decodes rows events of a table of many types, their
// rows mutated, with the image decoder and with go-mysql and binlogRow:
// the image decoder must never panic, and when it takes an event,
// go-mysql and binlogRow must take it too and give the same values.
// The seeds are a real server's events (captured at the start).
func FuzzImageDecoder(f *testing.F) {
	ft := loadImageFuzzTemplates(f)
	for _, s := range ft.seeds {
		f.Add(s[0][0], s[1])
	}
	f.Fuzz(func(t *testing.T, evType byte, rows []byte) {
		// A server writes events of 8 KB of rows; and go-mysql formats
		// every row it read (%#v) into the error of an event it fails on,
		// which takes seconds for megabytes.
		rows = rows[:min(len(rows), 1<<14)]
		k := int(evType % 3)
		p := replication.NewBinlogParser()
		p.SetFlavor(gomysql.MariaDBFlavor)
		p.SetTimestampStringLocation(time.UTC)
		for _, raw := range [][]byte{ft.fde, ft.tm} {
			if _, err := p.Parse(raw); err != nil {
				t.Fatal(err)
			}
		}
		head := ft.heads[k]
		raw := append(append(append([]byte(nil), head...), rows...), ft.sums[k]...)
		binaryPutUint32(raw[9:], uint32(len(raw))) // the header's event size
		var checked bool
		p.SetRowsEventDecodeFunc(func(e *replication.RowsEvent, data []byte) error {
			pos, err := e.DecodeHeader(data)
			if err != nil {
				return err
			}
			d := newImageDecoder(map[table]bool{{string(e.Table.Schema), string(e.Table.Table)}: true}, ft.charsets,
				func(table) (map[string]kind, error) { return ft.fixedBin, nil })
			if d.planOf(e.TableID, e.Table) == nil || !plainRowsEvent(e) {
				t.Fatal("the table's events are not planned")
			}
			// The decoder's own entry point, then go-mysql's on an event
			// header of its own (DecodeData's rows are left in e).
			if err := d.decode(e, data); err != nil {
				return err
			}
			im := d.take(e)
			ok := im.decoded
			e.Rows = nil
			theirs := e.DecodeData(pos, data)
			if !ok {
				return nil
			}
			checked = true
			if theirs != nil {
				t.Fatalf("the image decoder took rows go-mysql fails on: %v", theirs)
			}
			if len(im.images) != len(e.Rows) {
				t.Fatalf("%d images, go-mysql decoded %d", len(im.images), len(e.Rows))
			}
			bt, err := tableOf(e.Table, ft.charsets)
			if err != nil {
				return err
			}
			bt.setFixedBin(im.alias)
			rel := testRelation(t, bt, ft.charsets)
			for i, raw := range e.Rows {
				want := make([]runtime.Value, len(rel.cols))
				if err := rel.binlogRow(bt, raw, want); err != nil {
					t.Fatalf("the image decoder took a row binlogRow fails on: %v", err)
				}
				for j, w := range want {
					if g := im.images[i][j]; show(g) != show(w) || g.Kind() != w.Kind() {
						t.Fatalf("row %d, column %s (%#v): image decoder %s, binlogRow %s", i, rel.cols[j].name, raw[j], show(g), show(w))
					}
				}
			}
			return nil
		})
		_, _ = p.Parse(raw)
		for _, s := range ft.seeds {
			if int(s[0][0]) == k && bytes.Equal(s[1], rows) && !checked {
				t.Fatal("the image decoder left a real server's event to go-mysql")
			}
		}
	})
}

func binaryPutUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// TestCompressedRowsEventsAreLeftToGoMySQL has a server compress its
// rows events (MariaDB's log_bin_compress) after the source started (it
// refuses to start on such a server): the image decoder must leave them
// to go-mysql, which decompresses them, and the stream's values must be
// the snapshot's.
func TestCompressedRowsEventsAreLeftToGoMySQL(t *testing.T) {
	srv := mysqltest.New(t, mysqltest.Options{})
	const db = "zdb"
	srv.Exec(t, "", "CREATE DATABASE "+db)
	var cols []imageColumn
	for _, c := range imageColumns() {
		switch c.name {
		case "ti", "bu", "d", "dec3", "dtm6", "ts2", "tm4", "c255", "tt", "bl", "e2", "st64", "b64",
			"uu", "i6", "i4", "w16", "gk", "el":
			cols = append(cols, c)
		}
	}
	defs := []string{"id INT PRIMARY KEY"}
	for _, c := range cols {
		defs = append(defs, c.name+" "+c.typ)
	}
	srv.Exec(t, db, "CREATE TABLE z ("+strings.Join(defs, ", ")+")")
	r := rand.New(rand.NewPCG(5, 6))
	rows := imageRowValues(cols, r, 1, 40)
	session := "SET sql_mode = '', time_zone = '+00:00'; "
	srv.Exec(t, db, session+"INSERT INTO z VALUES "+strings.Join(rows, ", "))
	cfg := Config{Host: "127.0.0.1", Port: srv.Port, User: mysqltest.Superuser, Password: srv.Password, ServerID: serverIDs(),
		Tables: []string{db + ".z"}, TLS: TLSConfig{Mode: "disable"}}
	s := open(t, cfg, nil)
	snap := read(t, s, len(rows))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	from, err := binlogEnd(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	srv.Exec(t, "", "SET GLOBAL log_bin_compress = ON, GLOBAL log_bin_compress_min_len = 10")
	srv.Exec(t, db, session+"INSERT INTO z SELECT id + 1000, "+strings.Join(func() []string {
		var names []string
		for _, c := range cols {
			names = append(names, c.name)
		}
		return names
	}(), ", ")+" FROM z")
	stream := map[int64][]runtime.Value{}
	for _, rec := range read(t, s, len(rows)) {
		stream[rec.After[0].AsInt()-1000] = rec.After
	}
	for _, rec := range snap {
		a, b := rec.After, stream[rec.After[0].AsInt()]
		if len(b) != len(a) {
			t.Errorf("row %s: not streamed", show(a[0]))
			continue
		}
		for j := 1; j < len(a); j++ {
			if show(a[j]) != show(b[j]) {
				t.Errorf("row %s, %s: snapshot %s, stream %s", show(a[0]), rec.Schema.Fields[j].Name, show(a[j]), show(b[j]))
			}
		}
	}
	end, err := binlogEnd(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	compressed := 0
	readBinlog(t, ctx, s, from, end, func(e *replication.RowsEvent, data []byte) error {
		if _, err := e.DecodeHeader(data); err != nil {
			return err
		}
		if string(e.Table.Table) == "z" {
			if plainRowsEvent(e) {
				t.Errorf("a rows event of the compressing server is taken as plain")
			}
			compressed++
		}
		return nil
	}, nil)
	if compressed == 0 {
		t.Error("no rows event of z was read")
	}
}
