package s3sink

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"
)

// TestAvroReadBackByTwmbAvro reads the sink's Avro object container files
// with a second decoder, github.com/twmb/avro (the sink encodes with its
// own code and hamba/avro's schema parser; linkedin/goavro, the other
// candidate, cannot read the zstandard codec), and checks the writer
// schema in the header (types, nullable unions, the timestamp-millis
// logical type of _event_time), the codec, the row counts and every
// value, across rotated objects and across the blocks of a large object.
func TestAvroReadBackByTwmbAvro(t *testing.T) {
	readBack(t, FormatAvro, checkAvro)
}

// avroFields is the writer schema the sink's rich objects must carry, one
// field each, as avroType renders it.
var avroFields = []string{
	"id:long", "n:[null,long]", "x:double", "name:[null,string]", "flag:[null,boolean]",
	"blob:string", "ts:[null,string]", "day:string", "amount:string",
	"address:[null,{city:string,zip:[null,long]}]", "tags:array<string>", "attrs:[null,string]",
	"extra:[null,string]", "mixed:array<[null,string]>",
	"_event_type:string", "_event_time:long/timestamp-millis",
}

// avroType renders n compactly: a record as {name:type,…}, a union as
// [a,b], an array as array<item>, a logical type after a slash.
func avroType(n *avro.SchemaNode) string {
	var b strings.Builder
	switch n.Type {
	case "record":
		b.WriteByte('{')
		for i, f := range n.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Name + ":" + avroType(&f.Type))
		}
		b.WriteByte('}')
	case "union":
		b.WriteByte('[')
		for i := range n.Branches {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(avroType(&n.Branches[i]))
		}
		b.WriteByte(']')
	case "array":
		b.WriteString("array<" + avroType(n.Items) + ">")
	default:
		b.WriteString(n.Type)
	}
	if n.LogicalType != "" {
		b.WriteString("/" + n.LogicalType)
	}
	return b.String()
}

// checkAvro checks that data, stored under key, is an Avro OCF of records
// from … end-1 (event times step apart). manyBlocks: it must hold several
// blocks.
func checkAvro(t *testing.T, key string, data []byte, comp string, from, end int, step time.Duration, manyBlocks bool) {
	t.Helper()
	rd, err := ocf.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: twmb/avro cannot open it: %v", key, err)
	}
	defer rd.Close()
	wantCodec := map[string]string{"none": "null", "gzip": "deflate", "zstd": "zstandard", "snappy": "snappy"}[comp]
	if got := string(rd.Metadata()["avro.codec"]); got != wantCodec && (got != "" || wantCodec != "null") {
		t.Errorf("%s: codec %q, want %q", key, got, wantCodec)
	}
	root := rd.Schema().Root()
	if root.Type != "record" || root.Name != "rich" {
		t.Errorf("%s: schema is a %s named %s, want a record named rich", key, root.Type, root.Name)
	}
	var fields []string
	for _, f := range root.Fields {
		fields = append(fields, f.Name+":"+avroType(&f.Type))
	}
	if strings.Join(fields, " ") != strings.Join(avroFields, " ") {
		t.Fatalf("%s: fields\n%s\nwant\n%s", key, strings.Join(fields, "\n"), strings.Join(avroFields, "\n"))
	}
	if manyBlocks {
		// every block ends with the file's sync marker, which the header holds once too
		if blocks := bytes.Count(data, data[len(data)-16:]) - 1; blocks < 3 {
			t.Fatalf("%s: %d blocks: the test does not cover block boundaries", key, blocks)
		}
	}
	i := from
	for ; ; i++ {
		var v any
		err := rd.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: record %d: %v", key, i, err)
		}
		if i >= end {
			t.Fatalf("%s: more than the %d records it should hold", key, end-from)
		}
		row, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: record %d decodes to %T", key, i, v)
		}
		checkAvroRow(t, key, i, row, richWantOf(i, step))
	}
	if i != end {
		t.Fatalf("%s: %d records, want %d", key, i-from, end-from)
	}
}

func checkAvroRow(t *testing.T, key string, i int, row map[string]any, w richWant) {
	t.Helper()
	bad := func(name string, want any) {
		t.Fatalf("%s: record %d, field %s = %#v, want %#v", key, i, name, row[name], want)
	}
	if len(row) != len(avroFields) {
		t.Fatalf("%s: record %d has %d fields, want %d: %v", key, i, len(row), len(avroFields), row)
	}
	if row["id"] != w.id {
		bad("id", w.id)
	}
	if w.n == nil && row["n"] != nil || w.n != nil && row["n"] != *w.n {
		bad("n", w.n)
	}
	if x, ok := row["x"].(float64); !ok || !sameFloat(x, w.x) {
		bad("x", w.x)
	}
	if w.name == nil && row["name"] != nil || w.name != nil && row["name"] != *w.name {
		bad("name", w.name)
	}
	if w.flag == nil && row["flag"] != nil || w.flag != nil && row["flag"] != *w.flag {
		bad("flag", w.flag)
	}
	for name, want := range map[string]string{"blob": w.blob, "day": w.day, "amount": w.amount, "_event_type": w.op} {
		if row[name] != want {
			bad(name, want)
		}
	}
	if w.ts == nil && row["ts"] != nil || w.ts != nil && row["ts"] != *w.ts {
		bad("ts", w.ts)
	}
	// a closed object is a nested record
	if w.address == nil {
		if row["address"] != nil {
			bad("address", nil)
		}
	} else if a, ok := row["address"].(map[string]any); !ok || len(a) != 2 || a["city"] != w.address["city"] || a["zip"] != w.address["zip"] {
		bad("address", w.address)
	}
	// an array of strings is an Avro array
	if tags, ok := row["tags"].([]any); !ok || len(tags) != len(w.tags) {
		bad("tags", w.tags)
	} else {
		for k := range tags {
			if tags[k] != w.tags[k] {
				bad("tags", w.tags)
			}
		}
	}
	// values of type any and open objects are their JSON text
	if w.attrs == nil && row["attrs"] != nil || w.attrs != nil && !isJSON(row["attrs"], w.attrs) {
		bad("attrs", w.attrs)
	}
	if w.extra == nil && row["extra"] != nil || w.extra != nil && !isJSON(row["extra"], w.extra) {
		bad("extra", w.extra)
	}
	// elements of type any: each its JSON text, null a null
	if m, ok := row["mixed"].([]any); !ok || len(m) != len(w.mixed) {
		bad("mixed", w.mixed)
	} else {
		for k := range m {
			if w.mixed[k] == nil && m[k] != nil || w.mixed[k] != nil && !isJSON(m[k], w.mixed[k]) {
				bad("mixed", w.mixed)
			}
		}
	}
	// timestamp-millis: the event time to the millisecond, in UTC
	if ts, ok := row["_event_time"].(time.Time); !ok || ts.UnixMilli() != w.timeMs || ts.Nanosecond()%int(time.Millisecond) != 0 || ts.Location() != time.UTC {
		bad("_event_time", time.UnixMilli(w.timeMs).UTC())
	}
}
