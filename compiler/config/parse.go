package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime/envsubst"
)

// File is a parsed config document.
type File struct {
	Name string
	Root *Node // a Map node, possibly empty
}

// Env looks a variable up; ok is false when it is unset. os.LookupEnv fits.
type Env func(name string) (value string, ok bool)

// Parse parses data (named name in positions) and substitutes ${VAR}
// references from env into scalar values. It reports every problem it finds,
// sorted; when the YAML itself is malformed it stops at the first syntax
// error, which is all a YAML parser can report. A file holds one document:
// a second one is an error, not silently ignored. A file over one of the
// limits of limits.go gets an error naming the limit (the file is nil when
// it is over MaxFileSize, MaxValues or MaxAliased: nothing else is
// checked).
func Parse(name string, data []byte, env Env) (*File, source.Errors) {
	p := &parser{file: name, env: env, src: data}
	if p.sizeLimit(data) || p.scanLimits(data) {
		return nil, p.errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decode(dec, &doc); err != nil && err != io.EOF {
		p.syntaxError(err)
		return nil, p.errs.Sorted()
	}
	f := &File{Name: name}
	switch {
	case doc.Kind == 0 || len(doc.Content) == 0:
		f.Root = &Node{Kind: Map, Pos: source.Pos{File: name, Line: 1, Column: 1}}
	default:
		f.Root = p.node(doc.Content[0], nil, 0)
		if f.Root.Kind == Null {
			f.Root = &Node{Kind: Map, Pos: f.Root.Pos}
		}
		if f.Root.Kind != Map {
			p.errs.Add(f.Root.Pos, source.CodeTypeMismatch, "", "the config must be a mapping of keys such as sources, sinks and pipelines, got %s", f.Root.Kind)
		}
	}
	if p.tooMany {
		// Nothing is checked of a document over a limit of its size: the
		// error names the limit.
		return nil, p.errs.Sorted()
	}
	var next yaml.Node
	switch err := decode(dec, &next); {
	case err == io.EOF:
	case err != nil:
		p.syntaxError(err)
	case len(next.Content) > 0 && !isNull(next.Content[0]):
		p.errs.Add(p.pos(next.Content[0]), source.CodeYAMLSyntax, "", "a second YAML document starts here; a config file holds one document")
	}
	return f, p.errs.Sorted()
}

// decode is dec.Decode, turning a panic of the YAML library into an error.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

// isNull reports whether y is an empty document's content.
func isNull(y *yaml.Node) bool {
	return y.Kind == yaml.ScalarNode && y.ShortTag() == "!!null" && y.Value == ""
}

type parser struct {
	file   string
	env    Env
	src    []byte
	line   struct{ n, off int } // the start of a line of src (lineStart)
	blocks map[*yaml.Node]*block
	errs   source.Errors
	// values counts the nodes built (MaxValues); aliased those built while
	// expanding aliases, which each copy their anchor's tree: a few lines
	// of YAML can otherwise expand to billions of nodes (MaxAliased).
	values, aliased, aliasDepth int
	// tooMany is set once a limit of the document's size is passed: the
	// rest is not built.
	tooMany bool
	// open holds the anchored nodes being built, to catch an alias inside
	// its own anchor's value (&a [*a]), which would never end.
	open map[*yaml.Node]bool
}

func (p *parser) pos(n *yaml.Node) source.Pos {
	return source.Pos{File: p.file, Line: n.Line, Column: n.Column}
}

func (p *parser) node(y *yaml.Node, path []string, depth int) *Node {
	pos := p.pos(y)
	if p.tooMany {
		return &Node{Kind: Null, Pos: pos, Bad: true}
	}
	if depth > MaxDepth {
		p.errs.Add(pos, source.CodeYAMLSyntax, JoinPath(path), "%s", tooDeep())
		return &Node{Kind: Null, Pos: pos, Bad: true}
	}
	if p.values++; p.values > MaxValues {
		p.tooMany = true
		p.errs.Add(pos, source.CodeYAMLSyntax, JoinPath(path), "%s", tooManyValues())
		return &Node{Kind: Null, Pos: pos, Bad: true}
	}
	if p.aliasDepth > 0 {
		if p.aliased++; p.aliased > MaxAliased {
			p.tooMany = true
			p.errs.Add(pos, source.CodeYAMLSyntax, JoinPath(path), "aliases expand to more than %d values; that is the limit of a config file", MaxAliased)
			return &Node{Kind: Null, Pos: pos, Bad: true}
		}
	}
	if y.Anchor != "" { // its value may not contain an alias to itself
		if p.open == nil {
			p.open = map[*yaml.Node]bool{}
		}
		p.open[y] = true
		defer delete(p.open, y)
	}
	if y.Kind == yaml.AliasNode {
		if y.Alias == nil {
			return &Node{Kind: Null, Pos: pos}
		}
		if p.open[y.Alias] {
			p.errs.Add(pos, source.CodeYAMLSyntax, JoinPath(path), "alias *%s is inside the value of its own anchor", y.Value)
			return &Node{Kind: Null, Pos: pos, Bad: true}
		}
		p.aliasDepth++
		n := p.node(y.Alias, path, depth+1)
		p.aliasDepth--
		c := *n
		c.Pos = pos
		return &c
	}
	switch y.Kind {
	case yaml.MappingNode:
		if p.values += len(y.Content) / 2; p.values > MaxValues { // the keys
			p.tooMany = true
			p.errs.Add(pos, source.CodeYAMLSyntax, JoinPath(path), "%s", tooManyValues())
			return &Node{Kind: Null, Pos: pos, Bad: true}
		}
		n := &Node{Kind: Map, Pos: pos}
		// Keys set explicitly win over merged ones (<<: *anchor), wherever
		// the merge key stands in the mapping.
		explicit := map[string]bool{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			if k := y.Content[i]; k.Kind == yaml.ScalarNode && !isMergeKey(k) {
				explicit[k.Value] = true
			}
		}
		have := map[string]bool{} // keys in n
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				p.errs.Add(p.pos(k), source.CodeTypeMismatch, JoinPath(path), "map keys must be plain strings")
				continue
			}
			if isMergeKey(k) {
				p.merge(n, v, path, depth, have, explicit)
				continue
			}
			if k.ShortTag() == "!!null" && k.Value == "" {
				p.errs.Add(p.pos(k), source.CodeYAMLSyntax, JoinPath(path), "a key is missing: nothing names the value after this ':'")
				continue
			}
			if len(k.Value) > MaxKeyLength {
				p.errs.Add(p.pos(k), source.CodeYAMLSyntax, JoinPath(path), "a key of %d bytes; a key is at most %d bytes", len(k.Value), MaxKeyLength)
				continue
			}
			if have[k.Value] {
				p.errs.Add(p.pos(k), source.CodeDuplicateKey, JoinPath(append(path, k.Value)), "key %q appears more than once in this mapping", k.Value)
				continue
			}
			have[k.Value] = true
			child := p.node(v, append(path[:len(path):len(path)], k.Value), depth+1)
			child.KeyPos = p.pos(k)
			n.Keys = append(n.Keys, k.Value)
			n.Items = append(n.Items, child)
		}
		n.buildIndex()
		return n
	case yaml.SequenceNode:
		n := &Node{Kind: Seq, Pos: pos}
		for i, it := range y.Content {
			n.Items = append(n.Items, p.node(it, append(path[:len(path):len(path)], strconv.Itoa(i)), depth+1))
		}
		return n
	case yaml.ScalarNode:
		return p.scalar(y, path)
	}
	return &Node{Kind: Null, Pos: pos}
}

func isMergeKey(k *yaml.Node) bool { return k.Value == "<<" && k.ShortTag() == "!!merge" }

// merge applies a YAML merge key (<<: *anchor, or a list of them): keys not
// set explicitly in n are taken from the merged mapping(s), an earlier
// mapping of the list winning over a later one.
func (p *parser) merge(n *Node, v *yaml.Node, path []string, depth int, have, explicit map[string]bool) {
	m := p.node(v, path, depth+1)
	var maps []*Node
	switch m.Kind {
	case Map:
		maps = []*Node{m}
	case Seq:
		maps = m.Items
	}
	if m.Bad {
		return // already reported
	}
	if maps == nil {
		p.errs.Add(m.Pos, source.CodeTypeMismatch, JoinPath(path), "a merge key (<<) takes a mapping or a list of mappings, got %s", m.Kind)
		return
	}
	for _, mm := range maps {
		if mm.Kind != Map {
			if !mm.Bad {
				p.errs.Add(mm.Pos, source.CodeTypeMismatch, JoinPath(path), "a merge key (<<) takes a mapping or a list of mappings, got a list holding a %s", mm.Kind)
			}
			continue
		}
		for i, k := range mm.Keys {
			if !explicit[k] && !have[k] {
				have[k] = true
				n.Keys = append(n.Keys, k)
				n.Items = append(n.Items, mm.Items[i])
			}
		}
	}
}

func (p *parser) scalar(y *yaml.Node, path []string) *Node {
	n := &Node{Pos: p.pos(y), Text: y.Value}
	if len(y.Value) > MaxScalarLength {
		p.errs.Add(n.Pos, source.CodeYAMLSyntax, JoinPath(path), "a value of %d bytes; a value is at most %d bytes (64 KiB)", len(y.Value), MaxScalarLength)
		n.Kind, n.Text, n.Bad = Null, "", true
		return n
	}
	switch {
	case y.Style&yaml.DoubleQuotedStyle != 0:
		n.Style = DoubleQuoted
	case y.Style&yaml.SingleQuotedStyle != 0:
		n.Style = SingleQuoted
	case y.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		n.Style = Literal
	}
	if n.Style == Literal {
		if p.blocks == nil {
			p.blocks = map[*yaml.Node]*block{}
		}
		b, ok := p.blocks[y]
		if !ok { // aliases meet the same scalar again
			b = p.blockLines(y)
			p.blocks[y] = b
		}
		n.block = b
	}
	tag := y.ShortTag()
	if tag == "!!float" && y.Style == 0 {
		// A plain -0 is an int in the YAML 1.2 core schema; the library
		// makes it a float to keep the sign.
		if _, err := parseInt(y.Value); err == nil {
			tag = "!!int"
		}
	}
	switch tag {
	case "!!null":
		n.Kind = Null
	case "!!bool":
		n.Kind = Bool
		n.Text = strings.ToLower(y.Value)
		if n.Text != "true" && n.Text != "false" {
			p.errs.Add(n.Pos, source.CodeInvalidValue, JoinPath(path), "%q is not a bool (true or false)", y.Value)
			n.Bad = true
		}
	case "!!int":
		n.Kind = Int
		if _, err := parseInt(y.Value); err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
				p.errs.Add(n.Pos, source.CodeOutOfRange, JoinPath(path), "integer %s does not fit in 64 bits", y.Value)
			} else {
				p.errs.Add(n.Pos, source.CodeInvalidValue, JoinPath(path), "%q is not an integer", y.Value)
			}
			n.Bad = true
		}
	case "!!float":
		n.Kind = Float
		if _, err := parseFloat(y.Value); err != nil {
			p.errs.Add(n.Pos, source.CodeInvalidValue, JoinPath(path), "%q is not a number", y.Value)
			n.Bad = true
		}
	default:
		n.Kind = String
	}
	if n.Kind == String && strings.Contains(y.Value, "$") {
		p.substitute(n, path)
	}
	return n
}

// substitute replaces ${NAME} and ${NAME:-default} in n.Text; $${ is a
// literal ${. A plain scalar that is exactly one reference takes the type
// the substituted text would have had in YAML (so port: ${PORT} is an int).
func (p *parser) substitute(n *Node, path []string) {
	out, refs, whole, errs := envsubst.Expand(n.Text, p.env)
	for _, r := range refs {
		n.Vars = append(n.Vars, Var{Name: r.Name, Default: r.Default, HasDefault: r.HasDefault})
	}
	for _, e := range errs {
		code := source.CodeBadVariable
		if e.Unset {
			code = source.CodeUnsetVariable
		}
		p.errs.Add(p.offsetPos(n, e.Offset), code, JoinPath(path), "%s", e.Message)
		n.Bad = true
	}
	if len(n.Vars) > 0 {
		n.Raw = n.Text
	}
	n.Text = out
	if whole && n.Style == Plain && !n.Bad {
		n.Kind = resolvePlain(n.Text)
		if n.Kind == Bool {
			n.Text = strings.ToLower(n.Text)
		}
	}
}

// offsetPos maps a byte offset inside n's text to a file position. It is
// exact for single-line plain and quoted scalars without escapes, which is
// where references and expressions live in practice.
func (p *parser) offsetPos(n *Node, off int) source.Pos {
	return OffsetPos(n, off)
}

// OffsetPos maps a byte offset inside n.Text (as written in the file) to a
// file position, whose column counts characters as the YAML parser's do:
// exact for single-line plain and quoted scalars without escapes, and for
// literal (|) block scalars; for folded (>) ones exact until the first
// blank line.
func OffsetPos(n *Node, off int) source.Pos {
	pos := n.Pos
	off = max(0, min(off, len(n.Text)))
	switch n.Style {
	case SingleQuoted, DoubleQuoted:
		pos.Column += 1 + utf8.RuneCountInString(n.Text[:off])
	case Literal:
		if b := n.block; b != nil {
			return b.pos(pos, off)
		}
		line := strings.Count(n.Text[:off], "\n")
		col := utf8.RuneCountInString(n.Text[strings.LastIndexByte(n.Text[:off], '\n')+1 : off])
		pos.Line += 1 + line
		pos.Column = col + 1 // indentation unknown here; approximate
	default:
		pos.Column += utf8.RuneCountInString(n.Text[:off])
	}
	return pos
}

// block describes the source lines of a block scalar's content.
type block struct {
	indent int      // spaces before the content on each line
	lines  []string // each content line, indentation removed
	folded bool     // > rather than |
}

// pos maps an offset into the scalar's text to the position in the file,
// start being the position of the | or > indicator.
func (b *block) pos(start source.Pos, off int) source.Pos {
	for i, l := range b.lines {
		if off <= len(l) || i == len(b.lines)-1 {
			col := utf8.RuneCountInString(l[:max(0, min(off, len(l)))])
			return source.Pos{File: start.File, Line: start.Line + 1 + i, Column: b.indent + col + 1}
		}
		off -= len(l) + 1 // the line and the line break (or, folded, the space)
		if b.folded && l != "" && i+1 < len(b.lines) && b.lines[i+1] == "" {
			off++ // folding drops the line break before blank lines
		}
	}
	return source.Pos{File: start.File, Line: start.Line + 1, Column: b.indent + 1}
}

// blockLines reads the content lines of the block scalar y from the source:
// those after its indicator's line, indented at least as much as the
// first non-blank one. It returns nil when the source does not look as
// expected (the positions are then approximate).
func (p *parser) blockLines(y *yaml.Node) *block {
	if y.Line < 1 {
		return nil
	}
	off := p.lineStart(y.Line + 1)
	if off < 0 {
		return nil
	}
	b := &block{indent: -1, folded: y.Style&yaml.FoldedStyle != 0}
	var blank []int // spaces on blank lines not yet known to be content
	for off < len(p.src) {
		l := p.src[off:]
		if i := bytes.IndexByte(l, '\n'); i >= 0 {
			l, off = l[:i], off+i+1
		} else {
			off = len(p.src)
		}
		l = bytes.TrimSuffix(l, []byte("\r"))
		spaces := len(l) - len(bytes.TrimLeft(l, " "))
		if spaces == len(l) {
			blank = append(blank, spaces)
			continue
		}
		if b.indent < 0 {
			b.indent = spaces
		}
		if spaces < b.indent {
			break
		}
		for _, sp := range blank {
			b.lines = append(b.lines, strings.Repeat(" ", max(0, sp-b.indent)))
		}
		blank = blank[:0]
		b.lines = append(b.lines, string(l[b.indent:]))
	}
	if b.indent <= 0 {
		return nil
	}
	return b
}

// lineStart returns the offset in the source where line n (1-based,
// counting line feeds) starts, -1 past the end. Block scalars come in
// document order, so it goes on from the line it found last.
func (p *parser) lineStart(n int) int {
	if n < p.line.n || p.line.n == 0 {
		p.line.n, p.line.off = 1, 0
	}
	for p.line.n < n {
		i := bytes.IndexByte(p.src[p.line.off:], '\n')
		if i < 0 {
			return -1
		}
		p.line.off += i + 1
		p.line.n++
	}
	return p.line.off
}

// resolvePlain gives the YAML 1.2 core-schema type of a plain scalar.
func resolvePlain(s string) Kind {
	switch strings.ToLower(s) {
	case "true", "false":
		return Bool
	case "null", "~":
		return Null
	}
	if _, err := parseInt(s); err == nil {
		return Int
	}
	if _, err := parseFloat(s); err == nil && s != "" && strings.ContainsAny(s, "0123456789") {
		return Float
	}
	return String
}

func parseInt(s string) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	if strings.HasPrefix(s, "0o") || strings.HasPrefix(s, "0O") {
		return strconv.ParseInt(s[2:], 8, 64)
	}
	return strconv.ParseInt(s, 0, 64)
}

func parseFloat(s string) (float64, error) {
	switch strings.ToLower(s) {
	case ".inf", "+.inf":
		return strconv.ParseFloat("+Inf", 64)
	case "-.inf":
		return strconv.ParseFloat("-Inf", 64)
	case ".nan":
		return strconv.ParseFloat("NaN", 64)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return f, nil
}
