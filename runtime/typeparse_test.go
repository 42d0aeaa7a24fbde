package runtime_test

import (
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

func TestParseType(t *testing.T) {
	for _, s := range []string{"bool", "int", "float", "string", "any", "array<array<string>>", "object{}", "object{a int, b ?string}", "object{a array<int>, ...}", "object{...}"} {
		ty, err := runtime.ParseType(s)
		if err != nil || ty.String() != s {
			t.Errorf("ParseType(%q) = %v, %v", s, ty, err)
		}
	}
	for _, s := range []string{"", "money", "array<int", "array", "object{a}", "int x"} {
		if _, err := runtime.ParseType(s); err == nil {
			t.Errorf("ParseType(%q) accepted", s)
		}
	}
}

// A type nested deeper than the parser's bound is refused, not a stack
// overflow.
func TestParseTypeDepth(t *testing.T) {
	deep := strings.Repeat("array<", 40) + "int" + strings.Repeat(">", 40)
	if _, err := runtime.ParseType(deep); err == nil {
		t.Fatal("a type nested 40 deep was accepted")
	}
}
