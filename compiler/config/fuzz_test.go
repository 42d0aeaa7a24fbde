package config

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/compiler/source"
)

// FuzzParse parses arbitrary bytes. It must never panic; every error has a
// code, a message and a position (line and column at least 1) inside the
// input, a syntax error on a character of its line (or just past its end);
// errors come sorted; without errors the root is a map; and no key or value
// is ever read from the environment except through a ${…} written in a
// value.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`sources:
  orders:
    connector: datagen
    config: {pattern: orders, events_per_second: ${EPS:-100}, max_events: 1000, seed: 42}
transforms:
  big: {type: filter, config: {condition: 'total_amount > 100 && status != "cancelled"'}}
  pii: {type: field-mask, config: {fields: [customer_id], strategy: redact}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: orders, sink: out, transforms: [big, pii]}
`,
		`defaults: &d
  connector: datagen
  config:
    pattern: users
sources:
  a:
    <<: *d
  b:
    <<: *d
    connector: postgres-cdc
sinks:
  out:
    connector: rivven
    config:
      url: "rivven://${RIVVEN_HOST}:${RIVVEN_PORT:-9092}"
      password: $${not_a_var}
`,
		`transforms:
  mask:
    type: field-mask
    config:
      when: |
        quantity > ${MIN_QTY}
        && currency == "EUR"
      fields: [email]
      strategy: hash
      salt: ${SALT}
`,
		"a: [1, 2\n",
		"- just\n- a list\n",
		"a: 1\n---\nb: 2\n",
		"x: &a [*a, *a]\n",
		"k: ${1BAD} ${UNTERMINATED\n",
		"a: !!int abc\nb: !!float 1e999999\n",
		"é: \"日本 ${X}\"\n",
		"a:\n  \tb: 1\n",
		"a: 'x\xff'\nb: *nowhere\n",
		"a: {b: [1,\nc: 2\n",
	} {
		f.Add([]byte(seed))
	}
	env := envOf(map[string]string{"EPS": "5", "RIVVEN_HOST": "h", "SALT": "s\n: x", "MIN_QTY": "3", "X": "${X}"})
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		file, errs := Parse("f.yaml", data, env)
		if d := time.Since(start); d > 5*time.Second {
			// testdata/fuzz/FuzzParse/recursive-merge-alias once took
			// seconds: an alias inside its own anchor expanded to the
			// nesting limit, twice per level.
			t.Fatalf("Parse took %v", d)
		}
		for i, e := range errs {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("error without a code or message: %#v", e)
			}
			if e.Pos.File != "f.yaml" {
				t.Fatalf("error in file %q: %v", e.Pos.File, e)
			}
			if e.Pos.Line < 1 || e.Pos.Column < 1 {
				t.Fatalf("error without a line and column: %v", e)
			}
			if e.Pos.Line > lineBreaks(data)+2 {
				t.Fatalf("error past the end of the input: %v", e)
			}
			if lines := splitLines(data); e.Code == source.CodeYAMLSyntax && (e.Pos.Line > len(lines) || e.Pos.Column > utf8.RuneCountInString(lines[e.Pos.Line-1])+1) {
				t.Fatalf("syntax error outside its line: %v", e)
			}
			if i > 0 && e.Pos.Before(errs[i-1].Pos) {
				t.Fatalf("errors not sorted: %v", errs)
			}
		}
		if len(errs) == 0 {
			if file == nil || file.Root == nil || file.Root.Kind != Map {
				t.Fatalf("no errors, but root %+v", file)
			}
		}
		if file == nil {
			if len(errs) == 0 {
				t.Fatal("no file and no errors")
			}
			return
		}
		check(t, file.Root, data, 0)
	})
}

// lineBreaks counts the characters YAML may take as line breaks (a CR LF
// pair counts twice: this is a bound).
func lineBreaks(data []byte) int {
	n := 0
	for _, r := range string(data) {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}

// check walks a parsed tree: maps have one item per key, every node has a
// position inside the input, and a scalar holds text from the input unless
// a ${…} reference in the input put it there.
func check(t *testing.T, n *Node, data []byte, depth int) {
	if n == nil {
		t.Fatal("nil node")
	}
	if depth > MaxDepth+2 {
		t.Fatalf("tree deeper than the limit")
	}
	if n.Kind == Map && len(n.Keys) != len(n.Items) {
		t.Fatalf("map with %d keys and %d items", len(n.Keys), len(n.Items))
	}
	if n.Kind != Map && n.Keys != nil {
		t.Fatalf("%s with keys", n.Kind)
	}
	if n.Pos.Line < 1 || n.Pos.Column < 1 {
		t.Fatalf("%s node without a position: %v", n.Kind, n.Pos)
	}
	if len(n.Vars) > 0 {
		if !strings.Contains(string(data), "${") || n.Raw == "" {
			t.Fatalf("a node with variables %v that the input does not reference (raw %q)", n.Vars, n.Raw)
		}
		for _, v := range n.Vars {
			if !strings.Contains(n.Raw, "${"+v.Name) {
				t.Fatalf("variable %s is not in the raw text %q", v.Name, n.Raw)
			}
		}
	}
	if n.Kind == Bool && n.Text != "true" && n.Text != "false" && !n.Bad {
		t.Fatalf("bool %q", n.Text)
	}
	if (n.Kind == String || n.Kind == Int) && utf8.ValidString(n.Text) && !n.Bad {
		for off := 0; off <= len(n.Text); off += max(1, len(n.Text)/4) {
			if p := OffsetPos(n, off); p.Line < n.Pos.Line || p.Column < 1 {
				t.Fatalf("OffsetPos(%q, %d) = %v, before the scalar at %v", n.Text, off, p, n.Pos)
			}
		}
	}
	for _, it := range n.Items {
		check(t, it, data, depth+1)
	}
}
