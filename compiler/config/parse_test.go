package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/compiler/source"
)

// envOf returns an Env over m.
func envOf(m map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

var noEnv = envOf(nil)

// parseOK parses src and fails the test on any error.
func parseOK(t *testing.T, src string, env Env) *Node {
	t.Helper()
	f, errs := Parse("c.yaml", []byte(src), env)
	if len(errs) > 0 {
		t.Fatalf("Parse(%q): %v", src, errs)
	}
	if f.Name != "c.yaml" || f.Root == nil || f.Root.Kind != Map {
		t.Fatalf("Parse(%q): file %q root %+v", src, f.Name, f.Root)
	}
	return f.Root
}

// parseErrs parses src and returns its errors, failing when there are none.
func parseErrs(t *testing.T, src string, env Env) (*File, source.Errors) {
	t.Helper()
	f, errs := Parse("c.yaml", []byte(src), env)
	if len(errs) == 0 {
		t.Fatalf("Parse(%q): no error", src)
	}
	return f, errs
}

func at(line, col int) source.Pos { return source.Pos{File: "c.yaml", Line: line, Column: col} }

// wantErr checks that errs holds exactly one error, with the given code,
// position and path, whose message contains msg.
func wantErr(t *testing.T, errs source.Errors, code source.Code, pos source.Pos, path, msg string) {
	t.Helper()
	if len(errs) != 1 {
		t.Fatalf("want one %s error, got %d:\n%v", code, len(errs), errs)
	}
	e := errs[0]
	if e.Code != code || e.Pos != pos || e.Path != path || !strings.Contains(e.Message, msg) {
		t.Errorf("got %v\nwant %s: %s: %s: …%s…", e, pos, code, path, msg)
	}
}

func TestPositions(t *testing.T) {
	src := `# a comment
sources:
  demo:
    connector: datagen
    config: {pattern: orders, seed: 42}
  "quoted key": 'single'
list:
  - first
  - key: value
      # not a continuation
    other:   "double"
`
	root := parseOK(t, src, noEnv)
	tests := []struct {
		path      []string
		kind      Kind
		text      string
		pos, key  source.Pos
		wantStyle Style
	}{
		{[]string{"sources"}, Map, "", at(3, 3), at(2, 1), Plain},
		{[]string{"sources", "demo"}, Map, "", at(4, 5), at(3, 3), Plain},
		{[]string{"sources", "demo", "connector"}, String, "datagen", at(4, 16), at(4, 5), Plain},
		{[]string{"sources", "demo", "config"}, Map, "", at(5, 13), at(5, 5), Plain},
		{[]string{"sources", "demo", "config", "pattern"}, String, "orders", at(5, 23), at(5, 14), Plain},
		{[]string{"sources", "demo", "config", "seed"}, Int, "42", at(5, 37), at(5, 31), Plain},
		{[]string{"sources", "quoted key"}, String, "single", at(6, 17), at(6, 3), SingleQuoted},
		{[]string{"list"}, Seq, "", at(8, 3), at(7, 1), Plain},
		{[]string{"list", "0"}, String, "first", at(8, 5), source.Pos{}, Plain},
		{[]string{"list", "1"}, Map, "", at(9, 5), source.Pos{}, Plain},
		{[]string{"list", "1", "key"}, String, "value", at(9, 10), at(9, 5), Plain},
		{[]string{"list", "1", "other"}, String, "double", at(11, 14), at(11, 5), DoubleQuoted},
	}
	for _, tt := range tests {
		n := root.Lookup(tt.path...)
		if n == nil {
			t.Errorf("%v: not found", tt.path)
			continue
		}
		if n.Kind != tt.kind || n.Text != tt.text || n.Pos != tt.pos || n.KeyPos != tt.key || n.Style != tt.wantStyle {
			t.Errorf("%v = %s %q at %v (key at %v, style %d); want %s %q at %v (key at %v, style %d)",
				tt.path, n.Kind, n.Text, n.Pos, n.KeyPos, n.Style, tt.kind, tt.text, tt.pos, tt.key, tt.wantStyle)
		}
	}
	if got := strings.Join(root.Keys, ","); got != "sources,list" {
		t.Errorf("root keys %s: document order lost", got)
	}
	if root.Pos != at(2, 1) {
		t.Errorf("root at %v", root.Pos)
	}
}

func TestScalarKinds(t *testing.T) {
	root := parseOK(t, `
i: 42
neg: -7
hex: 0x1F
under: 1_000
f: 2.5
exp: 1e3
inf: .inf
b: True
n: ~
nul: null
empty:
s: hello
qi: "42"
qb: 'true'
tagged: !!str 7
negzero: -0
`, noEnv)
	for key, want := range map[string]struct {
		kind  Kind
		text  string
		value any
	}{
		"i": {Int, "42", int64(42)}, "neg": {Int, "-7", int64(-7)}, "hex": {Int, "0x1F", int64(31)},
		"under": {Int, "1_000", int64(1000)}, "f": {Float, "2.5", 2.5}, "exp": {Float, "1e3", 1000.0},
		"b": {Bool, "true", true}, "n": {Null, "~", nil}, "nul": {Null, "null", nil}, "empty": {Null, "", nil},
		"s": {String, "hello", "hello"}, "qi": {String, "42", "42"}, "qb": {String, "true", "true"},
		"tagged": {String, "7", "7"}, "negzero": {Int, "-0", int64(0)}, // the core schema's int, though the library says float
	} {
		n := root.Get(key)
		if n.Kind != want.kind || n.Text != want.text || fmt.Sprint(n.Interface()) != fmt.Sprint(want.value) {
			t.Errorf("%s = %s %q (%#v), want %s %q (%#v)", key, n.Kind, n.Text, n.Interface(), want.kind, want.text, want.value)
		}
	}
	if v := root.Get("inf").Interface().(float64); v <= 1e308 {
		t.Errorf("inf = %v", v)
	}
}

func TestBadTaggedScalars(t *testing.T) {
	for _, tt := range []struct {
		src  string
		code source.Code
		msg  string
	}{
		{"a: !!int abc\n", source.CodeInvalidValue, `"abc" is not an integer`},
		{"a: !!int 99999999999999999999\n", source.CodeOutOfRange, "integer 99999999999999999999 does not fit in 64 bits"},
		{"a: !!float x\n", source.CodeInvalidValue, `"x" is not a number`},
		{"a: !!bool yes\n", source.CodeInvalidValue, `"yes" is not a bool`},
	} {
		f, errs := parseErrs(t, tt.src, noEnv)
		wantErr(t, errs, tt.code, at(1, 4), "a", tt.msg)
		if n := f.Root.Get("a"); !n.Bad {
			t.Errorf("%q: the node is not marked Bad", tt.src)
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	f, errs := parseErrs(t, "a: 1\nb:\n  c: 2\n  c: 3\na: 4\n", noEnv)
	if len(errs) != 2 {
		t.Fatalf("want 2 errors, got %v", errs)
	}
	if e := errs[0]; e.Code != source.CodeDuplicateKey || e.Pos != at(4, 3) || e.Path != "b.c" || !strings.Contains(e.Message, `key "c" appears more than once`) {
		t.Errorf("first error %v", e)
	}
	if e := errs[1]; e.Code != source.CodeDuplicateKey || e.Pos != at(5, 1) || e.Path != "a" {
		t.Errorf("second error %v", e)
	}
	// The first occurrence wins.
	if got := f.Root.Lookup("b", "c").Text; got != "2" {
		t.Errorf("b.c = %s", got)
	}
	if got := f.Root.Get("a").Text; got != "1" {
		t.Errorf("a = %s", got)
	}
	// Flow mappings too.
	_, errs = parseErrs(t, "x: {k: 1, k: 2}\n", noEnv)
	wantErr(t, errs, source.CodeDuplicateKey, at(1, 11), "x.k", `key "k"`)
}

func TestAnchorsAndAliases(t *testing.T) {
	root := parseOK(t, `
base: &base
  connector: datagen
  config: {seed: 1}
copy: *base
scalar: &s hello
again: *s
`, noEnv)
	cp := root.Get("copy")
	if cp.Kind != Map || cp.Lookup("config", "seed").Text != "1" || cp.Get("connector").Text != "datagen" {
		t.Fatalf("alias not expanded: %+v", cp)
	}
	if cp.Pos != at(5, 7) || cp.KeyPos != at(5, 1) {
		t.Errorf("alias at %v key %v, want its own place", cp.Pos, cp.KeyPos)
	}
	if a := root.Get("again"); a.Text != "hello" || a.Pos != at(7, 8) || a.KeyPos != at(7, 1) {
		t.Errorf("again = %q at %v (key %v)", a.Text, a.Pos, a.KeyPos)
	}
	if s := root.Get("scalar"); s.Pos != at(6, 9) {
		t.Errorf("the anchor's own value moved: %v", s.Pos)
	}
}

func TestMergeKeys(t *testing.T) {
	root := parseOK(t, `
defaults: &defaults {a: 1, b: 2, c: 3}
more: &more {c: 30, d: 40}
before:
  <<: *defaults
  b: 20
after:
  b: 20
  <<: *defaults
list:
  <<: [*more, *defaults]
  a: 10
inline:
  <<: {x: 1}
  y: 2
`, noEnv)
	for _, tt := range []struct {
		key  string
		want string
	}{
		{"before", "a=1 c=3 b=20"}, // the explicit key wins even after <<
		{"after", "b=20 a=1 c=3"},
		{"list", "c=30 d=40 b=2 a=10"}, // earlier maps of the list win
		{"inline", "x=1 y=2"},
	} {
		n := root.Get(tt.key)
		var parts []string
		for i, k := range n.Keys {
			parts = append(parts, k+"="+n.Items[i].Text)
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("%s = %s, want %s", tt.key, got, tt.want)
		}
	}
}

func TestMergeKeyErrors(t *testing.T) {
	_, errs := parseErrs(t, "x:\n  <<: 5\n", noEnv)
	wantErr(t, errs, source.CodeTypeMismatch, at(2, 7), "x", "a merge key (<<) takes a mapping or a list of mappings, got int")
	_, errs = parseErrs(t, "x:\n  <<: [{a: 1}, oops]\n", noEnv)
	wantErr(t, errs, source.CodeTypeMismatch, at(2, 16), "x", "got a list holding a string")
	// A key repeated explicitly is still a duplicate, merge or not.
	_, errs = parseErrs(t, "d: &d {a: 1}\nx:\n  <<: *d\n  a: 2\n  a: 3\n", noEnv)
	wantErr(t, errs, source.CodeDuplicateKey, at(5, 3), "x.a", `key "a"`)
	// A quoted "<<" is a plain key.
	root := parseOK(t, "x: {'<<': 1}\n", noEnv)
	if root.Lookup("x", "<<").Text != "1" {
		t.Error(`quoted "<<" was taken as a merge key`)
	}
}

func TestAliasBomb(t *testing.T) {
	// Each level multiplies by ten: 10^9 values if expanded naively.
	var b strings.Builder
	b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, errs := Parse("c.yaml", []byte(b.String()), noEnv)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse took %v", d)
	}
	if len(errs) != 1 || errs[0].Code != source.CodeYAMLSyntax || !strings.Contains(errs[0].Message, "aliases expand to more than") || errs[0].Pos.Line == 0 {
		t.Errorf("errors %v", errs)
	}
}

func TestRecursiveAlias(t *testing.T) {
	_, errs := parseErrs(t, "a: &a [1, *a]\n", noEnv)
	wantErr(t, errs, source.CodeYAMLSyntax, at(1, 11), "a[1]", "alias *a is inside the value of its own anchor")
	// Twice per level: expanded to the nesting limit, this took seconds
	// (found by FuzzParse).
	start := time.Now()
	_, errs = parseErrs(t, "s: &d\n  x: *d\n  b:\n    <<: *d\n    r: 1\n", noEnv)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Parse took %v", d)
	}
	if len(errs) != 2 || errs[0].Pos != at(2, 6) || errs[1].Pos != at(4, 9) {
		t.Errorf("errors %v", errs)
	}
	// An alias after its anchor's value is complete is fine, however deep.
	root := parseOK(t, "a: &a {x: 1}\nb: {c: *a, d: [*a]}\n", noEnv)
	if root.Lookup("b", "d", "0", "x").Text != "1" {
		t.Error("alias not expanded")
	}
}

func TestVariables(t *testing.T) {
	env := envOf(map[string]string{
		"HOST": "db.internal", "PORT": "5432", "EMPTY": "", "RATIO": "0.25", "ON": "TRUE", "NOTHING": "null",
		"NL": "x\nsinks: {evil: true}", "COLON": "a: b", "FLOW": "{k: v}", "DOLLAR": "${HOST}",
	})
	src := `plain: ${HOST}
url: "postgres://${HOST}:${PORT}/db"
single: 'at ${HOST}'
port: ${PORT}
qport: "${PORT}"
sport: '${PORT}'
ratio: ${RATIO}
on: ${ON}
nothing: ${NOTHING}
suffix: ${PORT}x
def: ${UNSET:-fallback}
defempty: ${EMPTY:-fallback}
emptyok: ${EMPTY}
defdefault: ${UNSET:-}
escaped: $${HOST} and $$ and $5 and $
mixed: $${A} ${HOST}
nl: ${NL}
colon: ${COLON}
flow: ${FLOW}
twice: ${DOLLAR}
# a comment with ${NOPE} is never read
${KEY}: literal key
`
	root := parseOK(t, src, env)
	for _, tt := range []struct {
		key  string
		kind Kind
		text string
		vars string
	}{
		{"plain", String, "db.internal", "HOST"},
		{"url", String, "postgres://db.internal:5432/db", "HOST PORT"},
		{"single", String, "at db.internal", "HOST"},
		{"port", Int, "5432", "PORT"}, // a plain scalar that is one reference takes its YAML type
		{"qport", String, "5432", "PORT"},
		{"sport", String, "5432", "PORT"},
		{"ratio", Float, "0.25", "RATIO"},
		{"on", Bool, "true", "ON"},
		{"nothing", Null, "null", "NOTHING"},
		{"suffix", String, "5432x", "PORT"},
		{"def", String, "fallback", "UNSET:-fallback"},
		{"defempty", String, "fallback", "EMPTY:-fallback"}, // an empty value takes the default
		{"emptyok", String, "", "EMPTY"},
		{"defdefault", String, "", "UNSET:-"},
		{"escaped", String, "${HOST} and $$ and $5 and $", ""},
		{"mixed", String, "${A} db.internal", "HOST"},
		{"nl", String, "x\nsinks: {evil: true}", "NL"}, // never parsed as YAML
		{"colon", String, "a: b", "COLON"},
		{"flow", String, "{k: v}", "FLOW"},
		{"twice", String, "${HOST}", "DOLLAR"}, // substituted once, not again
	} {
		n := root.Get(tt.key)
		if n == nil {
			t.Errorf("%s: missing", tt.key)
			continue
		}
		var vars []string
		for _, v := range n.Vars {
			s := v.Name
			if v.HasDefault {
				s += ":-" + v.Default
			}
			vars = append(vars, s)
		}
		if n.Kind != tt.kind || n.Text != tt.text || strings.Join(vars, " ") != tt.vars || n.Bad {
			t.Errorf("%s = %s %q vars %v bad %v; want %s %q vars %s", tt.key, n.Kind, n.Text, vars, n.Bad, tt.kind, tt.text, tt.vars)
		}
		if (n.Raw != "") != (len(n.Vars) > 0) {
			t.Errorf("%s: Raw %q with %d vars", tt.key, n.Raw, len(n.Vars))
		}
	}
	if n := root.Get("url"); n.Raw != "postgres://${HOST}:${PORT}/db" {
		t.Errorf("url.Raw = %q", n.Raw)
	}
	// Values from the environment never change the document's structure.
	if got := strings.Join(root.Keys, ","); strings.Contains(got, "sinks") || strings.Contains(got, "evil") || !strings.HasSuffix(got, ",${KEY}") {
		t.Errorf("keys %s", got)
	}
	if n := root.Get("${KEY}"); n == nil || n.Text != "literal key" || len(n.Vars) != 0 {
		t.Errorf("a key was substituted: %+v", n)
	}
	// Describe never shows a value from the environment.
	if d := root.Get("plain").Describe(); d != "string from ${HOST}" {
		t.Errorf("Describe = %q", d)
	}
	if d := root.Get("port").Describe(); d != "int from ${PORT}" {
		t.Errorf("Describe = %q", d)
	}
}

func TestVariableErrors(t *testing.T) {
	env := envOf(map[string]string{"SET": "v"})
	for _, tt := range []struct {
		name, src string
		code      source.Code
		pos       source.Pos
		msg       string
	}{
		{"unset plain", "k: ${MISSING}\n", source.CodeUnsetVariable, at(1, 4), "environment variable MISSING is not set and has no default"},
		{"unset inside plain", "k: http://${MISSING}/x\n", source.CodeUnsetVariable, at(1, 11), "MISSING"},
		{"unset double", "k: \"a ${SET} ${MISSING}\"\n", source.CodeUnsetVariable, at(1, 14), "MISSING"},
		{"unset single", "k: 'ab ${MISSING}'\n", source.CodeUnsetVariable, at(1, 8), "MISSING"},
		{"unset nested", "a:\n  b:\n    - x\n    - y ${MISSING}\n", source.CodeUnsetVariable, at(4, 9), "MISSING"},
		{"unset multibyte before", "k: \"é ${MISSING}\"\n", source.CodeUnsetVariable, at(1, 7), "MISSING"}, // columns count characters
		{"unset multibyte plain", "k: 日本 ${MISSING}\n", source.CodeUnsetVariable, at(1, 7), "MISSING"},
		{"unset multibyte block", "k: |\n  日本 ${MISSING}\n", source.CodeUnsetVariable, at(2, 6), "MISSING"},
		{"unset literal block", "k: |\n  first\n  sec ${MISSING}\n", source.CodeUnsetVariable, at(3, 7), "MISSING"},
		{"unset folded block", "k: >-\n    one\n    two ${MISSING}\n", source.CodeUnsetVariable, at(3, 9), "MISSING"},
		{"bad name digit", "k: ${1ABC}\n", source.CodeBadVariable, at(1, 4), "bad variable reference ${1ABC}"},
		{"bad name dash", "k: x${A-B}\n", source.CodeBadVariable, at(1, 5), "${A-B}"},
		{"empty name", "k: ${}\n", source.CodeBadVariable, at(1, 4), "bad variable reference ${}"},
		{"spaces", "k: '${ SET }'\n", source.CodeBadVariable, at(1, 5), "${ SET }"},
		{"empty name default", "k: ${:-x}\n", source.CodeBadVariable, at(1, 4), "${:-x}"},
		{"unterminated", "k: abc ${SET\n", source.CodeBadVariable, at(1, 8), `unterminated variable reference "${SET"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := parseErrs(t, tt.src, env)
			wantErr(t, errs, tt.code, tt.pos, errs[0].Path, tt.msg)
			if errs[0].Path == "" {
				t.Errorf("no path")
			}
			var bad *Node
			for n := f.Root; n != nil && len(n.Items) > 0; n = n.Items[len(n.Items)-1] {
				bad = n.Items[len(n.Items)-1]
			}
			if bad == nil || !bad.Bad {
				t.Errorf("the scalar is not marked Bad: %+v", bad)
			}
		})
	}
	// Every unset variable is reported, each at its own place.
	_, errs := parseErrs(t, "a: ${X} ${Y}\nb: \"${Z}\"\n", noEnv)
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%d:%d %s", e.Pos.Line, e.Pos.Column, strings.Fields(e.Message)[2]))
	}
	if strings.Join(got, ", ") != "1:4 X, 1:9 Y, 2:5 Z" {
		t.Errorf("errors %v", got)
	}
}

func TestRoot(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# only a comment\n", "---\n", "~\n", "null\n"} {
		root := parseOK(t, src, noEnv)
		if len(root.Keys) != 0 || root.Pos.Line < 1 {
			t.Errorf("Parse(%q) root %+v", src, root)
		}
	}
	for _, tt := range []struct {
		src  string
		kind string
	}{{"- a\n- b\n", "list"}, {"just text\n", "string"}, {"42\n", "int"}} {
		f, errs := parseErrs(t, tt.src, noEnv)
		wantErr(t, errs, source.CodeTypeMismatch, at(1, 1), "", "the config must be a mapping of keys such as sources, sinks and pipelines, got "+tt.kind)
		if f == nil || f.Root == nil {
			t.Errorf("Parse(%q) returned no root", tt.src)
		}
	}
}

func TestSecondDocument(t *testing.T) {
	_, errs := parseErrs(t, "a: 1\n---\nb: 2\n", noEnv)
	wantErr(t, errs, source.CodeYAMLSyntax, at(3, 1), "", "a second YAML document")
	// Document markers alone are fine.
	parseOK(t, "---\na: 1\n...\n", noEnv)
	parseOK(t, "a: 1\n---\n", noEnv)
	parseOK(t, "a: 1\n--- # nothing here\n", noEnv)
}

func TestDepthLimit(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	parseErrs(t, ok, noEnv) // a list root: only the type error
	deep := "a: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n"
	_, errs := parseErrs(t, deep, noEnv)
	if len(errs) != 1 || errs[0].Code != source.CodeYAMLSyntax || errs[0].Pos.Line != 1 || !strings.Contains(errs[0].Message, "nesting deeper than 100 levels") {
		t.Errorf("errors %v", errs)
	}
	var b strings.Builder
	for i := range 120 {
		fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat(" ", i), i)
	}
	_, errs = parseErrs(t, b.String(), noEnv)
	if len(errs) != 1 || errs[0].Pos.Line != 102 || !strings.HasSuffix(errs[0].Path, ".k99.k100") {
		t.Errorf("block nesting: %v", errs)
	}
}

func TestOffsetPos(t *testing.T) {
	src := "a: plain text\nb: \"dq text\"\nc: 'sq text'\nd: |\n  line one\n\n  line three\ne: >\n    folded one\n    folded two\n"
	root := parseOK(t, src, noEnv)
	for _, tt := range []struct {
		key, find string
		pos       source.Pos
	}{
		{"a", "text", at(1, 10)},
		{"b", "text", at(2, 8)},
		{"c", "text", at(3, 8)},
		{"d", "one", at(5, 8)},
		{"d", "three", at(7, 8)},
		{"e", "one", at(9, 12)},
		{"e", "two", at(10, 12)},
	} {
		n := root.Get(tt.key)
		off := strings.Index(n.Text, tt.find)
		if got := OffsetPos(n, off); got != tt.pos {
			t.Errorf("%s: %q at %v, want %v", tt.key, tt.find, got, tt.pos)
		}
	}
}
