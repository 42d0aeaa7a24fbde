package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseJSON(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`{"b":1,"a":[true,false,null],"c":{"z":"x","y":1.5}}`, `{"b":1,"a":[true,false,null],"c":{"z":"x","y":1.5}}`},
		{" \n[ ]\t", `[]`},
		{`{}`, `{}`},
		// Tokens pass through as written; white space between them goes.
		{" {\n \"a\" : [ 1 , 2.50 ] ,\t\"b\":{ } }\r\n", `{"a":[1,2.50],"b":{}}`},
		{`"\u00e9\ud83d\ude00\n\"\\\/"`, `"\u00e9\ud83d\ude00\n\"\\\/"`},
		{`"\ud800x"`, `"\ud800x"`},
		{`"\u0041"`, `"\u0041"`},
		{`"a\nb"`, `"a\nb"`},
		{`-0`, `-0`},
		{`-0.0`, `-0.0`},
		{`12345678901234567890`, `12345678901234567890`},
		{`-9223372036854775809`, `-9223372036854775809`},
		{`123456789012345678901234567890.5`, `123456789012345678901234567890.5`},
		{`0.1000000000000000000001`, `0.1000000000000000000001`},
		{`1e400`, `1e400`},
		{`-1E-400`, `-1E-400`},
		{`1E2`, `1E2`},
		{`1.0`, `1.0`},
		{`1e-7`, `1e-7`},
		{`{"a":1,"a":2}`, `{"a":1,"a":2}`},
		{`"NaN"`, `"NaN"`},
		// <, >, &, U+2028/9 and invalid UTF-8 inside strings are escaped as
		// AppendJSONString escapes them.
		{`"<&>"`, `"\u003c\u0026\u003e"`},
		{"[\"\u2028\xff\", \"<\"]", `["\u2028\ufffd","\u003c"]`},
	} {
		v, err := ParseJSON([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := string(AppendJSON(nil, v)); got != c.out {
			t.Errorf("%s: got %s, want %s", c.in, got, c.out)
		}
	}
	for _, c := range []struct {
		in   string
		kind Kind
		f    float64
		text string // JSONText, "" for none
	}{
		{`3`, KindInt, 3, ""},
		{`3.0`, KindFloat, 3, "3.0"},
		{`2.5`, KindFloat, 2.5, ""},
		{`1e+21`, KindFloat, 1e21, ""},
		{`1e21`, KindFloat, 1e21, "1e21"},
		{`1E+2`, KindFloat, 100, "1E+2"},
		{`9223372036854775807`, KindInt, 9223372036854775807, ""},
		{`9223372036854775808`, KindFloat, 9223372036854775808, "9223372036854775808"},
		{`123456789012345678901234567890.5`, KindFloat, 1.2345678901234568e29, "123456789012345678901234567890.5"},
		{`0.1000000000000000000001`, KindFloat, 0.1, "0.1000000000000000000001"},
		{`1e400`, KindFloat, math.Inf(1), "1e400"},
		{`-1e400`, KindFloat, math.Inf(-1), "-1e400"},
		{`1e-400`, KindFloat, 0, "1e-400"},
		{`"x"`, KindString, 0, ""},
		{`"\u0078"`, KindString, 0, `"\u0078"`},
		{` [1, 2]`, KindArray, 0, "[1,2]"},
		{`{"a" :1}`, KindObject, 0, `{"a":1}`},
	} {
		v, err := ParseJSON([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		text, ok := v.JSONText()
		if v.Kind() != c.kind || (c.kind == KindInt || c.kind == KindFloat) && v.AsFloat() != c.f || text != c.text || ok != (c.text != "") {
			t.Errorf("%s: got %s %v text %q %v, want %s %v text %q", c.in, v.Kind(), v.AsFloat(), text, ok, c.kind, c.f, c.text)
		}
		if v.Kind() != KindString && v.AsString() != "" {
			t.Errorf("%s: AsString of a %s is %q", c.in, v.Kind(), v.AsString())
		}
	}
	// Invalid JSON, also where dropping white space would join two tokens
	// into one.
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `01`, `1.`, `1e`, `-`, `"a`, "\"\x01\"", `"\x"`, `"\u12"`, `tru`, `nul`, `1 2`, `{1:2}`, strings.Repeat("[", 2000),
		`[1 2]`, `[tru e]`, `[1 .5]`, `[- 1]`, `[1e 5]`, `["a" "b"]`, `{"a" 1}`, `[1,2] 3`, `[nul l]`, "\"a\\\xff\"", "[\"\\", "\"\\\u2028\""} {
		if v, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error, got %s", bad, AppendJSON(nil, v))
		}
	}
	// Errors are reported where they are in the input, white space included.
	for in, off := range map[string]int{`{ "a" : 1 , }`: 12, "[\n1,\n2 3]": 7, "  <": 2} {
		_, err := ParseJSON([]byte(in))
		var se *JSONSyntaxError
		if !errors.As(err, &se) || se.Offset != off {
			t.Errorf("%q: error %v, want one at byte %d", in, err, off)
		}
	}
}

// TestParsedJSONUnderMasks: a value built from a parsed value's parts (an
// object with one field replaced) has no text of its own but its unchanged
// parts keep theirs, and indentation lays out the text as it lays out
// values.
func TestParsedJSONUnderMasks(t *testing.T) {
	v, err := ParseJSON([]byte(`{"a":1,"a":2,"n":[1.0,0.1000000000000000000001,"\ud800"],"o":{"k":1,"k":2},"s":"secret"}`))
	if err != nil {
		t.Fatal(err)
	}
	masked := ObjectValue(v.AsObject().With("s", String("***")))
	if _, ok := masked.JSONText(); ok {
		t.Error("a rebuilt object carries the old text")
	}
	if got, want := string(AppendJSON(nil, masked)), `{"a":2,"n":[1.0,0.1000000000000000000001,"\ud800"],"o":{"k":1,"k":2},"s":"***"}`; got != want {
		t.Errorf("masked\n got %s\nwant %s", got, want)
	}
	if got, want := string(AppendJSON(nil, v)), `{"a":1,"a":2,"n":[1.0,0.1000000000000000000001,"\ud800"],"o":{"k":1,"k":2},"s":"secret"}`; got != want {
		t.Errorf("original\n got %s\nwant %s", got, want)
	}
	if !masked.Equal(ObjectValue(v.AsObject().With("s", String("***")))) || v.Equal(masked) {
		t.Error("Equal compares the wrong things")
	}
	if n := v.AsObject().Values[1].AsArray(); n[1].AsFloat() != 0.1 || !n[0].Equal(Int(1)) {
		t.Errorf("numbers read as %v, %v", n[0].AsFloat(), n[1].AsFloat())
	}
	got := string(AppendJSONIndent(nil, masked, "  ", 1))
	want := "{\n    \"a\": 2,\n    \"n\": [\n      1.0,\n      0.1000000000000000000001,\n      \"\\ud800\"\n    ],\n    \"o\": {\n      \"k\": 1,\n      \"k\": 2\n    },\n    \"s\": \"***\"\n  }"
	if got != want {
		t.Errorf("indented\n got %s\nwant %s", got, want)
	}
}

// TestIndentedJSONTextMatchesEncodingJSON: the indented layout of a parsed
// value is encoding/json's Indent of its text, and that of the same value
// built without text.
func TestIndentedJSONTextMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		v := randomValue(r, 0)
		text := AppendJSON(nil, v)
		p, err := ParseJSON(text)
		if err != nil {
			t.Fatal(err)
		}
		got := string(AppendJSONIndent(nil, p, "  ", 0))
		var want bytes.Buffer
		if err := json.Indent(&want, text, "", "  "); err != nil {
			t.Fatal(err)
		}
		if got != want.String() || got != string(AppendJSONIndent(nil, v, "  ", 0)) {
			t.Fatalf("%s indented\n got %s\nwant %s", text, got, want.String())
		}
	}
}

// randomValue builds a random value of the kinds AppendJSON writes.
func randomValue(r *rand.Rand, depth int) Value {
	k := r.IntN(8)
	if depth > 3 {
		k %= 5
	}
	switch k {
	case 0:
		return Null()
	case 1:
		return Bool(r.IntN(2) == 0)
	case 2:
		return Int(r.Int64() >> r.IntN(64))
	case 3:
		fs := []float64{r.Float64() * 1e6, -r.NormFloat64(), 1e-9, 1e22, 0.1, math.Inf(1), math.NaN(), math.Copysign(0, -1), 5e-324, math.MaxFloat64}
		return Float(fs[r.IntN(len(fs))])
	case 4:
		runes := []rune{'a', 'é', '"', '\\', '\n', '\x01', '<', '\u2028', '😀', ' ', 0xFFFD}
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		return String(b.String())
	case 5, 6:
		o := NewObject(0)
		for i := range r.IntN(5) {
			o.Set(string(rune('a'+i))+"k", randomValue(r, depth+1))
		}
		return ObjectValue(o)
	default:
		a := []Value{}
		for range r.IntN(5) {
			a = append(a, randomValue(r, depth+1))
		}
		return ArrayValue(a)
	}
}

// TestParseJSONRoundTrip: AppendJSON(ParseJSON(AppendJSON(v))) is the same
// text, and encoding/json agrees that the text is valid.
func TestParseJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		text := AppendJSON(nil, randomValue(r, 0))
		v, err := ParseJSON(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got := AppendJSON(nil, v); string(got) != string(text) {
			t.Fatalf("round trip\n got %s\nwant %s", got, text)
		}
		if !json.Valid(text) {
			t.Fatalf("encoding/json says %s is invalid", text)
		}
	}
}

// FuzzParseJSON cross-checks ParseJSON with encoding/json: the same texts
// are valid, the value is the one encoding/json decodes, its JSON is the
// text compacted (and HTML-escaped, as AppendJSONString escapes), and that
// parses to the same text again.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `"\ud83d\ude00"`, `-0.0e-1`, `[{}]`, `1e308`, `{"a" : 1, "a":[ 1E400 ]}`, `"\ud800<"`, "[1 2]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseJSON(b)
		valid := json.Valid(b)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if err != nil {
			if valid && !strings.Contains(err.Error(), "nesting") {
				t.Fatalf("refused valid JSON %q: %v", b, err)
			}
			return
		}
		once := AppendJSON(nil, v)
		if utf8.Valid(b) {
			var want bytes.Buffer
			if err := json.Compact(&want, b); err != nil {
				t.Fatal(err)
			}
			var esc bytes.Buffer
			json.HTMLEscape(&esc, want.Bytes())
			if string(once) != esc.String() {
				t.Fatalf("%q: got %s, want %s", b, once, esc.String())
			}
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var x any
		if err := d.Decode(&x); err != nil {
			t.Fatal(err)
		}
		if !sameAsDecoded(v, x) {
			t.Fatalf("%q: ParseJSON and encoding/json disagree: %s", b, once)
		}
		w, err := ParseJSON(once)
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", once, err)
		}
		if twice := AppendJSON(nil, w); string(twice) != string(once) {
			t.Fatalf("not stable: %s then %s", once, twice)
		}
	})
}

// sameAsDecoded reports whether v is x, what encoding/json (UseNumber)
// decodes from the same text: ints and floats by value (±Inf for numbers
// beyond float64), repeated keys by their last value.
func sameAsDecoded(v Value, x any) bool {
	switch x := x.(type) {
	case nil:
		return v.Kind() == KindNull
	case bool:
		return v.Kind() == KindBool && v.AsBool() == x
	case string:
		return v.Kind() == KindString && v.AsString() == x
	case json.Number:
		if n, err := x.Int64(); err == nil && v.Kind() == KindInt {
			return v.AsInt() == n
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return v.Kind() == KindFloat && v.AsFloat() == f && math.Signbit(v.AsFloat()) == math.Signbit(f)
	case []any:
		a := v.AsArray()
		if v.Kind() != KindArray || len(a) != len(x) {
			return false
		}
		for i := range a {
			if !sameAsDecoded(a[i], x[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		o := v.AsObject()
		if v.Kind() != KindObject || len(o.Keys) != len(x) {
			return false
		}
		for i, k := range o.Keys {
			if !sameAsDecoded(o.Values[i], x[k]) {
				return false
			}
		}
		return true
	}
	return false
}

func TestAppendDebezium(t *testing.T) {
	s := NewSchema(Field{Name: "id"}, Field{Name: "gone"}, Field{Name: "v"})
	tm := time.Date(2026, 1, 2, 3, 4, 5, 7e6, time.UTC)
	meta := NewObject(2).Set("cdc", ObjectValue(NewObject(1).Set("x", Int(1)))).Set("name", String("clash"))
	for _, c := range []struct {
		r    Record
		want string
	}{
		{Record{Stream: "public.users", Op: OpInsert, Schema: s, After: []Value{Int(1), Absent(), String("a")}, Time: tm, Position: Position{Offset: 9}, Meta: meta},
			`{"before":null,"after":{"id":1,"v":"a"},"source":{"connector":"rivven-connect","name":"public.users","schema":null,"table":"users","ts_ms":1767323045007,"sequence":"9","event_type":"insert","cdc":{"x":1}},"op":"c","ts_ms":1767323045007}`},
		{Record{Stream: "u", Namespace: "ns", Op: OpUpdate, Schema: s, Before: []Value{Int(1), Null(), String("a")}, After: []Value{Int(1), Null(), String("b")}, Time: tm},
			`{"before":{"id":1,"gone":null,"v":"a"},"after":{"id":1,"gone":null,"v":"b"},"source":{"connector":"rivven-connect","name":"u","schema":"ns","table":"u","ts_ms":1767323045007,"sequence":"0","event_type":"update"},"op":"u","ts_ms":1767323045007}`},
		{Record{Stream: "u", Op: OpDelete, Schema: s, Before: []Value{Int(1), Null(), String("a")}, Time: tm},
			`{"before":{"id":1,"gone":null,"v":"a"},"after":null,"source":{"connector":"rivven-connect","name":"u","schema":null,"table":"u","ts_ms":1767323045007,"sequence":"0","event_type":"delete"},"op":"d","ts_ms":1767323045007}`},
		{Record{Stream: "u", Op: OpRecord, Schema: s, After: []Value{Int(2), Null(), Null()}, Time: tm},
			`{"before":null,"after":{"id":2,"gone":null,"v":null},"source":{"connector":"rivven-connect","name":"u","schema":null,"table":"u","ts_ms":1767323045007,"sequence":"0","event_type":"record"},"op":"c","ts_ms":1767323045007}`},
		{Record{Stream: "u", Op: OpTruncate, Schema: s, Time: tm},
			`{"before":null,"after":null,"source":{"connector":"rivven-connect","name":"u","schema":null,"table":"u","ts_ms":1767323045007,"sequence":"0","event_type":"truncate"},"op":"t","ts_ms":1767323045007}`},
	} {
		if got := string(AppendDebezium(nil, &c.r)); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.r.Op, got, c.want)
		}
		if !json.Valid(AppendDebezium(nil, &c.r)) {
			t.Errorf("%s: invalid JSON", c.r.Op)
		}
	}
}
