package config

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/rivven/rivven-connect/compiler/source"
)

// wantLimit checks that src gives exactly one yaml-syntax error, at pos,
// whose message contains msg, and no file, in well under a second.
func wantLimit(t *testing.T, src string, pos source.Pos, msg string) {
	t.Helper()
	start := time.Now()
	f, errs := Parse("c.yaml", []byte(src), noEnv)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Parse took %v", d)
	}
	if len(errs) != 1 || errs[0].Code != source.CodeYAMLSyntax || errs[0].Pos != pos || !strings.Contains(errs[0].Message, msg) {
		t.Fatalf("errors %v\nwant one yaml-syntax error at %v: …%s…", errs, pos, msg)
	}
	if f != nil && strings.Contains(msg, "limit") {
		t.Errorf("a file over a size limit was returned")
	}
}

func TestFileSizeLimit(t *testing.T) {
	src := "a: 1\n# " + strings.Repeat("c", MaxFileSize) + "\n"
	wantLimit(t, src, at(1, 1), "a config file is at most 10485760 bytes (10 MiB)")
	// At the limit, the file is read.
	ok := "a: 1\n#" + strings.Repeat("c", MaxFileSize-len("a: 1\n#"))
	parseOK(t, ok, noEnv)
}

func TestValueLimit(t *testing.T) {
	// Block keys: each is a key and a value. The error is at the key that
	// passes the limit, found before the YAML library builds anything.
	var b strings.Builder
	for i := range MaxValues / 2 {
		b.WriteString("k" + itoa(i) + ": 1\n")
	}
	// The root is a value too.
	parseOK(t, strings.Replace(b.String(), "k0: 1\n", "", 1), noEnv)
	wantLimit(t, b.String(), at(MaxValues/2, 1), "more than 10000 values")

	// Lists of maps, in flow: the 3333rd map holds the 10,001st value.
	flow := "a: [" + strings.Repeat("{x: 1}, ", MaxValues/2) + "{x: 1}]\n"
	wantLimit(t, flow, at(1, 5+8*(MaxValues/3-1)), "more than 10000 values")
	// A list of scalars.
	list := "a: [" + strings.Repeat("1, ", MaxValues) + "1]\n"
	wantLimit(t, list, at(1, 6+3*(MaxValues-4)), "more than 10000 values") // the comma before the 9,998th item
}

func TestScalarAndKeyLimits(t *testing.T) {
	_, errs := parseErrs(t, "a: "+strings.Repeat("x", MaxScalarLength+1)+"\nb: 1\n", noEnv)
	wantErr(t, errs, source.CodeYAMLSyntax, at(1, 4), "a", "a value of 65537 bytes; a value is at most 65536 bytes (64 KiB)")
	parseOK(t, "a: "+strings.Repeat("x", MaxScalarLength)+"\n", noEnv)

	long := strings.Repeat("k", MaxKeyLength+1)
	_, errs = parseErrs(t, "a:\n  ? "+long+"\n  : 1\n", noEnv)
	wantErr(t, errs, source.CodeYAMLSyntax, at(2, 5), "a", "a key of 1025 bytes; a key is at most 1024 bytes")
}

func TestFlowDepthBeforeTheLibrary(t *testing.T) {
	// 100,000 brackets: refused at the 101st, not by the library's own
	// limit (10,000, without a position).
	src := "a: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n"
	wantLimit(t, src, at(1, 104), "nesting deeper than 100 levels")
	// Lists in lists on one line: the library refuses 10,000 levels
	// without saying where.
	src = "a:\n" + strings.Repeat("- ", 20_000) + "x\n"
	wantLimit(t, src, at(2, 1+2*100), "nesting deeper than 100 levels")
	_, errs := parseErrs(t, "a:\n"+strings.Repeat("- ", 150)+"x\n", noEnv)
	if len(errs) != 1 || errs[0].Pos != at(2, 1+2*100) || !strings.Contains(errs[0].Message, "nesting deeper than 100 levels") {
		t.Errorf("errors %v", errs)
	}
	// Under block keys, at the same depth as Parse counts it.
	src = "a:\n  b:\n    - c: " + strings.Repeat("{d: ", 150) + "1" + strings.Repeat("}", 150) + "\n"
	wantLimit(t, src, at(3, 10+4*97), "nesting deeper than 100 levels")
	short := "a:\n  b:\n    - c: " + strings.Repeat("{d: ", 97) + "1" + strings.Repeat("}", 97) + "\n"
	_, errs = parseErrs(t, short, noEnv)
	wantErr(t, errs, source.CodeYAMLSyntax, at(3, 10+4*97), "a.b[0].c"+strings.Repeat(".d", 97), "nesting deeper than 100 levels")
}

// TestScanCount checks the count of scan against the values Parse builds
// (keys, list items and scalars) for every golden config and example, and
// for shapes the golden configs lack.
func TestScanCount(t *testing.T) {
	srcs := map[string]string{
		"block keys":     "a: 1\nb:\n  c: [1, 2]\n  d: {e: f, g: [h]}\n",
		"block list":     "- a\n- [b, c]\n- {d: e}\n-\n  - f\n",
		"quoted":         "a: 'x: y, z'\nb: \"[1, 2]\" # c: d, e\n",
		"block scalar":   "a: |\n  b: c\n  - d\ne: >\n  f, g\n",
		"nested flow":    "a: [[1, [2, 3]], {b: [4]}]\n",
		"urls and dates": "a: http://x:80/y\nb: 2026-01-01T00:00:00Z\n",
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "golden", "testdata", "*.txtar"))
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if len(files) == 0 || len(examples) == 0 {
		t.Fatal("no golden cases or examples")
	}
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ar.Files {
			if s.Name == "pipeline.yaml" {
				srcs[filepath.Base(f)] = string(s.Data)
			}
		}
	}
	for _, f := range examples {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[filepath.Base(f)] = string(b)
	}
	for name, src := range srcs {
		f, errs := Parse("c.yaml", []byte(src), noEnv)
		if f == nil || len(errs) > 0 && strings.Contains(name, "yaml") {
			continue // not YAML: nothing to count
		}
		want := countValues(f.Root)
		_, _, got, _ := scan([]byte(src), math.MaxInt)
		if got < want || got > want+want/10+2 {
			t.Errorf("%s: scan counts %d values, Parse builds %d", name, got, want)
		}
	}
}

// countValues counts the values of a tree as MaxValues does: every node
// and every key.
func countValues(n *Node) int {
	c := 1 + len(n.Keys)
	for _, it := range n.Items {
		c += countValues(it)
	}
	return c
}

func itoa(i int) string { return strconv.Itoa(i) }
