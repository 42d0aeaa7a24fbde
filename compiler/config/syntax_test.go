package config

import (
	"strings"
	"testing"
)

// TestSyntaxErrors pins, for a corpus of broken files, the one error each
// gives: the line and column of the character at fault, the config path
// around it and the message.
func TestSyntaxErrors(t *testing.T) {
	deep := "a: " + strings.Repeat("[", 10001) + "\n"
	for _, tt := range []struct {
		name, src string
		want      string // c.yaml:line:col: yaml-syntax: path: message
	}{
		// Tabs, wherever they indent.
		{"tab indent", "a:\n\tb: 1\n", "c.yaml:2:1: yaml-syntax: .: tab characters are not allowed for indentation"},
		{"tab indent nested", "sources:\n  gen:\n\tconnector: x\n", "c.yaml:3:1: yaml-syntax: .: tab characters are not allowed for indentation"},
		{"tab first line", "\ta: 1\n", "c.yaml:1:1: yaml-syntax: .: tab characters are not allowed for indentation"},
		{"tab after spaces", "a:\n  \tb: 1\n", "c.yaml:2:3: yaml-syntax: a: tab characters are not allowed for indentation"},
		{"tab before spaces", "a:\n  b: x\n\t  c: y\n", "c.yaml:3:1: yaml-syntax: .: tab characters are not allowed for indentation"},
		{"tab before item", "a:\n\t- x\n", "c.yaml:2:1: yaml-syntax: .: tab characters are not allowed for indentation"},
		{"tab in block scalar", "a: |\n  x\n\ty\n", "c.yaml:3:1: yaml-syntax: .: tab characters are not allowed for indentation"},
		{"tab crlf", "a: 1\r\nb:\r\n\tc: 2\r\n", "c.yaml:3:1: yaml-syntax: .: tab characters are not allowed for indentation"},
		{"tab after multibyte", "é:\n  \tb: 2\n", "c.yaml:2:3: yaml-syntax: \"é\": tab characters are not allowed for indentation"},
		// Indentation.
		{"bad indentation", "sources:\n  gen:\n    connector: datagen\n   config: [unclosed\n",
			"c.yaml:4:4: yaml-syntax: sources.gen.config: bad indentation: this line starts at column 4, but the keys of the mapping at line 2 are at column 3"},
		{"bad dedent", "a:\n  b: 1\n c: 2\n", "c.yaml:3:2: yaml-syntax: a.c: bad indentation: this line starts at column 2, but the keys of the mapping at line 1 are at column 1"},
		{"over indent", "a: 1\nb: 2\n  c: 3\n", "c.yaml:3:4: yaml-syntax: b.c: mapping values are not allowed in this context"},
		{"value after value", "key: value: x\n", "c.yaml:1:11: yaml-syntax: key: mapping values are not allowed in this context"},
		// Unclosed quotes and brackets: at their opening.
		{"unclosed list", "a: [1, 2\n", "c.yaml:1:4: yaml-syntax: a: unclosed '[': no matching ']' before the end of the file"},
		{"unclosed map", "a: {b: 1\n", "c.yaml:1:4: yaml-syntax: a: unclosed '{': no matching '}' before the end of the file"},
		{"unclosed root map", "{a: 1, b\n", "c.yaml:1:1: yaml-syntax: .: unclosed '{': no matching '}' before the end of the file"},
		{"unclosed single", "a: 'x\n", "c.yaml:1:4: yaml-syntax: a: unclosed quote: the string that starts here has no closing '"},
		{"unclosed double", "a: \"x\nb: 2\n", "c.yaml:1:4: yaml-syntax: a: unclosed quote: the string that starts here has no closing \""},
		{"list then key", "a: [1, 2\nb: 3\n", "c.yaml:1:4: yaml-syntax: a: unclosed '[': no matching ']' before line 2"},
		{"map then key", "a:\n  b: {c: 1\n  d: 2\n", "c.yaml:2:6: yaml-syntax: a.b: unclosed '{': no matching '}' before line 3"},
		{"missing comma", "a: {b: 1\n    c: 2}\n", "c.yaml:2:6: yaml-syntax: a.c: did not find expected ',' or '}' (while parsing a flow mapping that starts at line 1, column 4)"},
		{"extra bracket", "a: [1, 2]]\n", "c.yaml:1:10: yaml-syntax: a: did not find expected key (while parsing a block mapping that starts at line 1, column 1)"},
		{"end of file", "list:\n  - a: 1\n  - b: [\n", "c.yaml:3:8: yaml-syntax: list[1].b: did not find expected node content at the end of the file"},
		// Aliases.
		{"unknown anchor", "a: *nope\n", "c.yaml:1:4: yaml-syntax: a: unknown anchor 'nope' referenced"},
		{"unknown anchor in list", "a: [1, *x]\n", "c.yaml:1:8: yaml-syntax: a: unknown anchor 'x' referenced"},
		{"unknown anchor nested", "a: 1\nb:\n  c: *nowhere\n", "c.yaml:3:6: yaml-syntax: b.c: unknown anchor 'nowhere' referenced"},
		{"anchor without name", "a: & x\n", "c.yaml:1:5: yaml-syntax: a: did not find expected alphabetic or numeric character (while scanning an anchor that starts at line 1, column 4)"},
		// Characters.
		{"bad utf-8", "a: \xff\n", "c.yaml:1:4: yaml-syntax: a: invalid UTF-8 (byte 0xff): a config file must be UTF-8 text"},
		{"bad utf-8 later", "a: 1\nb: ok\xc3\x28\n", "c.yaml:2:6: yaml-syntax: b: invalid UTF-8 (byte 0xc3): a config file must be UTF-8 text"},
		{"bad utf-8 after multibyte", "é: 1\nb: '日\xff'\n", "c.yaml:2:6: yaml-syntax: b: invalid UTF-8 (byte 0xff): a config file must be UTF-8 text"},
		{"control character", "a: \x01\n", "c.yaml:1:4: yaml-syntax: a: control character U+0001 is not allowed in YAML"},
		{"reserved character", "a: @x\n", "c.yaml:1:4: yaml-syntax: a: found character that cannot start any token"},
		{"bad escape", "a: \"\\q\"\n", "c.yaml:1:5: yaml-syntax: a: found unknown escape character (while scanning a quoted scalar that starts at line 1, column 4)"},
		// Lists and mappings mixed up.
		{"key after list", "- a\nb: 1\n", "c.yaml:2:1: yaml-syntax: b: did not find expected '-' indicator (while parsing a block collection that starts at line 1, column 1)"},
		{"key among items", "a:\n  - x\n  b: 1\n", "c.yaml:3:3: yaml-syntax: a.b: did not find expected '-' indicator (while parsing a block collection that starts at line 2, column 3)"},
		{"item as value", "a: - b\n", "c.yaml:1:4: yaml-syntax: a: block sequence entries are not allowed in this context"},
		{"item among keys", "- a: 1\n  - b\n", "c.yaml:2:3: yaml-syntax: [0].a[0]: did not find expected key (while parsing a block mapping that starts at line 1, column 3)"},
		{"text after quoted", "a: 'x' y\n", "c.yaml:1:8: yaml-syntax: a: did not find expected key (while parsing a block mapping that starts at line 1, column 1)"},
		{"missing key", ": x\n", "c.yaml:1:1: yaml-syntax: .: a key is missing: nothing names the value after this ':'"},
		// Documents and limits.
		{"later document", "a: 1\n---\nb: [\n", "c.yaml:3:4: yaml-syntax: b: did not find expected node content at the end of the file"},
		{"duplicate directive", "%YAML 1.1\n%YAML 1.1\n---\na: 1\n", "c.yaml:2:1: yaml-syntax: .: found duplicate %YAML directive"},
		{"max depth", deep, "c.yaml:1:104: yaml-syntax: a: nesting deeper than 100 levels"},
		{"block scalar after", "x:\n  y: |\n    text: here\n  z: [1,\n", "c.yaml:4:8: yaml-syntax: x.z: did not find expected node content at the end of the file"},
		{"quoted keys", "\"q k\": {a: 1}\n'p': 2\n  r: 3\n", "c.yaml:3:4: yaml-syntax: p.r: mapping values are not allowed in this context"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := parseErrs(t, tt.src, noEnv)
			if len(errs) != 1 || errs[0].Error() != tt.want {
				t.Errorf("Parse(%q) =\n%v\nwant\n%s", tt.src, errs, tt.want)
			}
			if f != nil && !strings.Contains(tt.src, "---") && tt.name != "missing key" {
				t.Errorf("Parse(%q) returned a file with a syntax error", tt.src)
			}
		})
	}
}

// TestLineCol checks the conversions between byte offsets and positions
// against every line break YAML knows.
func TestLineCol(t *testing.T) {
	src := []byte("\xef\xbb\xbfa\r\nbé\rc\u0085d\u2028e\u2029f\ng")
	for _, tt := range []struct {
		find      string
		line, col int
	}{{"a", 1, 1}, {"b", 2, 1}, {"é", 2, 2}, {"c", 3, 1}, {"d", 4, 1}, {"e", 5, 1}, {"f", 6, 1}, {"g", 7, 1}} {
		off := strings.Index(string(src), tt.find)
		if l, c := lineCol(src, off); l != tt.line || c != tt.col {
			t.Errorf("lineCol(%q) = %d:%d, want %d:%d", tt.find, l, c, tt.line, tt.col)
		}
		if got := offsetOf(src, tt.line, tt.col); got != off {
			t.Errorf("offsetOf(%d:%d) = %d, want %d", tt.line, tt.col, got, off)
		}
	}
	if got := offsetOf(src, 2, 9); got != strings.Index(string(src), "\rc") {
		t.Errorf("a column past the end of its line: %d", got)
	}
	if got := offsetOf(src, 99, 1); got != len(src) {
		t.Errorf("a line past the end: %d", got)
	}
}

// TestPathAt checks the path given to syntax errors on its own, where the
// YAML library cannot help.
func TestPathAt(t *testing.T) {
	src := `# comment
a:
  b:
    - x
    - y: 1
      z: |
        w: not a key
      v: 2
  "q k":
  - 1
  - 2
c: {d: 1}
---
e:
  f: 1
`
	for _, tt := range []struct {
		line, col int
		want      string
	}{
		{1, 1, ""}, {2, 1, "a"}, {3, 5, "a.b"}, {4, 7, "a.b[0]"}, {5, 9, "a.b[1].y"}, {7, 9, "a.b[1].z"},
		{8, 7, "a.b[1].v"}, {8, 3, "a"}, {8, 1, ""}, {9, 3, `a."q k"`}, {11, 5, `a."q k"[1]`}, {12, 5, "c"}, {15, 5, "e.f"}, {15, 3, "e.f"}, {15, 2, "e"}, {15, 1, ""},
	} {
		if got := JoinPath(pathAt([]byte(src), tt.line, tt.col)); got != tt.want {
			t.Errorf("pathAt(%d:%d) = %s, want %s", tt.line, tt.col, got, tt.want)
		}
	}
}
