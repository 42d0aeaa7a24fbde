package cond_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/expr-lang/expr/types"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// ordersSchema is datagen's orders pattern, with an object field whose keys
// are known (meta), an open object (payload), nullable and untyped fields,
// and a field a field-mask removed (ssn).
func ordersSchema() *runtime.Schema {
	s := diffSchema()
	s.Fields = append(s.Fields, runtime.Field{Name: "ssn", Type: runtime.Type{Kind: runtime.KindAbsent}})
	return s
}

func TestStrategy(t *testing.T) {
	s := ordersSchema()
	tests := []struct {
		text   string
		want   cond.Strategy
		reason string // for fallbacks
	}{
		{`total_amount > 100`, cond.Lowered, ""},
		{`total_amount > 100 && status != "cancelled"`, cond.Lowered, ""},
		{`quantity >= 2 and currency == "EUR" or not (status == "new")`, cond.Lowered, ""},
		{`currency in ["EUR", "USD", nil, 1, 2.5, true]`, cond.Lowered, ""},
		{`status not in ["cancelled", "refunded"]`, cond.Lowered, ""},
		{`product contains "pro" || order_id startsWith "ord-" || created_at endsWith "Z"`, cond.Lowered, ""},
		{`status matches "^(new|paid)$"`, cond.Lowered, ""},
		{`len(customer_id) > 3`, cond.Lowered, ""},
		{`len(tags) > 0 && len(meta) == 4 && len(payload) < 10`, cond.Lowered, ""},
		{`quantity % 2 == 0 ? total_amount / quantity > 10.5 : -unit_price < +1`, cond.Lowered, ""},
		{`unit_price * quantity - total_amount == 0`, cond.Lowered, ""},
		{`order_id + "-" + currency == "o-EUR"`, cond.Lowered, ""},
		{`meta.region == "eu" || meta["tier"] >= 2`, cond.Lowered, ""},
		{`payload.anything.deeper == 1`, cond.Lowered, ""}, // open object: any key
		{`meta.vip`, cond.Lowered, ""},
		{`note == nil || note contains "gift"`, cond.Lowered, ""}, // nullable fields type-check as their type
		{`discount > 0.5`, cond.Lowered, ""},
		{`maybe && flag`, cond.Lowered, ""},
		{`extra > 1 || extra contains "x"`, cond.Lowered, ""}, // untyped: anything goes
		{`1 > 2 ? nil : true`, cond.Lowered, ""},

		{`upper(currency) == "EUR"`, cond.Fallback, "calls upper()"},
		{`all(tags, # != "")`, cond.Fallback, "calls all()"},
		{`meta?.region == nil`, cond.Fallback, "uses optional chaining ?."},
		{`status in [currency]`, cond.Fallback, "uses in with a non-constant list element"},
		{`quantity in [-1, 1]`, cond.Fallback, "uses in with a non-constant list element"},
		{`"a" in tags`, cond.Fallback, "uses in with a non-literal list"},
		{`quantity in 1..3`, cond.Fallback, "uses in with a non-literal list"},
		{`tags[0] == "a"`, cond.Fallback, "uses an index or method access"},
		{`status matches currency`, cond.Fallback, "matches a computed pattern"},
		{`quantity ** 2 > 4`, cond.Fallback, "uses operator **"},
		{`(note ?? "x") == "x"`, cond.Fallback, "uses operator ??"},
		{`created_at[0:4] == "2026"`, cond.Fallback, "uses Slice"},
		{`let x = 1; x > quantity`, cond.Fallback, "uses VariableDeclarator"},
	}
	for _, tt := range tests {
		c, err := cond.Compile(tt.text, s)
		if err != nil {
			t.Errorf("Compile(%q): %v (%s)", tt.text, err, err.Code)
			continue
		}
		if c.Strategy != tt.want || c.Reason != tt.reason {
			t.Errorf("Compile(%q) = %v (%q), want %v (%q)", tt.text, c.Strategy, c.Reason, tt.want, tt.reason)
		}
		if c.Source != tt.text {
			t.Errorf("Compile(%q).Source = %q", tt.text, c.Source)
		}
		if (c.IR != nil) != (c.Strategy == cond.Lowered) {
			t.Errorf("Compile(%q): IR %v with strategy %v", tt.text, c.IR != nil, c.Strategy)
		}
	}
}

func TestErrors(t *testing.T) {
	s := ordersSchema()
	tests := []struct {
		text    string
		code    source.Code
		at      string // the error points at the first occurrence of at, or 0 when "", or the end when "$end", or the last byte when "$last"
		message string // a part of the message
	}{
		{``, source.CodeConditionSyntax, "", "the condition is empty"},
		{" \t\n ", source.CodeConditionSyntax, "", "the condition is empty"},
		{strings.Repeat("x", cond.MaxLength+1), source.CodeConditionSyntax, "", "the limit is 4096"},
		{`total_amount >`, source.CodeConditionSyntax, "$last", "unexpected token EOF"},
		{`quantity == 1 &&`, source.CodeConditionSyntax, "$last", "unexpected token EOF"},
		{`quantity > 1 &&& true`, source.CodeConditionSyntax, "& true", `unexpected token Operator("&")`},
		{`"abc`, source.CodeConditionSyntax, "$end", "literal not terminated"},
		{`total_amount > "100"`, source.CodeConditionType, ">", "mismatched types float64 and string"},
		{`status == 1`, source.CodeConditionType, "==", "mismatched types string and int"},
		{`unit_price % 2 == 0`, source.CodeConditionType, "%", "mismatched types float64 and int"},
		{`discount > "x"`, source.CodeConditionType, ">", "mismatched types float64 and string"}, // nullable, still typed
		{`status matches "("`, source.CodeConditionType, "matches", "missing closing )"},
		{`quantity + 1`, source.CodeConditionType, "", "expected bool, but got int"}, // not a bool
		{`status`, source.CodeConditionType, "", "expected bool, but got string"},
		{`nil`, source.CodeConditionType, "", "expected bool"},
		{`totl_amount > 1`, source.CodeUnknownField, "totl_amount", `the stream has no field "totl_amount" (did you mean "total_amount"?); fields: order_id, customer_id`},
		{`status == "ü" && nope > 1`, source.CodeUnknownField, "nope", `no field "nope"`},
		{`"é日本" == status && tot > 1`, source.CodeUnknownField, "tot", `no field "tot"`},
		{`ssn == "x"`, source.CodeUnknownField, "ssn", `field "ssn" was removed by a field-mask earlier in the pipeline`},
		{`"日本" + 1 > 0`, source.CodeConditionType, "+", "mismatched types string and int"},
	}
	for _, tt := range tests {
		c, err := cond.Compile(tt.text, s)
		if err == nil {
			t.Errorf("Compile(%q) = %s, want a %s error", tt.text, c.Dump(), tt.code)
			continue
		}
		want := 0
		switch tt.at {
		case "":
		case "$end":
			want = len(tt.text)
		case "$last":
			want = len(tt.text) - 1
		default:
			want = strings.Index(tt.text, tt.at)
		}
		if err.Code != tt.code || err.Offset != want || !strings.Contains(err.Message, tt.message) {
			t.Errorf("Compile(%q) = %s at %d: %q; want %s at %d: …%q…", tt.text, err.Code, err.Offset, err.Message, tt.code, want, tt.message)
		}
		if err.Error() != err.Message {
			t.Errorf("Error() = %q, want the message", err.Error())
		}
	}
	// The removed field is not offered as a suggestion or listed.
	_, err := cond.Compile(`ssn == "x"`, s)
	if strings.Contains(err.Message[strings.Index(err.Message, ";"):], "ssn") {
		t.Errorf("the removed field is listed: %s", err.Message)
	}
}

// TestErrorOffsetsAreBytes checks offsets after multi-byte text: the
// offset is a byte index into the condition, so text[offset:] starts at
// the culprit.
func TestErrorOffsetsAreBytes(t *testing.T) {
	s := ordersSchema()
	for _, tt := range []struct{ text, culprit string }{
		{`status == "日本語" && bogus`, "bogus"},
		{`"ÄÖÜ" == status || quantity > "x"`, `> "x"`},
		{`"🙂" in ["🙂"] && quantity >`, `>`},
		{"note == \"\u00e9\" &&\n  qty > 1", "qty"},
	} {
		_, err := cond.Compile(tt.text, s)
		if err == nil {
			t.Fatalf("Compile(%q) succeeded", tt.text)
		}
		if !strings.HasPrefix(tt.text[err.Offset:], tt.culprit) {
			t.Errorf("Compile(%q): offset %d points at %q, want %q", tt.text, err.Offset, tt.text[err.Offset:], tt.culprit)
		}
		if !utf8.ValidString(tt.text[:err.Offset]) {
			t.Errorf("Compile(%q): offset %d splits a character", tt.text, err.Offset)
		}
	}
}

func TestDump(t *testing.T) {
	s := ordersSchema()
	tests := []struct{ text, want string }{
		{`total_amount > 100 && status != "cancelled"`,
			`lowered (and (compare > (field total_amount#5 : float) (const 100 : int) : bool) (ne (field status#7 : string) (const "cancelled" : string) : bool) : bool)`},
		{`currency in ["EUR", nil, 2.5, true]`,
			`lowered (in (field currency#6 : string) (const "EUR" : string) (const null : any) (const 2.5 : float) (const true : bool) : bool)`},
		{`not (status matches "^p")`,
			`lowered (not (matches "^p" (field status#7 : string) : bool) : bool)`},
		{`len(customer_id) > 3 ? -quantity < 0 : unit_price / 2 >= 1.5`,
			`lowered (cond (compare > (len (field customer_id#1 : string) : int) (const 3 : int) : bool) (compare < (neg (field quantity#3 : int) : int) (const 0 : int) : bool) (compare >= (arith / (field unit_price#4 : float) (const 2 : int) : float) (const 1.5 : float) : bool) : bool)`},
		{`meta.region == "eu" || payload.a.b == 1`,
			`lowered (or (eq (field meta.region#9 : any) (const "eu" : string) : bool) (eq (field payload.a.b#10 : any) (const 1 : int) : bool) : bool)`},
		{`product contains "x" or order_id startsWith "o" and created_at endsWith "Z"`,
			`lowered (or (string contains (field product#2 : string) (const "x" : string) : bool) (and (string startsWith (field order_id#0 : string) (const "o" : string) : bool) (string endsWith (field created_at#8 : string) (const "Z" : string) : bool) : bool) : bool)`},
		// A field that may be null as the result: null means false.
		{`meta.vip`,
			`lowered (cond (eq (field meta.vip#9 : any) (const null : any) : bool) (const false : bool) (field meta.vip#9 : any) : any)`},
		// && whose right operand may be null yields it as it is: a ?: b : false.
		{`flag && (meta.vip) == nil`,
			`lowered (and (field flag#13 : bool) (eq (field meta.vip#9 : any) (const null : any) : bool) : bool)`},
		{`(quantity > 1 && meta.vip) != nil`,
			`lowered (ne (cond (compare > (field quantity#3 : int) (const 1 : int) : bool) (field meta.vip#9 : any) (const false : bool) : any) (const null : any) : bool)`},
		{`(quantity > 1 || meta.vip) == true`,
			`lowered (eq (cond (compare > (field quantity#3 : int) (const 1 : int) : bool) (const true : bool) (field meta.vip#9 : any) : any) (const true : bool) : bool)`},
		{`upper(currency) == "EUR"`, `expr-vm "upper(currency) == \"EUR\"" (calls upper())`},
	}
	for _, tt := range tests {
		c, err := cond.Compile(tt.text, s)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.text, err)
			continue
		}
		if got := c.Dump(); got != tt.want {
			t.Errorf("Compile(%q).Dump() =\n  %s\nwant\n  %s", tt.text, got, tt.want)
		}
		// Stable: compiling again dumps the same text.
		c2, _ := cond.Compile(tt.text, s)
		if c2.Dump() != c.Dump() {
			t.Errorf("Dump of %q is not stable", tt.text)
		}
	}
}

func TestFields(t *testing.T) {
	s := ordersSchema()
	for _, tt := range []struct {
		text string
		want string
	}{
		{`status == "a" && quantity > 1 && status != "b"`, "quantity#3 status#7"},
		{`meta.region == "x" || payload.k == 1`, "meta#9 payload#10"},
		{`upper(currency) == "EUR" && order_id != ""`, "order_id#0 currency#6"}, // fallback: its environment
		{`true`, ""},
	} {
		c, err := cond.Compile(tt.text, s)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range c.Fields {
			got = append(got, f.Name+"#"+itoa(f.Index))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("Compile(%q).Fields = %v, want %s", tt.text, got, tt.want)
		}
	}
}

func itoa(i int) string {
	if i >= 10 {
		return itoa(i/10) + string(rune('0'+i%10))
	}
	return string(rune('0' + i))
}

func TestCheckSyntax(t *testing.T) {
	for _, tt := range []struct {
		text string
		ok   bool
	}{
		{`anything > 1 && whatever == "x"`, true}, // names are not checked
		{`upper(x) == "A"`, true},
		{`x >`, false},
		{`  `, false},
		{`(a`, false},
	} {
		err := cond.CheckSyntax(tt.text)
		if (err == nil) != tt.ok {
			t.Errorf("CheckSyntax(%q) = %v, want ok=%v", tt.text, err, tt.ok)
		}
		if err != nil && err.Code != source.CodeConditionSyntax {
			t.Errorf("CheckSyntax(%q) code %s", tt.text, err.Code)
		}
	}
}

func TestEnv(t *testing.T) {
	env := cond.Env(ordersSchema())
	if _, ok := env["ssn"]; ok {
		t.Error("a removed field is in the environment")
	}
	for name, want := range map[string]string{
		"quantity": "int", "total_amount": "float64", "status": "string", "flag": "bool",
		"discount": "*float64", "note": "*string", "maybe": "any", "extra": "any",
		"meta": "map[string]interface {}", "tags": "[]interface {}",
	} {
		if got := env[name]; got == nil || got.String() != want {
			t.Errorf("Env[%s] = %v, want %s", name, got, want)
		}
	}
	if env["maybe"] != types.Any {
		t.Errorf("a nullable bool is not typed any")
	}
}

func TestOpStrings(t *testing.T) {
	for op, want := range map[cond.Op]string{cond.OpConst: "const", cond.OpIn: "in", cond.OpCond: "cond", cond.OpStringOp: "string"} {
		if op.String() != want {
			t.Errorf("%d.String() = %q, want %q", op, op.String(), want)
		}
	}
	if cond.Lowered.String() != "lowered" || cond.Fallback.String() != "expr-vm" {
		t.Error("Strategy strings changed")
	}
}

// A member a declared object does not have is an unknown field at check
// time; open objects, untyped ones and declared members pass.
func TestDeclaredObjectMembers(t *testing.T) {
	str := runtime.Type{Kind: runtime.KindString}
	s := runtime.NewSchema(
		runtime.Field{Name: "customer", Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{
			{Name: "name", Type: str},
			{Name: "address", Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{{Name: "city", Type: str}}}},
		}}, Nullable: true},
		runtime.Field{Name: "tags", Type: runtime.Type{Kind: runtime.KindObject, Open: true, Fields: []runtime.Field{{Name: "env", Type: str}}}},
		runtime.Field{Name: "extra", Type: runtime.Type{Kind: runtime.KindObject}},
	)
	for _, ok := range []string{
		`customer.name == "a"`, `customer != nil && customer.address.city == "b"`,
		`tags.env == "prod" || tags.team == "x"`, `extra.anything == 1`,
	} {
		if _, err := cond.Compile(ok, s); err != nil {
			t.Errorf("Compile(%q): %v", ok, err)
		}
	}
	for _, bad := range []struct{ text, field string }{
		{`customer.age > 3`, "age"},
		{`customer.address.zip == "1"`, "zip"},
	} {
		_, err := cond.Compile(bad.text, s)
		if err == nil || err.Code != source.CodeUnknownField || !strings.Contains(err.Message, fmt.Sprintf("no field %q", bad.field)) || err.Offset != strings.Index(bad.text, bad.field) {
			t.Errorf("Compile(%q) = %v; want unknown-field %q at its position", bad.text, err, bad.field)
		}
	}
}
