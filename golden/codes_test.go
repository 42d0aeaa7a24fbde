package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler/source"
)

// TestEveryCodeDocumentedAndCovered keeps SPEC.md and the golden cases in
// step with the diagnostic codes: each code is documented and produced by at
// least one golden case.
func TestEveryCodeDocumentedAndCovered(t *testing.T) {
	spec, err := os.ReadFile("../SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.txtar")
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, errs, ok := strings.Cut(string(b), "-- out/errors --"); ok {
			all.WriteString(errs)
		}
	}
	// Codes about the file itself cannot come from a golden case (which is
	// text, not a file); the CLI script tests cover them.
	fileLevel := map[source.Code]bool{source.CodeUnreadable: true}
	for _, c := range source.AllCodes {
		if !strings.Contains(string(spec), "| `"+string(c)+"` |") {
			t.Errorf("code %s is not documented in SPEC.md §6", c)
		}
		if !fileLevel[c] && !strings.Contains(all.String(), ": "+string(c)+": ") {
			t.Errorf("no golden case produces code %s", c)
		}
	}
}
