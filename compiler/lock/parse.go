package lock

import (
	"fmt"
	"strconv"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// Parse reads the lock file data (named name in positions). Every
// problem is reported at its position, with the path of the key at fault;
// the lock is nil when there is any. A lock file holds no variables: a
// ${...} in it is an error (Write escapes a literal one as $${).
func Parse(name string, data []byte) (*Lock, source.Errors) {
	f, errs := config.Parse(name, data, func(string) (string, bool) { return "", false })
	if f == nil || len(errs) > 0 {
		return nil, errs
	}
	p := &parser{errs: errs}
	l := &Lock{File: name}
	root := f.Root
	if root.Kind != config.Map {
		p.errorf(root, nil, source.CodeTypeMismatch, "a schema lock file is a map with version and sources")
		return nil, p.errs
	}
	p.keys(root, nil, "version", "sources")
	switch v := root.Get("version"); {
	case v == nil:
		p.errorf(root, []string{"version"}, source.CodeMissingKey, "the lock file has no version (this build writes version %d)", Version)
	case v.Kind != config.Int || v.Text != strconv.Itoa(Version):
		p.errorf(v, []string{"version"}, source.CodeInvalidValue, "lock file version %s: this build reads version %d (write it again with rivven-connect discover --lock)", v.Text, Version)
	}
	srcs := root.Get("sources")
	if srcs == nil {
		p.errorf(root, []string{"sources"}, source.CodeMissingKey, "the lock file has no sources")
	} else if p.kind(srcs, []string{"sources"}, config.Map) {
		for i, name := range srcs.Keys {
			if s := p.source(name, srcs.Items[i]); s != nil {
				l.Sources = append(l.Sources, s)
			}
		}
	}
	if len(p.errs) > 0 {
		return nil, p.errs.Sorted()
	}
	return l, nil
}

type parser struct {
	errs source.Errors
}

func (p *parser) errorf(n *config.Node, path []string, code source.Code, format string, args ...any) {
	p.errs.Add(n.Pos, code, config.JoinPath(path), format, args...)
}

// kind reports whether n has kind k, reporting it otherwise.
func (p *parser) kind(n *config.Node, path []string, k config.Kind) bool {
	if n.Kind == k {
		return true
	}
	p.errorf(n, path, source.CodeTypeMismatch, "%s must be a %s, not a %s", config.JoinPath(path), k, n.Kind)
	return false
}

// keys reports the keys of map n that are not allowed.
func (p *parser) keys(n *config.Node, path []string, allowed ...string) {
	for i, k := range n.Keys {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			msg := fmt.Sprintf("unknown key %q in the lock file", k)
			if s := source.Suggest(k, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.errs.Add(n.Items[i].KeyPos, source.CodeUnknownKey, config.JoinPath(append(append([]string(nil), path...), k)), "%s", msg)
		}
	}
}

// str returns the string at key of map n, reporting a missing or
// non-string one when required.
func (p *parser) str(n *config.Node, path []string, key string, required bool) (string, bool) {
	v := n.Get(key)
	at := append(append([]string(nil), path...), key)
	if v == nil {
		if required {
			p.errorf(n, at, source.CodeMissingKey, "%s is missing", config.JoinPath(at))
		}
		return "", !required
	}
	if !p.kind(v, at, config.String) {
		return "", false
	}
	return v.Text, true
}

func (p *parser) source(name string, n *config.Node) *Source {
	path := []string{"sources", name}
	if !p.kind(n, path, config.Map) {
		return nil
	}
	p.keys(n, path, "connector", "streams")
	s := &Source{Name: name, Pos: n.Pos}
	s.Connector, _ = p.str(n, path, "connector", true)
	streams := n.Get("streams")
	if streams == nil {
		p.errorf(n, append(path, "streams"), source.CodeMissingKey, "source %q has no streams", name)
		return s
	}
	if !p.kind(streams, append(path, "streams"), config.Seq) {
		return s
	}
	seen := map[string]bool{}
	for i, it := range streams.Items {
		st := p.stream(it, append(path, "streams", strconv.Itoa(i)))
		if st == nil {
			continue
		}
		if seen[st.FullName()] {
			p.errorf(it, append(path, "streams", strconv.Itoa(i)), source.CodeDuplicateKey, "stream %s is locked twice", st.FullName())
			continue
		}
		seen[st.FullName()] = true
		s.Streams = append(s.Streams, st)
	}
	return s
}

func (p *parser) stream(n *config.Node, path []string) *Stream {
	if !p.kind(n, path, config.Map) {
		return nil
	}
	p.keys(n, path, "name", "namespace", "key", "columns")
	st := &Stream{Pos: n.Pos}
	var ok bool
	if st.Name, ok = p.str(n, path, "name", true); !ok {
		return nil
	}
	st.Namespace, _ = p.str(n, path, "namespace", false)
	cols := n.Get("columns")
	if cols == nil {
		p.errorf(n, append(path, "columns"), source.CodeMissingKey, "stream %s has no columns", st.FullName())
		return nil
	}
	if !p.kind(cols, append(path, "columns"), config.Seq) {
		return nil
	}
	names := map[string]bool{}
	for i, c := range cols.Items {
		cp := append(append([]string(nil), path...), "columns", strconv.Itoa(i))
		if !p.kind(c, cp, config.Map) {
			continue
		}
		p.keys(c, cp, "name", "type", "kind", "not_null")
		col := Column{Pos: c.Pos}
		col.Name, ok = p.str(c, cp, "name", true)
		if !ok {
			continue
		}
		if names[col.Name] {
			p.errorf(c, cp, source.CodeDuplicateKey, "column %q of stream %s is locked twice", col.Name, st.FullName())
			continue
		}
		names[col.Name] = true
		col.Type, _ = p.str(c, cp, "type", false)
		if kind, ok := p.str(c, cp, "kind", true); ok && kind != "" {
			t, err := runtime.ParseType(kind)
			if err != nil {
				p.errorf(c.Get("kind"), append(cp, "kind"), source.CodeInvalidValue, "column %q: %v", col.Name, err)
				continue
			}
			col.Kind = t
		} else if ok {
			p.errorf(c.Get("kind"), append(cp, "kind"), source.CodeInvalidValue, "column %q: kind is empty", col.Name)
		}
		if nn := c.Get("not_null"); nn != nil && p.kind(nn, append(cp, "not_null"), config.Bool) {
			col.NotNull = nn.Text == "true"
		}
		st.Columns = append(st.Columns, col)
	}
	if key := n.Get("key"); key != nil && p.kind(key, append(path, "key"), config.Seq) {
		for i, k := range key.Items {
			kp := append(append([]string(nil), path...), "key", strconv.Itoa(i))
			if !p.kind(k, kp, config.String) {
				continue
			}
			if !names[k.Text] {
				p.errorf(k, kp, source.CodeInvalidValue, "key column %q is not a column of stream %s", k.Text, st.FullName())
				continue
			}
			st.Key = append(st.Key, k.Text)
		}
	}
	return st
}
