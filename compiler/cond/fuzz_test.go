package cond_test

import (
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/runtime"
)

// FuzzCompile compiles arbitrary text against the orders schema. It must
// never panic; an error has a code and an offset inside the text; a
// lowered condition has IR, and on a few rows the interpreter agrees with
// expr's VM (so the fuzzer is also a differential test).
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`total_amount > 100 && status != "cancelled"`,
		`currency in ["EUR", "USD"] || quantity % 2 == 0`,
		`meta.region == "eu" && len(customer_id) > 3`,
		`note contains "gift" ? discount > 0.5 : flag`,
		`upper(status) == "NEW"`,
		`payload?.a.b ?? 1 > 0`,
		`"日本" + status matches "^日"`,
		`(quantity > 1 && maybe) == nil`,
		`total_amount >`,
		`"unterminated`,
	} {
		f.Add(seed)
	}
	s := ordersSchema()
	rows := [][]runtime.Value{
		baseRow(s, nil),
		baseRow(s, map[string]runtime.Value{
			"meta": runtime.Null(), "note": runtime.Null(), "discount": runtime.Null(), "maybe": runtime.Null(),
			"extra": objOf("a", runtime.Int(1)), "total_amount": runtime.Float(0), "quantity": runtime.Int(0),
		}),
	}
	// ssn is removed: the row still has a slot for it.
	for i := range rows {
		rows[i] = append(rows[i], runtime.Absent())
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := cond.Compile(text, s)
		if err != nil {
			if err.Code == "" {
				t.Fatalf("Compile(%q): error without a code: %v", text, err)
			}
			if err.Offset < 0 || err.Offset > len(text) {
				t.Fatalf("Compile(%q): offset %d outside [0, %d]", text, err.Offset, len(text))
			}
			if err.Message == "" {
				t.Fatalf("Compile(%q): error without a message", text)
			}
			if c != nil {
				t.Fatalf("Compile(%q): both a condition and an error", text)
			}
			return
		}
		if c.Source != text {
			t.Fatalf("Compile(%q): Source %q", text, c.Source)
		}
		if strings.TrimSpace(text) == "" || len(text) > cond.MaxLength {
			t.Fatalf("Compile(%q) accepted an empty or overlong condition", text)
		}
		for i, fr := range c.Fields {
			if fr.Index < 0 || fr.Index >= len(s.Fields) || s.Fields[fr.Index].Name != fr.Name || (i > 0 && c.Fields[i-1].Index >= fr.Index) {
				t.Fatalf("Compile(%q): bad Fields %v", text, c.Fields)
			}
		}
		if c.Dump() == "" {
			t.Fatalf("Compile(%q): empty Dump", text)
		}
		if c.Strategy == cond.Fallback {
			if c.IR != nil || c.Reason == "" {
				t.Fatalf("Compile(%q): fallback with IR %v, reason %q", text, c.IR, c.Reason)
			}
			return
		}
		if c.IR == nil {
			t.Fatalf("Compile(%q): lowered without IR", text)
		}
		prog := lowered(t, c)
		ref, refErr := vmProgram(text, false)
		for _, row := range rows {
			got := runLowered(prog, row)
			want := runVM(ref, refErr, s, row)
			if !got.same(want) {
				t.Fatalf("divergence on %q\n  row:     %s\n  lowered: %v\n  expr VM: %v\n  IR: %s", text, rowString(row), got, want, c.Dump())
			}
		}
	})
}
