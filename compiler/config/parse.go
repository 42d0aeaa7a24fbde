package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rivven/rivven-connect/compiler/source"
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
// error, which is all a YAML parser can report.
func Parse(name string, data []byte, env Env) (*File, source.Errors) {
	p := &parser{file: name, env: env}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
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
	return f, p.errs.Sorted()
}

type parser struct {
	file string
	env  Env
	errs source.Errors
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

func (p *parser) syntaxError(err error) {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	pos := source.Pos{File: p.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			pos.Line, _ = strconv.Atoi(m[1])
			pos.Column = 1
		}
		msg = m[2]
	}
	p.errs.Add(pos, source.CodeYAMLSyntax, "", "%s", msg)
}

func (p *parser) pos(n *yaml.Node) source.Pos {
	return source.Pos{File: p.file, Line: n.Line, Column: n.Column}
}

const maxDepth = 100

func (p *parser) node(y *yaml.Node, path []string, depth int) *Node {
	if depth > maxDepth {
		p.errs.Add(p.pos(y), source.CodeYAMLSyntax, JoinPath(path), "nesting deeper than %d levels", maxDepth)
		return &Node{Kind: Null, Pos: p.pos(y)}
	}
	pos := p.pos(y)
	if y.Kind == yaml.AliasNode {
		if y.Alias == nil {
			return &Node{Kind: Null, Pos: pos}
		}
		n := p.node(y.Alias, path, depth+1)
		c := *n
		c.Pos = pos
		return &c
	}
	switch y.Kind {
	case yaml.MappingNode:
		n := &Node{Kind: Map, Pos: pos}
		seen := map[string]bool{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				p.errs.Add(p.pos(k), source.CodeTypeMismatch, JoinPath(path), "map keys must be plain strings")
				continue
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				p.merge(n, v, path, depth, seen)
				continue
			}
			if seen[k.Value] {
				p.errs.Add(p.pos(k), source.CodeDuplicateKey, JoinPath(append(path, k.Value)), "key %q appears more than once in this mapping", k.Value)
				continue
			}
			seen[k.Value] = true
			child := p.node(v, append(path[:len(path):len(path)], k.Value), depth+1)
			child.KeyPos = p.pos(k)
			n.Keys = append(n.Keys, k.Value)
			n.Items = append(n.Items, child)
		}
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

// merge applies a YAML merge key (<<: *anchor): keys not set explicitly are
// taken from the merged mapping(s).
func (p *parser) merge(n *Node, v *yaml.Node, path []string, depth int, seen map[string]bool) {
	m := p.node(v, path, depth+1)
	var maps []*Node
	switch m.Kind {
	case Map:
		maps = []*Node{m}
	case Seq:
		maps = m.Items
	}
	for _, mm := range maps {
		for i, k := range mm.Keys {
			if !seen[k] {
				seen[k] = true
				n.Keys = append(n.Keys, k)
				n.Items = append(n.Items, mm.Items[i])
			}
		}
	}
}

func (p *parser) scalar(y *yaml.Node, path []string) *Node {
	n := &Node{Pos: p.pos(y), Text: y.Value}
	switch {
	case y.Style&yaml.DoubleQuotedStyle != 0:
		n.Style = DoubleQuoted
	case y.Style&yaml.SingleQuotedStyle != 0:
		n.Style = SingleQuoted
	case y.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		n.Style = Literal
	}
	switch y.ShortTag() {
	case "!!null":
		n.Kind = Null
	case "!!bool":
		n.Kind = Bool
		n.Text = strings.ToLower(y.Value)
	case "!!int":
		n.Kind = Int
		if _, err := parseInt(y.Value); err != nil {
			p.errs.Add(n.Pos, source.CodeOutOfRange, JoinPath(path), "integer %s does not fit in 64 bits", y.Value)
		}
	case "!!float":
		n.Kind = Float
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
	text := n.Text
	n.Raw = text
	var b strings.Builder
	whole := false
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "$")
		if j < 0 {
			b.WriteString(text[i:])
			break
		}
		b.WriteString(text[i : i+j])
		i += j
		switch {
		case strings.HasPrefix(text[i:], "$${"):
			b.WriteString("${")
			i += 3
			continue
		case !strings.HasPrefix(text[i:], "${"):
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			p.errs.Add(p.offsetPos(n, i), source.CodeBadVariable, JoinPath(path), "unterminated variable reference %q: expected ${NAME} or ${NAME:-default}", text[i:])
			n.Bad = true
			return
		}
		ref := text[i+2 : i+end]
		v := Var{Name: ref}
		if k := strings.Index(ref, ":-"); k >= 0 {
			v = Var{Name: ref[:k], Default: ref[k+2:], HasDefault: true}
		}
		if !validVarName(v.Name) {
			p.errs.Add(p.offsetPos(n, i), source.CodeBadVariable, JoinPath(path), "bad variable reference ${%s}: a name is letters, digits and _, not starting with a digit", ref)
			n.Bad = true
			return
		}
		if i == 0 && end == len(text)-1 {
			whole = true
		}
		n.Vars = append(n.Vars, v)
		val, ok := p.env(v.Name)
		switch {
		case ok && (val != "" || !v.HasDefault):
		case v.HasDefault:
			val = v.Default
		default:
			p.errs.Add(p.offsetPos(n, i), source.CodeUnsetVariable, JoinPath(path), "environment variable %s is not set and has no default (write ${%s:-default} to give one)", v.Name, v.Name)
			n.Bad = true
		}
		b.WriteString(val)
		i += end + 1
	}
	n.Text = b.String()
	if whole && n.Style == Plain {
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
// file position: exact for single-line plain and quoted scalars without
// escapes; for block scalars it counts lines from the line after the
// indicator.
func OffsetPos(n *Node, off int) source.Pos {
	pos := n.Pos
	switch n.Style {
	case SingleQuoted, DoubleQuoted:
		pos.Column += 1 + off
	case Literal:
		line := strings.Count(n.Text[:min(off, len(n.Text))], "\n")
		col := off - (strings.LastIndexByte(n.Text[:min(off, len(n.Text))], '\n') + 1)
		pos.Line += 1 + line
		pos.Column = col + 1 // indentation unknown here; approximate
	default:
		pos.Column += off
	}
	return pos
}

func validVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
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
