package golden

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/golden/goldentest"
)

// The mutation harness: every golden config and example, mutated the ways
// a config goes wrong (bit flips, lines deleted, duplicated or swapped,
// values of another type, huge values, unicode, CRLF, anchors and aliases,
// deep nesting, several documents, hundreds of thousands of keys, values
// from ${VAR}), is run through compiler.Compile and rendered as
// `rivven-connect check` (text), `check --format json` and `explain` render
// it. Each run must end in under mutantBudget without a panic, every error
// must have a line and a column, and no value of a variable may appear in
// any output (SPEC §2.1).

// mutantBudget is the longest a check of one file may take.
const mutantBudget = 2 * time.Second

// fuzzBudget is mutantBudget under the fuzzer's instrumentation, which
// slows every check several times over.
const fuzzBudget = 10 * time.Second

// mutantHardLimit is when a run is abandoned (and counted slow), so one
// runaway input cannot hold the whole test.
const mutantHardLimit = 60 * time.Second

// mutant is one mutated config and the environment it is checked in.
type mutant struct {
	name string
	data []byte
	env  map[string]string
	// secrets are the values of variables that must never be shown: every
	// env value containing "canary", and the canaries a mutation made up.
	secrets []string
	vars    int // canary variables made so far
}

// seedConfig is a config the mutations start from.
type seedConfig struct {
	name string
	data []byte
	env  map[string]string
}

// mutationSeeds returns the pipeline.yaml of every golden case and every
// examples/*.yaml, in a fixed order.
func mutationSeeds(t testing.TB) []seedConfig {
	cases, err := goldentest.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	var out []seedConfig
	for _, c := range cases {
		out = append(out, seedConfig{name: c.Name, data: []byte(c.Sections["pipeline.yaml"]), env: c.Env})
	}
	files, _ := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, seedConfig{name: "examples/" + filepath.Base(f), data: b, env: map[string]string{}})
	}
	if len(out) < 2 {
		t.Fatalf("only %d seed configs", len(out))
	}
	// The smallest configs of issue 12 that panicked check: a transform
	// without its config block.
	for _, typ := range []string{"filter", "field-mask"} {
		out = append(out, seedConfig{name: "issue-12/" + typ + "-without-config", env: map[string]string{},
			data: []byte("sources: {g: {connector: datagen}}\nsinks: {o: {connector: stdout}}\ntransforms: {m: {type: " + typ + "}}\npipelines: {p: {source: g, sink: o, transforms: [m]}}\n")})
	}
	return out
}

// A mutator changes m.data (and may add variables to m.env) using r.
// A heavy one makes files near the limits of config.Parse, which take
// hundreds of milliseconds: TestCheckMutations runs it for some seeds.
type mutator struct {
	name  string
	fn    func(r *rand.Rand, m *mutant)
	heavy bool
}

// mutators are the kinds of mutation, each applied to every seed.
var mutators = []mutator{
	{"bitflip", func(r *rand.Rand, m *mutant) {
		for range 1 + r.IntN(4) {
			if len(m.data) == 0 {
				return
			}
			m.data[r.IntN(len(m.data))] ^= 1 << r.IntN(8)
		}
	}, false},
	{"byte-insert", func(r *rand.Rand, m *mutant) {
		special := []byte{0x00, 0x07, '\t', 0x0b, 0x1b, 0x7f, 0x80, 0xc0, 0xfe, 0xff, '"', '\'', '{', '}', '[', ']', ':', '&', '*', '!', '%', '@', '`', '|', '>', '#', '-', '?', ',', '\\', '\r', ' ', '\n'}
		for range 1 + r.IntN(3) {
			m.data = insertAt(m.data, r.IntN(len(m.data)+1), []byte{special[r.IntN(len(special))]})
		}
	}, false},
	{"delete-line", func(r *rand.Rand, m *mutant) {
		lines := splitKeep(m.data)
		for range 1 + r.IntN(2) {
			if len(lines) == 0 {
				break
			}
			i := r.IntN(len(lines))
			lines = append(lines[:i], lines[i+1:]...)
		}
		m.data = bytes.Join(lines, nil)
	}, false},
	{"duplicate-line", func(r *rand.Rand, m *mutant) {
		lines := splitKeep(m.data)
		if len(lines) == 0 {
			return
		}
		i := r.IntN(len(lines))
		l := append([]byte(nil), lines[i]...)
		if !bytes.HasSuffix(l, []byte("\n")) {
			l = append(l, '\n')
		}
		lines = append(lines[:i+1], append([][]byte{l}, lines[i+1:]...)...)
		m.data = bytes.Join(lines, nil)
	}, false},
	{"swap-lines", func(r *rand.Rand, m *mutant) {
		lines := splitKeep(m.data)
		if len(lines) < 2 {
			return
		}
		ensureNewline(lines)
		i := r.IntN(len(lines) - 1)
		j := i + 1
		if r.IntN(2) == 0 {
			j = r.IntN(len(lines))
		}
		lines[i], lines[j] = lines[j], lines[i]
		m.data = bytes.Join(lines, nil)
	}, false},
	{"truncate", func(r *rand.Rand, m *mutant) {
		m.data = m.data[:r.IntN(len(m.data)+1)]
	}, false},
	{"swap-type", func(r *rand.Rand, m *mutant) {
		others := []string{`"text"`, `42`, `-1`, `3.5`, `true`, `null`, `~`, `[]`, `{}`, `[1, 2]`, `{a: 1}`, `""`, `0x1F`, `1e400`,
			`99999999999999999999`, `.nan`, `-.inf`, `!!binary aGk=`, `!!int abc`, `!!str 5`, `!!map {}`, `!custom x`, `2026-01-01`, `yes`, `0o17`, `'5'`}
		for range 1 + r.IntN(3) {
			replaceValue(r, m, nil, others[r.IntN(len(others))])
		}
	}, false},
	{"huge-list", func(r *rand.Rand, m *mutant) {
		n := []int{10_000, 100_000, 150_000}[r.IntN(3)]
		list := "[" + strings.Repeat("1,", n-1) + "1]"
		replaceValue(r, m, []string{"max_events", "events_per_second", "seed", "max_records", "fields", "topics", "transforms", "bootstrap_servers", "streams"}, list)
	}, false},
	{"huge-list-of-maps", func(r *rand.Rand, m *mutant) {
		n := []int{5_000, 20_000, 50_000}[r.IntN(3)]
		list := "[" + strings.Repeat("{name: t, x: [1]},", n-1) + "{name: t}]"
		replaceValue(r, m, []string{"streams", "fields", "topics", "transforms", "bootstrap_servers"}, list)
	}, false},
	{"huge-scalar", func(r *rand.Rand, m *mutant) {
		n := []int{5_000, 200_000, 2_000_000}[r.IntN(3)]
		var v string
		switch r.IntN(4) {
		case 0:
			v = strings.Repeat("x", n)
		case 1:
			v = `"` + strings.Repeat(`a\u00e9 `, n/8) + `"`
		case 2:
			v = "total_amount > 1" + strings.Repeat(" && quantity > 1", n/17)
		default:
			v = "'" + strings.Repeat("ab ", n/3) + "'"
		}
		replaceValue(r, m, []string{"condition", "connector", "type", "source", "sink", "pattern", "format", "version", "when", "salt", "topic"}, v)
	}, false},
	{"huge-key", func(r *rand.Rand, m *mutant) {
		n := []int{1_000, 100_000}[r.IntN(2)]
		key := strings.Repeat("k", n)
		spans := valueSpans(m.data)
		if len(spans) == 0 {
			return
		}
		s := spans[r.IntN(len(spans))]
		if r.IntN(2) == 0 {
			key = `"` + key + `"`
		}
		m.data = splice(m.data, s.keyStart, s.keyEnd, key)
	}, false},
	{"unicode", func(r *rand.Rand, m *mutant) {
		bits := []string{"\u200b", "\u202e", "é", "日本", "🙂", "\ufeff", "\u2028", "\u0085", "\u00a0", "e\u0301", "\U0001F600", "\x7f", "\u2029", "\ufffd", "\U0010FFFF", "\xed\xa0\x80"}
		for range 1 + r.IntN(3) {
			b := bits[r.IntN(len(bits))]
			if spans := valueSpans(m.data); len(spans) > 0 && r.IntN(2) == 0 {
				s := spans[r.IntN(len(spans))]
				at := s.keyStart + r.IntN(s.valEnd-s.keyStart+1)
				m.data = insertAt(m.data, at, []byte(b))
				continue
			}
			m.data = insertAt(m.data, r.IntN(len(m.data)+1), []byte(b))
		}
	}, false},
	{"crlf", func(r *rand.Rand, m *mutant) {
		switch r.IntN(3) {
		case 0:
			m.data = bytes.ReplaceAll(m.data, []byte("\n"), []byte("\r\n"))
		case 1:
			m.data = bytes.ReplaceAll(m.data, []byte("\n"), []byte("\r"))
		default: // mixed
			var out []byte
			for _, c := range m.data {
				if c == '\n' {
					out = append(out, [][]byte{[]byte("\n"), []byte("\r\n"), []byte("\r"), []byte("\n\r")}[r.IntN(4)]...)
					continue
				}
				out = append(out, c)
			}
			m.data = out
		}
	}, false},
	{"anchor-alias", func(r *rand.Rand, m *mutant) {
		spans := valueSpans(m.data)
		if len(spans) < 2 {
			return
		}
		i, j := r.IntN(len(spans)), r.IntN(len(spans))
		a, b := spans[i], spans[j]
		if a.valStart > b.valStart {
			a, b = b, a
		}
		if a.valStart == b.valStart {
			m.data = splice(m.data, a.valStart, a.valStart, "&self ")
			return
		}
		// b after a: replace b first so a's offsets hold.
		alias := "*v"
		if r.IntN(3) == 0 {
			alias = "{<<: *v, extra: 1}"
		}
		m.data = splice(m.data, b.valStart, b.valEnd, alias)
		m.data = splice(m.data, a.valStart, a.valStart, "&v ")
	}, false},
	{"unknown-alias", func(r *rand.Rand, m *mutant) {
		replaceValue(r, m, nil, []string{"*nowhere", "[*nowhere]", "{<<: *nowhere}", "*", "&", "&a", "&a *a"}[r.IntN(7)])
	}, false},
	{"many-anchors", func(r *rand.Rand, m *mutant) {
		n := []int{1_000, 5_000, 20_000}[r.IntN(3)]
		var b strings.Builder
		b.WriteString("x-defs:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - &a%d {k%d: v, n: [1, 2, 3]}\n", i, i)
		}
		b.WriteString("x-uses: [")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", r.IntN(n))
		}
		b.WriteString("]\n")
		if r.IntN(2) == 0 {
			m.data = append([]byte(b.String()), m.data...)
		} else {
			m.data = append(ensureTrailingNewline(m.data), b.String()...)
		}
	}, false},
	{"alias-bomb", func(r *rand.Rand, m *mutant) {
		var b strings.Builder
		b.WriteString("x-bomb:\n  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
		levels := 5 + r.IntN(20)
		for i := 1; i <= levels; i++ {
			fmt.Fprintf(&b, "  - &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
		}
		m.data = append([]byte(b.String()), m.data...)
		replaceValue(r, m, []string{"fields", "topics", "streams", "transforms", "config"}, fmt.Sprintf("*l%d", levels))
	}, false},
	{"deep-flow", func(r *rand.Rand, m *mutant) {
		n := []int{101, 1_000, 10_000, 100_000}[r.IntN(4)]
		var v string
		switch r.IntN(3) {
		case 0:
			v = strings.Repeat("[", n) + strings.Repeat("]", n)
		case 1:
			v = strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n)
		default:
			v = strings.Repeat("[", n) // unclosed
		}
		replaceValue(r, m, nil, v)
	}, false},
	{"deep-block", func(r *rand.Rand, m *mutant) {
		n := []int{50, 150, 2_000, 20_000}[r.IntN(4)]
		var b strings.Builder
		b.WriteString("x-deep:\n")
		if r.IntN(3) == 0 { // lists in lists on one line
			b.WriteString(strings.Repeat("- ", n) + "x\n")
			m.data = append(ensureTrailingNewline(m.data), b.String()...)
			return
		}
		n = min(n, 2_000)
		for i := range n {
			b.WriteString(strings.Repeat(" ", i+1))
			if r.IntN(2) == 0 {
				b.WriteString("- \n")
			} else {
				b.WriteString("k:\n")
			}
		}
		m.data = append(ensureTrailingNewline(m.data), b.String()...)
	}, false},
	{"multi-doc", func(r *rand.Rand, m *mutant) {
		switch r.IntN(6) {
		case 0:
			m.data = append(append(ensureTrailingNewline(m.data), "---\n"...), m.data...)
		case 1:
			m.data = append([]byte("---\n"), m.data...)
		case 2:
			m.data = append(ensureTrailingNewline(m.data), "...\n"...)
		case 3:
			m.data = append(ensureTrailingNewline(m.data), "---\n"...)
		case 4:
			m.data = append([]byte("%YAML 1.2\n--- !!map\n"), m.data...)
		default:
			lines := splitKeep(m.data)
			ensureNewline(lines)
			i := r.IntN(len(lines) + 1)
			lines = append(lines[:i], append([][]byte{[]byte("---\n")}, lines[i:]...)...)
			m.data = bytes.Join(lines, nil)
		}
		for range 50 * r.IntN(2) {
			m.data = append(m.data, "---\na: 1\n"...)
		}
	}, false},
	{"many-keys", func(r *rand.Rand, m *mutant) {
		var b strings.Builder
		switch r.IntN(4) {
		case 0: // top level
			for i := range 200_000 {
				fmt.Fprintf(&b, "k%d: %d\n", i, i)
			}
			m.data = append(ensureTrailingNewline(m.data), b.String()...)
		case 1: // one flow map
			b.WriteString("{")
			for i := range 200_000 {
				fmt.Fprintf(&b, "k%d: %d, ", i, i)
			}
			b.WriteString("z: 0}")
			replaceValue(r, m, []string{"config", "settings", "sources", "sinks", "pipelines", "transforms"}, b.String())
		case 2: // duplicated keys
			for range 200_000 {
				b.WriteString("version: \"1.0\"\n")
			}
			m.data = append(ensureTrailingNewline(m.data), b.String()...)
		default: // many pipelines that refer to nothing
			b.WriteString("x-pipelines: {}\npipelines:\n")
			for i := range 20_000 {
				fmt.Fprintf(&b, "  p%d: {source: s%d, sink: k%d, transforms: [t%d]}\n", i, i, i, i)
			}
			m.data = append(bytes.ReplaceAll(ensureTrailingNewline(m.data), []byte("\npipelines:"), []byte("\nold-pipelines:")), b.String()...)
		}
	}, false},
	{"env-var", func(r *rand.Rand, m *mutant) {
		targets := []string{"connector", "type", "source", "sink", "version", "pattern", "format", "strategy", "mode", "on_error",
			"dead_letter_sink", "mechanism", "compatibility", "log_level", "start_offset", "sync_mode", "address", "topic", "condition", "when"}
		for range 1 + r.IntN(3) {
			canaryValue(r, m, targets)
		}
	}, false},
	{"env-var-any", func(r *rand.Rand, m *mutant) {
		for range 1 + r.IntN(4) {
			canaryValue(r, m, nil)
		}
	}, false},
	{"env-var-list", func(r *rand.Rand, m *mutant) {
		// Items of lists: a pipeline's transforms, mask fields, topics.
		re := regexp.MustCompile(`(transforms|fields|topics|bootstrap_servers): \[([^\]\n]*)\]`)
		locs := re.FindAllSubmatchIndex(m.data, -1)
		if len(locs) == 0 {
			canaryValue(r, m, nil)
			return
		}
		l := locs[r.IntN(len(locs))]
		items := strings.Split(string(m.data[l[4]:l[5]]), ",")
		k := r.IntN(len(items))
		name, value := newCanary(r, m, strings.Trim(strings.TrimSpace(items[k]), `"'`))
		items[k] = " ${" + name + "}"
		if r.IntN(2) == 0 {
			items[k] = ` "${` + name + `}"`
		}
		_ = value
		m.data = splice(m.data, l[4], l[5], strings.TrimSpace(strings.Join(items, ",")))
	}, false},
	{"env-bad", func(r *rand.Rand, m *mutant) {
		bad := []string{"${", "${}", "${UNSET_RIVVEN_VAR}", "${1BAD}", "$${X}", "${A:-}", "${A:-${B}}", "x${RIVVEN_CANARY_MISSING}y", "${RIVVEN_CANARY_0", "'${ X }'"}
		replaceValue(r, m, nil, bad[r.IntN(len(bad))])
	}, false},
	{"drop-block", func(r *rand.Rand, m *mutant) {
		lines := splitKeep(m.data)
		ensureNewline(lines)
		var blocks []int // lines `key:` followed by more indented lines, or `key: {...}`
		for i, l := range lines {
			if k := blockKey.FindSubmatch(l); k != nil {
				blocks = append(blocks, i)
			}
		}
		if len(blocks) == 0 {
			return
		}
		i := blocks[r.IntN(len(blocks))]
		if r.IntN(3) == 0 {
			for _, b := range blocks { // prefer the config blocks
				if bytes.Contains(lines[b], []byte("config:")) && r.IntN(2) == 0 {
					i = b
				}
			}
		}
		indent := leadingSpaces(lines[i])
		end := i + 1
		for end < len(lines) && (len(bytes.TrimSpace(lines[end])) == 0 || leadingSpaces(lines[end]) > indent) {
			end++
		}
		key := blockKey.FindSubmatch(lines[i])[1]
		repl := [][]byte{nil, []byte(fmt.Sprintf("%s:\n", key)), []byte(fmt.Sprintf("%s: {}\n", key)), []byte(fmt.Sprintf("%s: []\n", key)), []byte(fmt.Sprintf("%s: null\n", key)), []byte(fmt.Sprintf("%s: 7\n", key))}[r.IntN(6)]
		out := append([][]byte(nil), lines[:i]...)
		if repl != nil {
			out = append(out, repl)
		}
		out = append(out, lines[end:]...)
		m.data = bytes.Join(out, nil)
		// Flow style: key: {...} on one line loses its block too.
		if r.IntN(2) == 0 {
			m.data = regexp.MustCompile(`, config: \{[^{}]*\}`).ReplaceAll(m.data, nil)
		}
	}, false},
	{"indent", func(r *rand.Rand, m *mutant) {
		lines := splitKeep(m.data)
		if len(lines) == 0 {
			return
		}
		for range 1 + r.IntN(2) {
			i := r.IntN(len(lines))
			switch r.IntN(3) {
			case 0:
				lines[i] = append([]byte(strings.Repeat(" ", 1+r.IntN(4))), lines[i]...)
			case 1:
				lines[i] = bytes.TrimLeft(lines[i], " ")
			default:
				lines[i] = append([]byte("\t"), lines[i]...)
			}
		}
		m.data = bytes.Join(lines, nil)
	}, false},
	{"rename-key", func(r *rand.Rand, m *mutant) {
		spans := valueSpans(m.data)
		if len(spans) == 0 {
			return
		}
		s := spans[r.IntN(len(spans))]
		key := string(m.data[s.keyStart:s.keyEnd])
		switch r.IntN(4) {
		case 0:
			key += "s"
		case 1:
			key = key[:len(key)-1]
		case 2:
			key = strings.ToUpper(key)
		default:
			key = "<<"
		}
		m.data = splice(m.data, s.keyStart, s.keyEnd, key)
	}, false},
	{"swap-sections", func(r *rand.Rand, m *mutant) {
		secs := []string{"sources", "sinks", "transforms", "pipelines", "settings", "broker", "schema_registry", "version"}
		a, b := secs[r.IntN(len(secs))], secs[r.IntN(len(secs))]
		m.data = bytes.ReplaceAll(m.data, []byte("\n"+a+":"), []byte("\n\x00TMP:"))
		m.data = bytes.ReplaceAll(m.data, []byte("\n"+b+":"), []byte("\n"+a+":"))
		m.data = bytes.ReplaceAll(m.data, []byte("\n\x00TMP:"), []byte("\n"+b+":"))
		if bytes.HasPrefix(m.data, []byte(a+":")) {
			m.data = append([]byte(b), m.data[len(a):]...)
		}
	}, false},
	{"tags", func(r *rand.Rand, m *mutant) {
		tags := []string{"!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!seq ", "!!map ", "!!binary ", "!!timestamp ", "!local ", "!<tag:yaml.org,2002:str> ", "!!merge "}
		spans := valueSpans(m.data)
		if len(spans) == 0 {
			return
		}
		s := spans[r.IntN(len(spans))]
		m.data = splice(m.data, s.valStart, s.valStart, tags[r.IntN(len(tags))])
	}, false},
	{"near-limits", func(r *rand.Rand, m *mutant) {
		// Files just under config.MaxValues of the shapes whose checking
		// costs the most per value: components, pipelines and references.
		var b strings.Builder
		rename := func(section string) {
			m.data = bytes.ReplaceAll(ensureTrailingNewline(m.data), []byte("\n"+section+":"), []byte("\nold-"+section+":"))
			if bytes.HasPrefix(m.data, []byte(section+":")) {
				m.data = append([]byte("old-"), m.data...)
			}
		}
		limit := config.MaxValues - bytesValues(m.data) - 10
		switch r.IntN(5) {
		case 0: // sources: 4 values each
			rename("sources")
			b.WriteString("sources:\n")
			for i := range limit / 4 {
				fmt.Fprintf(&b, "  s%d: {connector: datagen}\n", i)
			}
		case 1: // sources with a config: 8 values each
			rename("sources")
			b.WriteString("sources:\n")
			for i := range limit / 8 {
				fmt.Fprintf(&b, "  s%d: {connector: datagen, config: {seed: %d}}\n", i, i)
			}
		case 2: // pipelines naming what does not exist, among many names
			rename("pipelines")
			rename("sinks")
			b.WriteString("pipelines:\n")
			for i := range limit / 12 {
				fmt.Fprintf(&b, "  p%d: {source: s%d, sink: k%d}\n", i, i, i)
			}
			b.WriteString("sinks:\n")
			for i := range limit / 12 {
				fmt.Fprintf(&b, "  q%d: {connector: stdout}\n", i)
			}
		case 3: // a list just under the limit
			list := "[" + strings.Repeat("order_id, ", limit) + "order_id]"
			replaceValue(r, m, []string{"fields", "topics", "transforms", "bootstrap_servers", "tables"}, list)
		default: // unknown keys
			for i := range limit / 2 {
				fmt.Fprintf(&b, "k%d: %d\n", i, i)
			}
		}
		m.data = append(ensureTrailingNewline(m.data), b.String()...)
	}, true},
	{"huge-file", func(r *rand.Rand, m *mutant) {
		n := []int{5 << 20, 11 << 20}[r.IntN(2)]
		switch r.IntN(4) {
		case 0: // a comment
			m.data = append(append(ensureTrailingNewline(m.data), "# "...), bytes.Repeat([]byte("c"), n)...)
		case 1: // blank lines
			m.data = append(ensureTrailingNewline(m.data), bytes.Repeat([]byte("\n"), n)...)
		case 2: // a block scalar, blank lines, and a syntax error at the end
			m.data = append(ensureTrailingNewline(m.data), "x-text: |\n  text\n"...)
			m.data = append(append(m.data, bytes.Repeat([]byte("\n"), n)...), "x-end: [\n"...)
		default: // comment lines, and a syntax error at the end
			m.data = append(append(ensureTrailingNewline(m.data), bytes.Repeat([]byte("#c\r\n"), n/4)...), "x-end: 'unclosed\n"...)
		}
	}, false},
	{"none", func(r *rand.Rand, m *mutant) {}, false}, // the seed as it is
}

var blockKey = regexp.MustCompile(`^\s*(?:- )?([A-Za-z_][\w-]*):\s*(?:\{.*\}\s*)?(?:#.*)?\n?$`)

// span is where a `key: value` pair (block or flow) is in a config.
type span struct {
	keyStart, keyEnd, valStart, valEnd int
	key                                string
}

var pairRE = regexp.MustCompile(`(?m)([A-Za-z_][\w-]*):[ \t]+("[^"\n]*"|'[^'\n]*'|[^,{}\[\]\n#"']+?)[ \t]*(?:[,}\]]|#|$)`)

// valueSpans finds the scalar values written after a key.
func valueSpans(data []byte) []span {
	var out []span
	for _, l := range pairRE.FindAllSubmatchIndex(data, -1) {
		out = append(out, span{keyStart: l[2], keyEnd: l[3], valStart: l[4], valEnd: l[5], key: string(data[l[2]:l[3]])})
	}
	return out
}

// pick chooses a span, one whose key is in prefer when there is one (and
// r says so).
func pick(r *rand.Rand, spans []span, prefer []string) (span, bool) {
	if len(spans) == 0 {
		return span{}, false
	}
	if len(prefer) > 0 && r.IntN(4) != 0 {
		var good []span
		for _, s := range spans {
			for _, p := range prefer {
				if s.key == p {
					good = append(good, s)
				}
			}
		}
		if len(good) > 0 {
			return good[r.IntN(len(good))], true
		}
	}
	return spans[r.IntN(len(spans))], true
}

// replaceValue replaces a value (one of a key in prefer, preferably).
func replaceValue(r *rand.Rand, m *mutant, prefer []string, v string) {
	if s, ok := pick(r, valueSpans(m.data), prefer); ok {
		m.data = splice(m.data, s.valStart, s.valEnd, v)
		return
	}
	m.data = append(ensureTrailingNewline(m.data), "x: "+v+"\n"...)
}

// newCanary adds a variable to m's environment and returns its name and
// value: near is the value it replaces, made into a near miss (so that
// did-you-mean messages would show it) when it is a word, else a
// recognisable canary.
func newCanary(r *rand.Rand, m *mutant, near string) (name, value string) {
	name = fmt.Sprintf("RIVVEN_CANARY_%d", m.vars)
	m.vars++
	switch {
	case near != "" && len(near) < 40 && r.IntN(3) != 0 && !strings.ContainsAny(near, "${}"):
		value = near + "q"
	case r.IntN(5) == 0:
		value = fmt.Sprintf("-98765432%d", 10+m.vars)
	default:
		value = fmt.Sprintf("canary-value-%d", m.vars)
	}
	for bytes.Contains(m.data, []byte(value)) {
		value += "z"
	}
	m.env[name] = value
	m.secrets = append(m.secrets, value)
	return name, value
}

// canaryValue replaces a value (of a key in targets, preferably) with a
// reference to a new canary variable, written one of the ways SPEC §2.1
// allows.
func canaryValue(r *rand.Rand, m *mutant, targets []string) {
	s, ok := pick(r, valueSpans(m.data), targets)
	if !ok {
		return
	}
	name, _ := newCanary(r, m, strings.Trim(string(m.data[s.valStart:s.valEnd]), `"'`))
	forms := []string{"${%s}", "${%s}", `"${%s}"`, `'${%s}'`, "${%s:-fallback}", `"x-${%s}"`, "${%s}-y"}
	m.data = splice(m.data, s.valStart, s.valEnd, fmt.Sprintf(forms[r.IntN(len(forms))], name))
}

func splice(data []byte, from, to int, with string) []byte {
	out := make([]byte, 0, len(data)-(to-from)+len(with))
	out = append(out, data[:from]...)
	out = append(out, with...)
	return append(out, data[to:]...)
}

func insertAt(data []byte, at int, b []byte) []byte { return splice(data, at, at, string(b)) }

// splitKeep splits data into lines that keep their line feed.
func splitKeep(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out = append(out, append([]byte(nil), data...))
			break
		}
		out = append(out, append([]byte(nil), data[:i+1]...))
		data = data[i+1:]
	}
	return out
}

func ensureNewline(lines [][]byte) {
	if n := len(lines); n > 0 && !bytes.HasSuffix(lines[n-1], []byte("\n")) {
		lines[n-1] = append(lines[n-1], '\n')
	}
}

func ensureTrailingNewline(data []byte) []byte {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return append(data, '\n')
	}
	return data
}

// bytesValues counts the values of a config as config.MaxValues does
// (its lines, when it does not parse).
func bytesValues(data []byte) int {
	f, _ := config.Parse("c.yaml", data, func(string) (string, bool) { return "", false })
	if f == nil {
		return 4 * (bytes.Count(data, []byte("\n")) + 1)
	}
	var count func(n *config.Node) int
	count = func(n *config.Node) int {
		c := 1 + len(n.Keys)
		for _, it := range n.Items {
			c += count(it)
		}
		return c
	}
	return count(f.Root)
}

func leadingSpaces(l []byte) int { return len(l) - len(bytes.TrimLeft(l, " ")) }

// mutate applies mutation kind (an index into mutators) to seed, with the
// randomness of rnd.
func mutate(s seedConfig, kind int, rnd uint64) *mutant {
	mu := mutators[kind%len(mutators)]
	m := &mutant{
		name: fmt.Sprintf("%s/%s/%d", s.name, mu.name, rnd),
		data: append([]byte(nil), s.data...),
		env:  map[string]string{},
	}
	for k, v := range s.env {
		m.env[k] = v
		if strings.Contains(v, "canary") {
			m.secrets = append(m.secrets, v)
		}
	}
	mu.fn(rand.New(rand.NewPCG(rnd, uint64(kind))), m)
	// A secret the file itself now spells out is no longer only the
	// variable's.
	kept := m.secrets[:0]
	for _, s := range m.secrets {
		if !bytes.Contains(m.data, []byte(s)) {
			kept = append(kept, s)
		}
	}
	m.secrets = kept
	return m
}

// outcome is what checking one mutant did.
type outcome struct {
	Panicked   string        // the panic and its stack
	Took       time.Duration // how long the check and its rendering took
	Abandoned  bool          // still running at mutantHardLimit
	Unplaced   []string      // errors without a line or column
	Leaked     []string      // secrets found in an output, with the output
	ErrorCount int
}

// checkMutant runs m through compile and the renderings of check (text
// and JSON) and explain, as the CLI does.
func checkMutant(m *mutant) outcome {
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		var o outcome
		defer func() {
			if r := recover(); r != nil {
				o.Panicked = fmt.Sprintf("%v\n%s", r, debug.Stack())
			}
			o.Took = time.Since(start)
			done <- o
		}()
		lookup := func(k string) (string, bool) { v, ok := m.env[k]; return v, ok }
		p, errs := compiler.Compile("pipeline.yaml", m.data, lookup)
		outputs := map[string]string{}
		if len(errs) > 0 {
			outputs["check"] = errs.Error()
			outputs["check --format json"] = string(errs.JSON())
		} else if p != nil {
			outputs["explain"] = p.Dump()
		}
		o.ErrorCount = len(errs)
		for _, e := range errs {
			if e.Pos.Line < 1 || e.Pos.Column < 1 || e.Pos.File != "pipeline.yaml" || e.Code == "" || e.Message == "" {
				o.Unplaced = append(o.Unplaced, e.Error())
			}
		}
		for name, out := range outputs {
			for _, s := range m.secrets {
				if strings.Contains(out, s) {
					o.Leaked = append(o.Leaked, fmt.Sprintf("%s shows %q: %s", name, s, excerpt(out, s)))
				}
			}
		}
	}()
	select {
	case o := <-done:
		return o
	case <-time.After(mutantHardLimit):
		return outcome{Took: time.Since(start), Abandoned: true}
	}
}

// excerpt is the line of out holding s, shortened.
func excerpt(out, s string) string {
	i := strings.Index(out, s)
	from := strings.LastIndexByte(out[:i], '\n') + 1
	to := strings.IndexByte(out[i:], '\n')
	if to < 0 {
		to = len(out) - i
	}
	line := out[from : i+to]
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	return line
}

// problems lists what is wrong with an outcome, empty when nothing is.
func (o outcome) problems() []string { return o.problemsWithin(mutantBudget) }

// problemsWithin is problems with a time budget of its own.
func (o outcome) problemsWithin(budget time.Duration) []string {
	var out []string
	if o.Panicked != "" {
		out = append(out, "panic: "+o.Panicked)
	}
	if o.Abandoned {
		out = append(out, fmt.Sprintf("still running after %v", mutantHardLimit))
	} else if o.Took > budget {
		out = append(out, fmt.Sprintf("took %v (budget %v)", o.Took.Round(time.Millisecond), budget))
	}
	for _, u := range o.Unplaced {
		out = append(out, "error without a position: "+u)
	}
	out = append(out, o.Leaked...)
	return out
}

// mutationVariants is how many variants of each kind TestCheckMutations
// runs per seed (RIVVEN_MUTATION_VARIANTS overrides it).
func mutationVariants(t *testing.T) int {
	if v := os.Getenv("RIVVEN_MUTATION_VARIANTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("RIVVEN_MUTATION_VARIANTS=%q: want a positive integer", v)
		}
		return n
	}
	return 1
}

// TestCheckMutations checks every seed under every mutation kind (one
// variant each by default: about 2,600 files) and reports the counts of
// panics, slow runs, unpositioned errors and shown secrets.
func TestCheckMutations(t *testing.T) {
	if id := os.Getenv("RIVVEN_MUTANT"); id != "" {
		mutantChild(t, id)
		return
	}
	seeds := mutationSeeds(t)
	variants := mutationVariants(t)
	// RIVVEN_MUTATION_ISOLATE=1 checks each mutant in a process of its
	// own, killed at mutantIsolatedLimit: for measuring code where some
	// inputs run for minutes.
	isolate := os.Getenv("RIVVEN_MUTATION_ISOLATE") == "1"
	var panics, slow, unplacedFiles, unplacedErrs, leaks, total int
	var slowest time.Duration
	var slowestName string
	failures := map[string]int{} // reported per mutation kind and class, to keep the log short
	for si, s := range seeds {
		for k := range mutators {
			if mutators[k].heavy && si%heavyEvery != 0 && !isolate {
				continue
			}
			for v := range variants {
				m := mutate(s, k, uint64(si)*1000+uint64(v))
				var o outcome
				if isolate {
					o = checkMutantAlone(t, si, k, uint64(si)*1000+uint64(v))
				} else {
					o = checkMutant(m)
					// A wall-clock time over budget may be a busy machine
					// (2 cores shared with other test packages): measure
					// again and keep the fastest; a slow input stays slow.
					for retry := 0; retry < 2 && !o.Abandoned && o.Panicked == "" && o.Took > mutantBudget; retry++ {
						if again := checkMutant(m); again.Took < o.Took {
							o.Took = again.Took
						}
					}
				}
				total++
				if o.Took > slowest {
					slowest, slowestName = o.Took, m.name
				}
				if o.Panicked != "" {
					panics++
				}
				if o.Abandoned || o.Took > mutantBudget {
					slow++
				}
				if len(o.Unplaced) > 0 {
					unplacedFiles++
					unplacedErrs += len(o.Unplaced)
				}
				if len(o.Leaked) > 0 {
					leaks++
				}
				for _, p := range o.problems() {
					class := mutators[k].name + ": " + strings.SplitN(p, ":", 2)[0]
					if failures[class]++; failures[class] <= 2 {
						if len(p) > 2000 {
							p = p[:2000] + "…"
						}
						t.Errorf("%s: %s", m.name, p)
					}
				}
			}
		}
	}
	t.Logf("%d mutants of %d seeds: %d panics, %d over %v (slowest %v: %s), %d with errors without a position (%d errors), %d showing a variable's value",
		total, len(seeds), panics, slow, mutantBudget, slowest.Round(time.Millisecond), slowestName, unplacedFiles, unplacedErrs, leaks)
}

// heavyEvery: TestCheckMutations runs the heavy mutations for one seed
// in heavyEvery (the fuzz target for any).
const heavyEvery = 8

// mutantIsolatedLimit is when an isolated check is killed.
const mutantIsolatedLimit = 10 * time.Second

// checkMutantAlone checks mutant (seed si, kind k, rnd) in a child process
// (this test binary, running mutantChild), killed at mutantIsolatedLimit.
func checkMutantAlone(t *testing.T, si, k int, rnd uint64) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), mutantIsolatedLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCheckMutations$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("RIVVEN_MUTANT=%d:%d:%d", si, k, rnd))
	start := time.Now()
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return outcome{Took: time.Since(start), Abandoned: true}
	}
	_, js, ok := bytes.Cut(out, []byte("MUTANT-OUTCOME "))
	var o outcome
	if !ok || json.Unmarshal(bytes.SplitN(js, []byte("\n"), 2)[0], &o) != nil {
		t.Fatalf("mutant %d:%d:%d: child failed (%v): %s", si, k, rnd, err, out)
	}
	return o
}

// mutantChild checks the one mutant id names ("seed:kind:rnd") and prints
// its outcome for checkMutantAlone.
func mutantChild(t *testing.T, id string) {
	var si, k int
	var rnd uint64
	if _, err := fmt.Sscanf(id, "%d:%d:%d", &si, &k, &rnd); err != nil {
		t.Fatal(err)
	}
	o := checkMutant(mutate(mutationSeeds(t)[si], k, rnd))
	js, _ := json.Marshal(o)
	fmt.Printf("MUTANT-OUTCOME %s\n", js)
}

// FuzzCheckMutations mutates configs (the golden cases and examples are
// the corpus; the fuzzer mutates them further) with one mutation kind of
// the harness (kind indexes the mutators that are not heavy) and fails on a panic, a check over mutantBudget, an error
// without a position, or a variable's value in an output.
func FuzzCheckMutations(f *testing.F) {
	seeds := mutationSeeds(f)
	// The heavy mutations are left to TestCheckMutations: the fuzzer's
	// coverage instrumentation makes their hundreds of milliseconds seconds.
	var kinds []int
	for k, m := range mutators {
		if !m.heavy {
			kinds = append(kinds, k)
		}
	}
	// Configs with plugins load WebAssembly modules: wazero's compiler,
	// instrumented by the fuzzer, turns up "new coverage" on nearly every
	// run, and minimizing it leaves no time to fuzz the checker.
	// TestCheckMutations checks their mutants.
	for i, s := range seeds {
		if bytes.Contains(s.data, []byte("\nplugins:")) {
			continue
		}
		f.Add(s.data, uint8(i%len(kinds)), uint64(i))
	}
	env := map[string]string{}
	for _, s := range seeds {
		for k, v := range s.env {
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8, rnd uint64) {
		m := mutate(seedConfig{name: "fuzz", data: data, env: env}, kinds[int(kind)%len(kinds)], rnd)
		o := checkMutant(m)
		// The fuzzer's coverage instrumentation slows every check several
		// times over: a slow one is measured again (fastest of three) and
		// held to fuzzBudget; TestCheckMutations holds the uninstrumented
		// checks to mutantBudget.
		for retry := 0; retry < 2 && !o.Abandoned && o.Panicked == "" && o.Took > mutantBudget; retry++ {
			if again := checkMutant(m); again.Took < o.Took {
				o = again
			}
		}
		if ps := o.problemsWithin(fuzzBudget); len(ps) > 0 {
			t.Fatalf("%s:\n%s", m.name, strings.Join(ps, "\n"))
		}
	})
}
