package mask_test

import (
	"crypto/sha256"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mask"
)

func obj(kv ...any) runtime.Value {
	o := runtime.NewObject(len(kv) / 2)
	for j := 0; j < len(kv); j += 2 {
		o.Set(kv[j].(string), kv[j+1].(runtime.Value))
	}
	return runtime.ObjectValue(o)
}

func show(v runtime.Value) string {
	if v.Kind() == runtime.KindAbsent {
		return "<absent>"
	}
	return v.Kind().String() + " " + string(runtime.AppendJSON(nil, v))
}

// identical reports whether a and b are the same kind and deeply equal.
func identical(a, b runtime.Value) bool {
	return a.Kind() == b.Kind() && (a.Equal(b) || a.Kind() == runtime.KindAbsent)
}

// sha computes the expected hash independently of the package.
func sha(salt, text string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(salt+text)))
}

func TestParseStrategy(t *testing.T) {
	for _, name := range []string{"redact", "hash", "partial", "fixed", "null", "remove"} {
		s, ok := mask.ParseStrategy(name)
		if !ok || s.String() != name {
			t.Errorf("ParseStrategy(%q) = %v, %v", name, s, ok)
		}
	}
	for _, name := range []string{"", "Redact", "sha256", "drop"} {
		if _, ok := mask.ParseStrategy(name); ok {
			t.Errorf("ParseStrategy(%q) accepted", name)
		}
	}
}

func TestAsterisks(t *testing.T) {
	for _, n := range []int{0, 1, 5, 128, 129, 1000} {
		if got := mask.Asterisks(n); got != strings.Repeat("*", n) {
			t.Errorf("Asterisks(%d) has %d bytes", n, len(got))
		}
	}
}

// inputs are the values every strategy is tried on.
var inputs = []struct {
	name string
	v    runtime.Value
	text string // the text strategies work on: the string, or compact JSON
}{
	{"string", runtime.String("alice@example.com"), "alice@example.com"},
	{"empty", runtime.String(""), ""},
	{"multibyte", runtime.String("héllo 日本"), "héllo 日本"},
	{"int", runtime.Int(-1234), "-1234"},
	{"float", runtime.Float(12.5), "12.5"},
	{"nan", runtime.Float(math.NaN()), `"NaN"`},
	{"bool", runtime.Bool(true), "true"},
	{"object", obj("a", runtime.Int(1), "b", runtime.String("x")), `{"a":1,"b":"x"}`},
	{"array", runtime.ArrayValue([]runtime.Value{runtime.Int(1), runtime.Null()}), "[1,null]"},
}

func TestRedact(t *testing.T) {
	for _, in := range inputs {
		got := mask.RedactValue(in.v)
		want := strings.Repeat("*", utf8.RuneCountInString(in.text))
		if got.Kind() != runtime.KindString || got.AsString() != want {
			t.Errorf("%s: RedactValue = %s, want %q", in.name, show(got), want)
		}
	}
	// One star per character, not per byte.
	if got := mask.RedactValue(runtime.String("日本")).AsString(); got != "**" {
		t.Errorf("RedactValue(日本) = %q", got)
	}
}

func TestHash(t *testing.T) {
	for _, salt := range []string{"", "s4lt", "日本"} {
		for _, in := range inputs {
			got := mask.HashValue(in.v, salt)
			want := sha(salt, in.text)
			if got.Kind() != runtime.KindString || got.AsString() != want {
				t.Errorf("%s, salt %q: HashValue = %s, want %s", in.name, salt, show(got), want)
			}
		}
	}
	// A known vector: SHA-256 of "abc".
	if got := mask.HashValue(runtime.String("bc"), "a").AsString(); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashValue(bc, salt a) = %s", got)
	}
	if mask.HashValue(runtime.String("x"), "1").AsString() == mask.HashValue(runtime.String("x"), "2").AsString() {
		t.Error("the salt does not change the hash")
	}
	// The int 1 and the string "1" have the same text, hence the same hash.
	if mask.HashValue(runtime.Int(1), "").AsString() != sha("", "1") {
		t.Error("HashValue(int 1) is not the hash of its text")
	}
}

func TestPartial(t *testing.T) {
	tests := []struct {
		v           runtime.Value
		first, last int
		want        string
	}{
		{runtime.String("4111111111111111"), 0, 4, "************1111"},
		{runtime.String("4111111111111111"), 2, 4, "41**********1111"},
		{runtime.String("alice"), 1, 0, "a****"},
		{runtime.String("alice"), 0, 0, "*****"},
		{runtime.String("héllo日本"), 2, 1, "hé****本"}, // characters, not bytes
		{runtime.Int(123456), 1, 2, "1***56"},
		{runtime.Float(-1.25), 1, 1, "-***5"},
		{runtime.Bool(false), 1, 1, "f***e"},
		// Nothing would be hidden: everything is starred.
		{runtime.String("abc"), 2, 1, "***"},
		{runtime.String("abc"), 3, 0, "***"},
		{runtime.String("abc"), 0, 3, "***"},
		{runtime.String("abc"), 5, 5, "***"},
		{runtime.String("日本"), 1, 1, "**"},
		{runtime.String("x"), 1, 0, "*"},
		{runtime.String(""), 1, 1, ""},
		{runtime.Int(7), 0, 1, "*"},
	}
	for _, tt := range tests {
		got := mask.PartialValue(tt.v, tt.first, tt.last)
		if got.Kind() != runtime.KindString || got.AsString() != tt.want {
			t.Errorf("PartialValue(%s, %d, %d) = %s, want %q", show(tt.v), tt.first, tt.last, show(got), tt.want)
		}
	}
}

// TestPartialNeverLeaksWhole tries every short string against every keep
// setting: the result always hides at least one character (or is empty).
func TestPartialNeverLeaksWhole(t *testing.T) {
	for _, s := range []string{"", "a", "ab", "abc", "abcd", "日", "日本", "héé"} {
		for first := 0; first <= 5; first++ {
			for last := 0; last <= 5; last++ {
				got := mask.PartialValue(runtime.String(s), first, last).AsString()
				if utf8.RuneCountInString(got) != utf8.RuneCountInString(s) {
					t.Errorf("PartialValue(%q, %d, %d) = %q: length changed", s, first, last, got)
				}
				if s != "" && !strings.Contains(got, "*") {
					t.Errorf("PartialValue(%q, %d, %d) = %q leaks the whole value", s, first, last, got)
				}
			}
		}
	}
}

func TestMaskEveryStrategy(t *testing.T) {
	fixed := runtime.String("[hidden]")
	specs := map[string]mask.Spec{
		"redact":  {Strategy: mask.Redact},
		"hash":    {Strategy: mask.Hash, Salt: "pepper"},
		"partial": {Strategy: mask.Partial, KeepFirst: 1, KeepLast: 1},
		"fixed":   {Strategy: mask.Fixed, Value: fixed},
		"null":    {Strategy: mask.Null},
		"remove":  {Strategy: mask.Remove},
	}
	for name, spec := range specs {
		for _, in := range inputs {
			got := spec.Mask(in.v)
			var want runtime.Value
			switch spec.Strategy {
			case mask.Redact:
				want = mask.RedactValue(in.v)
			case mask.Hash:
				want = runtime.String(sha("pepper", in.text))
			case mask.Partial:
				want = mask.PartialValue(in.v, 1, 1)
			case mask.Fixed:
				want = fixed
			case mask.Null:
				want = runtime.Null()
			case mask.Remove:
				want = runtime.Absent()
			}
			if !identical(got, want) {
				t.Errorf("%s on %s: Mask = %s, want %s", name, in.name, show(got), show(want))
			}
		}
		// Null stays null, except under fixed (replaced) and remove.
		got := spec.Mask(runtime.Null())
		switch spec.Strategy {
		case mask.Fixed:
			if !identical(got, fixed) {
				t.Errorf("%s on null: Mask = %s", name, show(got))
			}
		case mask.Remove:
			if got.Kind() != runtime.KindAbsent {
				t.Errorf("%s on null: Mask = %s", name, show(got))
			}
		default:
			if got.Kind() != runtime.KindNull {
				t.Errorf("%s on null: Mask = %s, want null", name, show(got))
			}
		}
		// A removed field stays removed: no strategy brings it back.
		if got := spec.Mask(runtime.Absent()); got.Kind() != runtime.KindAbsent {
			t.Errorf("%s on a removed field: Mask = %s, want it still removed", name, show(got))
		}
	}
}

func TestApplyTopLevel(t *testing.T) {
	spec := mask.Spec{Strategy: mask.Redact}
	row := []runtime.Value{runtime.String("keep"), runtime.String("secret"), runtime.Int(42)}
	spec.Apply(row, 1, nil)
	spec.Apply(row, 2, nil)
	want := []runtime.Value{runtime.String("keep"), runtime.String("******"), runtime.String("**")}
	for i := range row {
		if !identical(row[i], want[i]) {
			t.Errorf("row[%d] = %s, want %s", i, show(row[i]), show(want[i]))
		}
	}
	spec.Apply(nil, 0, nil) // a delete's After, an insert's Before: no-op, no panic
}

func TestApplyNested(t *testing.T) {
	inner := obj("email", runtime.String("a@b.c"), "age", runtime.Int(30))
	user := obj("name", runtime.String("Ann"), "contact", inner, "gone", runtime.Absent())
	for _, tt := range []struct {
		name string
		spec mask.Spec
		keys []string
		want runtime.Value
	}{
		{"redact nested", mask.Spec{Strategy: mask.Redact}, []string{"contact", "email"},
			obj("name", runtime.String("Ann"), "contact", obj("email", runtime.String("*****"), "age", runtime.Int(30)), "gone", runtime.Absent())},
		{"hash nested int", mask.Spec{Strategy: mask.Hash, Salt: "s"}, []string{"contact", "age"},
			obj("name", runtime.String("Ann"), "contact", obj("email", runtime.String("a@b.c"), "age", runtime.String(sha("s", "30"))), "gone", runtime.Absent())},
		{"remove nested", mask.Spec{Strategy: mask.Remove}, []string{"contact", "email"},
			obj("name", runtime.String("Ann"), "contact", obj("email", runtime.Absent(), "age", runtime.Int(30)), "gone", runtime.Absent())},
		{"null whole object", mask.Spec{Strategy: mask.Null}, []string{"contact"},
			obj("name", runtime.String("Ann"), "contact", runtime.Null(), "gone", runtime.Absent())},
		{"redact whole object", mask.Spec{Strategy: mask.Redact}, []string{"contact"},
			obj("name", runtime.String("Ann"), "contact", runtime.String(strings.Repeat("*", len(`{"email":"a@b.c","age":30}`))), "gone", runtime.Absent())},
		{"missing key left alone", mask.Spec{Strategy: mask.Fixed, Value: runtime.Int(0)}, []string{"contact", "phone"}, user},
		{"path through a scalar left alone", mask.Spec{Strategy: mask.Redact}, []string{"name", "x"}, user},
		{"removed key stays removed", mask.Spec{Strategy: mask.Fixed, Value: runtime.Int(0)}, []string{"gone"}, user},
	} {
		// Two records share the object, as records from one source may.
		a := []runtime.Value{runtime.Int(1), user}
		b := []runtime.Value{runtime.Int(2), user}
		tt.spec.Apply(a, 1, tt.keys)
		if !identical(a[1], tt.want) || !sameAbsent(a[1], tt.want) {
			t.Errorf("%s: got %s, want %s", tt.name, show(a[1]), show(tt.want))
		}
		// The other record, and the shared object itself, are unchanged.
		if b[1].AsObject() != user.AsObject() {
			t.Errorf("%s: the other row's value was replaced", tt.name)
		}
		if got := string(runtime.AppendJSON(nil, user)); got != `{"name":"Ann","contact":{"email":"a@b.c","age":30}}` {
			t.Errorf("%s: the shared object was mutated: %s", tt.name, got)
		}
		if k := user.AsObject().Keys; len(k) != 3 || k[2] != "gone" || user.AsObject().Values[2].Kind() != runtime.KindAbsent {
			t.Errorf("%s: the shared object's keys changed: %v", tt.name, k)
		}
		if v, _ := inner.AsObject().Get("email"); v.AsString() != "a@b.c" {
			t.Errorf("%s: the shared inner object was mutated", tt.name)
		}
	}
	// A null object on the path is left alone.
	row := []runtime.Value{runtime.Null()}
	(&mask.Spec{Strategy: mask.Fixed, Value: runtime.Int(1)}).Apply(row, 0, []string{"a"})
	if !row[0].IsNull() {
		t.Errorf("masking below null gave %s", show(row[0]))
	}
}

// sameAbsent checks that a and b (objects) have removed keys at the same
// places, which Equal does not look at.
func sameAbsent(a, b runtime.Value) bool {
	if a.Kind() != runtime.KindObject {
		return true
	}
	x, y := a.AsObject(), b.AsObject()
	if len(x.Keys) != len(y.Keys) {
		return false
	}
	for i, k := range x.Keys {
		w, ok := y.Get(k)
		if !ok || (x.Values[i].Kind() == runtime.KindAbsent) != (w.Kind() == runtime.KindAbsent) || !sameAbsent(x.Values[i], w) {
			return false
		}
	}
	return true
}

// TestMaskExactJSON: the strategies work on the exact text of a parsed JSON
// value (the text a sink writes), and masking a field inside it keeps the
// other numbers, keys and strings exact.
func TestMaskExactJSON(t *testing.T) {
	const text = `{"n":123456789012345678901234567890.5,"a":1,"a":2,"f":[1.0,1E+2],"s":"\ud800","secret":"x"}`
	v, err := runtime.ParseJSON([]byte(" {\"n\" : 123456789012345678901234567890.5, \"a\":1,\"a\":2,\n\"f\":[1.0, 1E+2],\"s\":\"\\ud800\",\"secret\":\"x\"}"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mask.HashValue(v, "s").AsString(); got != sha("s", text) {
		t.Errorf("hash of the whole value = %s, want the hash of %s", got, text)
	}
	if got := mask.RedactValue(v).AsString(); got != strings.Repeat("*", len(text)) {
		t.Errorf("redact of the whole value = %s", got)
	}
	if got := mask.PartialValue(v, 5, 2).AsString(); got != `{"n":`+strings.Repeat("*", len(text)-7)+`"}` {
		t.Errorf("partial of the whole value = %s", got)
	}
	n, _ := v.AsObject().Get("n")
	if got := mask.HashValue(n, "").AsString(); got != sha("", "123456789012345678901234567890.5") {
		t.Errorf("hash of a number = %s, want the hash of its decimal text", got)
	}
	for _, c := range []struct {
		spec mask.Spec
		want string
	}{
		{mask.Spec{Strategy: mask.Redact}, `{"n":123456789012345678901234567890.5,"a":2,"f":[1.0,1E+2],"s":"\ud800","secret":"*"}`},
		{mask.Spec{Strategy: mask.Remove}, `{"n":123456789012345678901234567890.5,"a":2,"f":[1.0,1E+2],"s":"\ud800"}`},
	} {
		row := []runtime.Value{v}
		c.spec.Apply(row, 0, []string{"secret"})
		if got := string(runtime.AppendJSON(nil, row[0])); got != c.want {
			t.Errorf("%s inside: got %s, want %s", c.spec.Strategy, got, c.want)
		}
		if got := string(runtime.AppendJSON(nil, v)); got != text {
			t.Errorf("%s inside changed the shared value: %s", c.spec.Strategy, got)
		}
	}
	row := []runtime.Value{v}
	(&mask.Spec{Strategy: mask.Hash}).Apply(row, 0, []string{"f"})
	if got, want := string(runtime.AppendJSON(nil, row[0])), `{"n":123456789012345678901234567890.5,"a":2,"f":"`+sha("", "[1.0,1E+2]")+`","s":"\ud800","secret":"x"}`; got != want {
		t.Errorf("hash of a nested array: got %s, want %s", got, want)
	}
}
