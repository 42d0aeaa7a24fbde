package broker

import (
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// MaxTopicLength is the longest topic name rivvend accepts.
const MaxTopicLength = 255

// ValidateTopic applies rivvend's topic-name rules: 1 to 255 characters of
// [a-zA-Z0-9._-], not starting with '_' (rivvend reserves those names for
// internal topics and refuses them), '.' or '-', and without "..". The
// error says which rule the name breaks.
func ValidateTopic(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name must not be empty")
	case name[0] == '_':
		return fmt.Errorf("topic name %q starts with '_': rivvend reserves such names for internal topics and refuses them", name)
	case len(name) > MaxTopicLength:
		return fmt.Errorf("topic name %q is %d bytes long; rivvend allows at most %d", name, len(name), MaxTopicLength)
	case strings.Contains(name, ".."):
		return fmt.Errorf("topic name %q contains \"..\", which rivvend refuses", name)
	}
	for i := 0; i < len(name); i++ {
		if !topicByte(name[i]) {
			return fmt.Errorf("topic name %q contains %q: rivvend allows only letters, digits, '.', '_' and '-'", name, rune(name[i]))
		}
	}
	if c := name[0]; c == '.' || c == '-' {
		return fmt.Errorf("topic name %q must start with a letter or a digit", name)
	}
	return nil
}

func topicByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Placeholders are the names a topic template may use:
//
//	{stream}     the record's stream
//	{namespace}  the record's namespace
//	{schema}     the namespace, else the part of the stream before its last '.'
//	{table}      the part of the stream after its last '.' (the whole stream if none)
//	{database}   the string metadata key "database" of the record
var Placeholders = []string{"stream", "namespace", "schema", "table", "database"}

// Template is a parsed topic template such as "cdc.{database}.{schema}.{table}".
// A template without placeholders is a fixed topic.
type Template struct {
	parts []part
}

type part struct {
	lit string // literal text, when name == ""
	ph  string // placeholder name
}

// ParseTemplate parses and checks s: braces must pair up around a known
// placeholder, and the literal text must be valid in a topic name (a fixed
// topic is checked with ValidateTopic).
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	rest := s
	for rest != "" {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		if rest[i] == '}' {
			return nil, fmt.Errorf("topic %q has a '}' without its '{'", s)
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("topic %q has a '{' without its '}'", s)
		}
		name := rest[i+1 : i+j]
		known := false
		for _, p := range Placeholders {
			known = known || p == name
		}
		if !known {
			return nil, fmt.Errorf("topic %q uses unknown placeholder {%s} (valid: {%s})", s, name, strings.Join(Placeholders, "}, {"))
		}
		t.parts = append(t.parts, part{ph: name})
		rest = rest[i+j+1:]
	}
	if t.Fixed() {
		if err := ValidateTopic(s); err != nil {
			return nil, err
		}
		return t, nil
	}
	// Check the literal text with every placeholder standing for "x".
	if err := ValidateTopic(t.render(func(string) string { return "x" })); err != nil {
		if s != "" && s[0] == '_' {
			return nil, fmt.Errorf("topic %q starts with '_': rivvend reserves such names for internal topics and refuses them", s)
		}
		return nil, fmt.Errorf("topic template %q cannot give a valid topic name: %v", s, err)
	}
	return t, nil
}

// Fixed reports whether t has no placeholders.
func (t *Template) Fixed() bool {
	for _, p := range t.parts {
		if p.ph != "" {
			return false
		}
	}
	return true
}

// Uses reports whether t uses placeholder name.
func (t *Template) Uses(name string) bool {
	for _, p := range t.parts {
		if p.ph == name {
			return true
		}
	}
	return false
}

func (t *Template) render(value func(string) string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.ph == "" {
			b.WriteString(p.lit)
		} else {
			b.WriteString(value(p.ph))
		}
	}
	return b.String()
}

// Render returns the topic of r. It does not validate the result.
func (t *Template) Render(r *runtime.Record) (string, error) {
	var missing string
	out := t.render(func(name string) string {
		switch name {
		case "stream":
			return r.Stream
		case "namespace":
			if r.Namespace == "" && missing == "" {
				missing = "a namespace"
			}
			return r.Namespace
		case "schema":
			if r.Namespace != "" {
				return r.Namespace
			}
			if i := strings.LastIndexByte(r.Stream, '.'); i > 0 {
				return r.Stream[:i]
			}
			if missing == "" {
				missing = "a namespace (or a stream named schema.table)"
			}
			return ""
		case "table":
			if i := strings.LastIndexByte(r.Stream, '.'); i >= 0 {
				return r.Stream[i+1:]
			}
			return r.Stream
		case "database":
			if v, ok := r.Meta.Get("database"); ok && v.Kind() == runtime.KindString {
				return v.AsString()
			}
			if missing == "" {
				missing = `the string metadata key "database"`
			}
			return ""
		}
		return ""
	})
	if missing != "" {
		return "", fmt.Errorf("topic template needs %s, which records of stream %q do not have", missing, r.Stream)
	}
	return out, nil
}
