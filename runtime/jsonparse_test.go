package runtime

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseJSON(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`{"b":1,"a":[true,false,null],"c":{"z":"x","y":1.5}}`, `{"b":1,"a":[true,false,null],"c":{"z":"x","y":1.5}}`},
		{" \n[ ]\t", `[]`},
		{`{}`, `{}`},
		{`"\u00e9\ud83d\ude00\n\"\\\/"`, `"é😀\n\"\\/"`},
		{`"\ud800x"`, `"` + "\ufffd" + `x"`},
		{`-0`, `-0`},
		{`12345678901234567890`, `12345678901234567000`},
		{`1e400`, ``},
		{`1E2`, `100`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`"NaN"`, `"NaN"`},
		{`"<&>"`, `"\u003c\u0026\u003e"`},
	} {
		v, err := ParseJSON([]byte(c.in))
		if c.out == "" {
			if err == nil {
				t.Errorf("%s: no error", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := string(AppendJSON(nil, v)); got != c.out {
			t.Errorf("%s: got %s, want %s", c.in, got, c.out)
		}
	}
	if v, _ := ParseJSON([]byte(`3`)); v.Kind() != KindInt {
		t.Error("3 is not an int")
	}
	if v, _ := ParseJSON([]byte(`3.0`)); v.Kind() != KindFloat {
		t.Error("3.0 is not a float")
	}
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `01`, `1.`, `1e`, `-`, `"a`, "\"\x01\"", `"\x"`, `"\u12"`, `tru`, `nul`, `1 2`, `{1:2}`, strings.Repeat("[", 2000)} {
		if _, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
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

// FuzzParseJSON cross-checks validity with encoding/json, and that what
// parses re-encodes to JSON that parses to the same text again.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `"\ud83d\ude00"`, `-0.0e-1`, `[{}]`, `1e308`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseJSON(b)
		valid := json.Valid(b)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if err != nil {
			if valid && !strings.Contains(err.Error(), "out of range") && !strings.Contains(err.Error(), "nesting") {
				t.Fatalf("refused valid JSON %q: %v", b, err)
			}
			return
		}
		once := AppendJSON(nil, v)
		w, err := ParseJSON(once)
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", once, err)
		}
		if twice := AppendJSON(nil, w); string(twice) != string(once) {
			t.Fatalf("not stable: %s then %s", once, twice)
		}
	})
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
