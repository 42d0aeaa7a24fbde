package schemas_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// sample returns the schema and n rows (After, or Before for deletes) of
// datagen cfg with a fixed seed and clock.
func sample(t testing.TB, cfg datagen.Config, n int) (*runtime.Schema, [][]runtime.Value) {
	t.Helper()
	cfg.Seed, cfg.HasSeed = 7, true
	src, err := datagen.New(cfg, func() time.Time { return fixedNow })
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]runtime.Value
	batch := make([]runtime.Record, 16)
	for len(rows) < n {
		k, err := src.Read(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range batch[:k] {
			rows = append(rows, append([]runtime.Value(nil), r.Row()...))
		}
	}
	return src.Schema(), rows[:n]
}

func customFields() []datagen.CustomField {
	o := runtime.NewObject(2).Set("a", runtime.Int(1)).Set("b", runtime.String("x"))
	return []datagen.CustomField{
		{Name: "env", Value: runtime.String("test")},
		{Name: "nothing", Value: runtime.Null()},
		{Name: "obj", Value: runtime.ObjectValue(o)},
		{Name: "list", Value: runtime.ArrayValue([]runtime.Value{runtime.Float(1.5), runtime.Float(2)})},
		{Name: "mixed", Value: runtime.ArrayValue([]runtime.Value{runtime.Int(1), runtime.String("two"), runtime.Null()})},
		{Name: "empty", Value: runtime.ArrayValue([]runtime.Value{})},
	}
}

func TestAvroRoundTripDatagen(t *testing.T) {
	for _, p := range datagen.Patterns {
		for _, cdc := range []bool{false, true} {
			name := p
			if cdc {
				name += "/cdc"
			}
			t.Run(name, func(t *testing.T) {
				cfg := datagen.Config{Pattern: p, CDCMode: cdc, IncludeSequence: true, IncludeTimestamp: true, CustomFields: customFields()}
				s, rows := sample(t, cfg, 200)
				want, err := datagen.Schema(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if want.Names() == nil || strings.Join(want.Names(), ",") != strings.Join(s.Names(), ",") {
					t.Fatalf("datagen.Schema and Source.Schema differ")
				}
				c, err := schemas.NewAvroCodec(want, p)
				if err != nil {
					t.Fatal(err)
				}
				var buf []byte
				for i, row := range rows {
					buf, err = c.Append(buf[:0], row)
					if err != nil {
						t.Fatalf("row %d: %v", i, err)
					}
					got, err := c.Decode(buf)
					if err != nil {
						t.Fatalf("row %d: decode: %v", i, err)
					}
					for j := range row {
						if !got[j].Equal(row[j]) {
							t.Fatalf("row %d field %s: got %s, want %s", i, want.Fields[j].Name,
								runtime.AppendJSON(nil, got[j]), runtime.AppendJSON(nil, row[j]))
						}
					}
					// hamba must read what we write.
					var generic map[string]any
					if err := avro.Unmarshal(c.Schema(), buf, &generic); err != nil {
						t.Fatalf("row %d: hamba decode: %v", i, err)
					}
					if len(generic) != len(want.Fields) {
						t.Fatalf("row %d: hamba decoded %d fields, want %d", i, len(generic), len(want.Fields))
					}
				}
			})
		}
	}
}

// TestAvroMatchesHamba checks our encoder byte-for-byte against hamba's for
// the orders pattern.
func TestAvroMatchesHamba(t *testing.T) {
	s, rows := sample(t, datagen.Config{Pattern: "orders"}, 50)
	c, err := schemas.NewAvroCodec(s, "orders")
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		m := map[string]any{}
		for j, f := range s.Fields {
			switch v := row[j]; v.Kind() {
			case runtime.KindInt:
				m[f.Name] = v.AsInt()
			case runtime.KindFloat:
				m[f.Name] = v.AsFloat()
			default:
				m[f.Name] = v.AsString()
			}
		}
		want, err := avro.Marshal(c.Schema(), m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Append(nil, row)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("row %d: got %x, want %x", i, got, want)
		}
	}
}

func TestAvroSchemaMetrics(t *testing.T) {
	s, err := datagen.Schema(datagen.Config{Pattern: "metrics", CustomFields: customFields()[1:2]})
	if err != nil {
		t.Fatal(err)
	}
	c, err := schemas.NewAvroCodec(s, "metrics")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"rivven.metrics","type":"record","fields":[` +
		`{"name":"metric_id","type":"long"},{"name":"name","type":"string"},{"name":"value","type":"double"},` +
		`{"name":"unit","type":"string"},{"name":"host","type":"string"},` +
		`{"name":"tags","type":{"name":"rivven.metrics_tags","type":"record","fields":[{"name":"env","type":"string"},{"name":"region","type":"string"}]}},` +
		`{"name":"timestamp","type":"string"},{"name":"nothing","type":["null","string"]}]}`
	if c.Canonical() != want {
		t.Errorf("canonical form\n got %s\nwant %s", c.Canonical(), want)
	}
	again, err := schemas.ParseAvroCanonical(c.Schema().String())
	if err != nil || again != want {
		t.Errorf("ParseAvroCanonical = %q, %v", again, err)
	}
	js, _ := json.Marshal(schemas.AvroSchema(s, "metrics"))
	if !strings.Contains(string(js), `"default":null`) {
		t.Errorf("nullable field lacks default null: %s", js)
	}
}

func TestAvroEncodeErrors(t *testing.T) {
	s := runtime.NewSchema(
		runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "name", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
	)
	c, err := schemas.NewAvroCodec(s, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(nil, []runtime.Value{runtime.Null(), runtime.Null()}); err == nil || !strings.Contains(err.Error(), "field id") {
		t.Errorf("null in required field: err = %v", err)
	}
	if _, err := c.Append(nil, []runtime.Value{runtime.String("x"), runtime.Null()}); err == nil || !strings.Contains(err.Error(), "want int, got string") {
		t.Errorf("wrong kind: err = %v", err)
	}
	buf, err := c.Append(nil, []runtime.Value{runtime.Int(5), runtime.String("abc")})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(buf) {
		if _, err := c.Decode(buf[:n]); err == nil {
			t.Errorf("decode of %d of %d bytes: no error", n, len(buf))
		}
	}
	if _, err := c.Decode(append(buf, 0)); err == nil {
		t.Errorf("trailing byte: no error")
	}
	if _, err := schemas.NewAvroCodec(runtime.NewSchema(runtime.Field{Name: "bad-name", Type: runtime.Type{Kind: runtime.KindInt}}), "t"); err == nil {
		t.Errorf("invalid Avro name: no error")
	}
}

func TestFingerprints(t *testing.T) {
	s, _ := datagen.Schema(datagen.Config{Pattern: "orders"})
	c, err := schemas.NewAvroCodec(s, "orders")
	if err != nil {
		t.Fatal(err)
	}
	fp, err := schemas.AvroFingerprints(c.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if fp.MD5 != md5.Sum([]byte(c.Canonical())) || fp.SHA256 != sha256.Sum256([]byte(c.Canonical())) {
		t.Errorf("digests are not of the canonical form")
	}
	if fp.SHA256 != c.Schema().Fingerprint() {
		t.Errorf("SHA-256 differs from hamba's")
	}
	// Different canonical forms give different CRC-64-AVRO fingerprints.
	prim, err := avro.Parse(`"long"`)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := schemas.AvroFingerprints(prim)
	if err != nil || pf.CRC64 == 0 || pf.CRC64 == fp.CRC64 {
		t.Errorf("CRC64: %x vs %x, %v", pf.CRC64, fp.CRC64, err)
	}
}

func TestWire(t *testing.T) {
	msg := schemas.AppendWireHeader(nil, 0x01020304)
	msg = append(msg, "payload"...)
	if !bytes.Equal(msg[:5], []byte{0, 1, 2, 3, 4}) {
		t.Fatalf("header = %x", msg[:5])
	}
	id, p, err := schemas.SplitWire(msg)
	if err != nil || id != 0x01020304 || string(p) != "payload" {
		t.Fatalf("SplitWire = %d, %q, %v", id, p, err)
	}
	if _, p, err := schemas.SplitWire(msg[:5]); err != nil || len(p) != 0 {
		t.Errorf("empty payload: %q, %v", p, err)
	}
	var we *schemas.WireError
	if _, _, err := schemas.SplitWire(msg[:4]); !errors.As(err, &we) || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("short: %v", err)
	}
	bad := append([]byte{1}, msg[1:]...)
	if _, _, err := schemas.SplitWire(bad); !errors.As(err, &we) || !strings.Contains(err.Error(), "magic byte is 0x01") {
		t.Errorf("bad magic: %v", err)
	}
}

func TestAvroOpenObjectMustBeObject(t *testing.T) {
	s := runtime.NewSchema(runtime.Field{Name: "p", Type: runtime.Type{Kind: runtime.KindObject, Open: true}})
	c, err := schemas.NewAvroCodec(s, "t")
	if err != nil {
		t.Fatal(err)
	}
	// "5" as an Avro string: length 1 (zig-zag 2), then '5'.
	if _, err := c.Decode([]byte{2, '5'}); err == nil || !strings.Contains(err.Error(), "field p: open object holds JSON int") {
		t.Errorf("err = %v", err)
	}
}
