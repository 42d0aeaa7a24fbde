package check

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// Every string pattern of the CUE definitions has its words in
// patternHelp, and every entry there is used.
func TestEveryPatternDescribed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "cue", "*.cue"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CUE files (%v)", err)
	}
	lit := regexp.MustCompile(`=~("(?:[^"\\]|\\.)*")`)
	used := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			re, err := strconv.Unquote(m[1])
			if err != nil {
				t.Fatalf("%s: %s: %v", f, m[1], err)
			}
			used[re] = true
			if _, ok := patternHelp[re]; !ok {
				t.Errorf("%s: pattern %q has no words in patternHelp (patterns.go)", f, re)
			}
		}
	}
	for re := range patternHelp {
		if !used[re] {
			t.Errorf("patternHelp describes %q, which no CUE definition uses", re)
		}
	}
}
