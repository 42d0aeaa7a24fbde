package runtime

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"testing/quick"
	"time"
)

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `quote " and \ backslash`, "tab\tnl\nret\r", "\x00\x1f\x7f",
		"<script>&amp;</script>", "unicode é 世界 🙂", "\u2028\u2029", "bad \xff utf8", "\xed\xa0\x80"}
	check := func(s string) bool {
		want, _ := json.Marshal(s)
		got := AppendJSONString(nil, s)
		return string(got) == string(want)
	}
	for _, s := range cases {
		if !check(s) {
			want, _ := json.Marshal(s)
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, AppendJSONString(nil, s), want)
		}
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
}

func TestAppendJSONFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 100, 123.45, 1e20, 1e21, 1e-6, 1e-7, 5e-324, math.MaxFloat64, -2.5e-9} {
		want, _ := json.Marshal(f)
		if got := AppendJSONFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
	if err := quick.Check(func(f float64) bool {
		want, _ := json.Marshal(f)
		return string(AppendJSONFloat(nil, f)) == string(want)
	}, nil); err != nil {
		t.Error(err)
	}
	for f, want := range map[float64]string{math.NaN(): `"NaN"`, math.Inf(1): `"Infinity"`, math.Inf(-1): `"-Infinity"`} {
		if got := string(AppendJSONFloat(nil, f)); got != want {
			t.Errorf("AppendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestAppendJSONValues(t *testing.T) {
	o := NewObject(3).Set("b", Int(1)).Set("a", String("x")).Set("gone", Absent())
	v := ArrayValue([]Value{Null(), Bool(true), Int(-7), Float(2.5), ObjectValue(o), ArrayValue(nil)})
	got := string(AppendJSON(nil, v))
	want := `[null,true,-7,2.5,{"b":1,"a":"x"},[]]`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var decoded any
	if err := json.Unmarshal([]byte(got), &decoded); err != nil {
		t.Errorf("output is not JSON: %v", err)
	}
	indented := string(AppendJSONIndent(nil, ObjectValue(o), "  ", 0))
	if indented != "{\n  \"b\": 1,\n  \"a\": \"x\"\n}" {
		t.Errorf("indented: %q", indented)
	}
}

func TestSourceEventEnvelope(t *testing.T) {
	s := NewSchema(Field{Name: "id", Type: Type{Kind: KindInt}}, Field{Name: "email", Type: Type{Kind: KindString}})
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("X", 3600))
	upd := &Record{Stream: "users", Namespace: "public", Op: OpUpdate, Schema: s,
		Before: []Value{Int(1), String("a@x")}, After: []Value{Int(1), Absent()}, Time: at,
		Position: Position{Offset: 42}, Meta: NewObject(1).Set("cdc", String("u"))}
	got := string(AppendSourceEvent(nil, upd, true, true))
	want := `{"event_type":"update","stream":"users","namespace":"public","timestamp":"2026-01-02T02:04:05.006Z",` +
		`"data":{"before":{"id":1,"email":"a@x"},"after":{"id":1}},"metadata":{"position":"42","sequence":42,"cdc":"u"}}`
	if got != want {
		t.Errorf("update envelope\n got %s\nwant %s", got, want)
	}
	del := &Record{Stream: "users", Op: OpDelete, Schema: s, Before: []Value{Int(2), String("b@x")}, Time: at}
	got = string(AppendSourceEvent(nil, del, false, false))
	want = `{"event_type":"delete","stream":"users","namespace":null,"data":{"id":2,"email":"b@x"}}`
	if got != want {
		t.Errorf("delete envelope\n got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) || strings.Contains(got, "timestamp") {
		t.Errorf("bad delete envelope %s", got)
	}
}

// TestEnvelopesWriteJSONText: every envelope writes a parsed value's JSON
// text, in rows and in metadata.
func TestEnvelopesWriteJSONText(t *testing.T) {
	const text = `{"a":1,"a":[1.0,1E+2,18446744073709551616,"\ud800"]}`
	j, err := ParseJSON([]byte("{\"a\": 1, \"a\": [1.0, 1E+2,\n18446744073709551616, \"\\ud800\"]}"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := ParseJSON([]byte(`0.1000000000000000000001`))
	s := NewSchema(Field{Name: "j", Type: Any}, Field{Name: "n", Type: Any})
	r := &Record{Stream: "public.t", Op: OpUpdate, Schema: s, Before: []Value{j, n}, After: []Value{j, n},
		Meta: NewObject(1).Set("m", j)}
	row := `{"j":` + text + `,"n":0.1000000000000000000001}`
	for name, got := range map[string]string{
		"source event": string(AppendSourceEvent(nil, r, true, false)),
		"debezium":     string(AppendDebezium(nil, r)),
	} {
		if strings.Count(got, row) != 2 || !strings.Contains(got, `"m":`+text) {
			t.Errorf("%s: %s lacks the exact rows and metadata", name, got)
		}
	}
	if got, want := string(AppendData(nil, &Record{Op: OpInsert, Schema: s, After: []Value{j, n}}, "  ", 0)),
		"{\n  \"j\": {\n    \"a\": 1,\n    \"a\": [\n      1.0,\n      1E+2,\n      18446744073709551616,\n      \"\\ud800\"\n    ]\n  },\n  \"n\": 0.1000000000000000000001\n}"; got != want {
		t.Errorf("indented\n got %s\nwant %s", got, want)
	}
}
