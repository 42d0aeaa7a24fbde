// Package config parses a rivven-connect YAML document into a tree of
// positioned nodes and substitutes ${VAR} references into its scalar values.
// Its one entry verb is Parse; it knows nothing of what the keys mean (that
// is package check's job).
package config

import (
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/compiler/source"
)

// Kind is the shape of a node.
type Kind uint8

// Node kinds.
const (
	Null Kind = iota
	Bool
	Int
	Float
	String
	Map
	Seq
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "map", "list"}

func (k Kind) String() string { return kindNames[k] }

// Style is how a scalar was written, which decides how a column inside the
// value maps to a column in the file.
type Style uint8

// Scalar styles.
const (
	Plain Style = iota
	SingleQuoted
	DoubleQuoted
	Literal // | or > block scalar
)

// Node is one YAML value with its position. A Node is immutable after
// Parse, except that the checker may retype a quoted scalar that is exactly
// one ${VAR} reference to the kind the schema expects (see check.coerce).
type Node struct {
	Kind Kind
	// Pos is where the value starts; KeyPos where the key naming it in its
	// parent map starts (zero for the root and list items).
	Pos, KeyPos source.Pos
	// Text is the scalar's text after ${VAR} substitution (empty for maps
	// and lists).
	Text  string
	Style Style
	// Keys and Items hold a map's entries in document order (Keys[i] names
	// Items[i]), or a list's items (Keys nil).
	Keys  []string
	Items []*Node
	// Vars lists the variables substituted into Text, in order. A node with
	// Vars is environment-dependent: code generators must read it at start-up
	// rather than bake Text in, and Text may be a secret.
	Vars []Var
	// Raw is the scalar as written, before substitution (set only when Vars
	// is non-empty).
	Raw string
	// Bad marks a scalar whose substitution failed, or whose value does not
	// fit its explicit tag (!!int abc); the failure is already reported, and
	// later stages skip their own complaints about its value.
	Bad bool

	block *block // block scalars: where their lines are, for OffsetPos
	// index maps the keys of a map with many of them to their position in
	// Keys, so that Get does not scan them (Parse builds it).
	index map[string]int
}

// indexedKeys is the number of keys from which Parse indexes a map.
const indexedKeys = 16

// buildIndex indexes the keys of a map node with many of them.
func (n *Node) buildIndex() {
	if len(n.Keys) < indexedKeys {
		return
	}
	n.index = make(map[string]int, len(n.Keys))
	for i, k := range n.Keys {
		n.index[k] = i
	}
}

// Var is one ${NAME} or ${NAME:-default} reference inside a scalar.
type Var struct {
	Name       string
	Default    string
	HasDefault bool
}

// Get returns the value of key in a map node, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	if n.index != nil {
		if i, ok := n.index[key]; ok {
			return n.Items[i]
		}
		return nil
	}
	for i, k := range n.Keys {
		if k == key {
			return n.Items[i]
		}
	}
	return nil
}

// Lookup follows path (map keys, or decimal list indexes) from n and
// returns the node there, or nil.
func (n *Node) Lookup(path ...string) *Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch n.Kind {
		case Map:
			n = n.Get(p)
		case Seq:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n.Items) {
				return nil
			}
			n = n.Items[i]
		default:
			return nil
		}
	}
	return n
}

// Nearest returns the deepest node along path from n and how many elements
// of path it consumed. It is used to position errors about missing keys.
func (n *Node) Nearest(path ...string) (*Node, int) {
	cur := n
	for i, p := range path {
		next := cur.Lookup(p)
		if next == nil {
			return cur, i
		}
		cur = next
	}
	return cur, len(path)
}

// Interface returns the node as plain Go data: map[string]any, []any,
// int64, float64, bool, string or nil.
func (n *Node) Interface() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Map:
		m := make(map[string]any, len(n.Keys))
		for i, k := range n.Keys {
			m[k] = n.Items[i].Interface()
		}
		return m
	case Seq:
		s := make([]any, len(n.Items))
		for i, it := range n.Items {
			s[i] = it.Interface()
		}
		return s
	case Bool:
		return n.Text == "true"
	case Int:
		i, err := parseInt(n.Text)
		if err != nil {
			return n.Text
		}
		return i
	case Float:
		f, err := parseFloat(n.Text)
		if err != nil {
			return n.Text
		}
		return f
	case String:
		return n.Text
	}
	return nil
}

// Describe renders a scalar for messages, e.g. `string "abc"`, `int 7`,
// hiding the text of environment-dependent values (they may be secrets).
func (n *Node) Describe() string {
	switch n.Kind {
	case Map, Seq, Null:
		return n.Kind.String()
	}
	if len(n.Vars) > 0 {
		return n.Kind.String() + " from ${" + n.Vars[0].Name + "}"
	}
	if n.Kind == String {
		return "string " + strconv.Quote(n.Text)
	}
	return n.Kind.String() + " " + n.Text
}

// JoinPath renders a config path as dotted text; list indexes appear as
// [i] and keys that are not identifiers are quoted.
func JoinPath(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if isIdent(p) {
			b.WriteString(p)
		} else {
			b.WriteString(strconv.Quote(p))
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
