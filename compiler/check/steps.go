package check

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// steps resolves a pipeline's transforms in order, threading the schema
// through them so each is checked against what reaches it. Each transform
// type resolves itself (bind.TransformType.Resolve). On a source with
// several locked streams, each transform is resolved once per stream it
// applies to, against that stream's schema.
func (c *checker) steps(p *Pipeline, decls []*transformDecl) {
	var s *runtime.Schema
	var locked []*lock.Stream
	if p.Source != nil {
		s, locked = p.Source.Schema, p.Source.Locked
	}
	p.Schemas = []*runtime.Schema{s}
	known, namespaced := knownStreams(p.Source)
	perStream := map[string]*runtime.Schema{}
	for _, st := range locked {
		perStream[st.FullName()] = st.Schema()
	}
	for _, d := range decls {
		step := &Step{Name: d.name, Type: d.typ}
		scope, scoped := c.scope(d, p, known, namespaced)
		if d.ok && scoped {
			r := &resolver{c: c, d: d, p: p}
			if len(locked) > 1 {
				targets := scope
				if targets == nil {
					for _, st := range locked {
						targets = append(targets, bind.StreamName{Name: st.Name, Namespace: st.Namespace})
					}
				}
				for _, t := range targets {
					full := bind.StreamFullName(t)
					r.stream = full
					in := perStream[full]
					st, out := d.bind.Resolve(r, in)
					if st != nil {
						step.Stages = append(step.Stages, ScopedStage{Stage: st, Scope: []bind.StreamName{t}, In: in})
					}
					perStream[full] = out
				}
			} else {
				st, out := d.bind.Resolve(r, s)
				if st != nil {
					if len(scope) > 0 && len(known) > 0 && len(scope) == len(known) {
						scope = nil // every stream of the source: no test per record
					}
					step.Stages = append(step.Stages, ScopedStage{Stage: st, Scope: scope, In: s})
				}
				s = out
			}
		}
		p.Steps = append(p.Steps, step)
		p.Schemas = append(p.Schemas, s)
	}
}

// knownStreams lists the streams of a source when its lock or config
// decides them (nil: only the server knows them), and whether its records
// carry namespaces.
func knownStreams(src *Component) ([]bind.StreamName, bool) {
	if src == nil || src.Config == nil || src.Bind == nil || src.Bind.Streams == nil {
		return nil, false
	}
	info := src.Bind.Streams(src.Config)
	if src.Locked != nil {
		var out []bind.StreamName
		for _, st := range src.Locked {
			out = append(out, bind.StreamName{Name: st.Name, Namespace: st.Namespace})
		}
		return out, info.Namespaced
	}
	return info.Names, info.Namespaced
}

// scope resolves a transform's `streams` list for pipeline p: the streams
// whose records it applies to (nil: every record). A stream the pipeline's
// source does not have, when its streams are known, is an error at the
// list item: a transform never silently applies to nothing.
func (c *checker) scope(d *transformDecl, p *Pipeline, known []bind.StreamName, namespaced bool) ([]bind.StreamName, bool) {
	if d.streams == nil {
		return nil, true
	}
	ok := true
	var out []bind.StreamName
	var names []string
	for _, k := range known {
		names = append(names, bind.StreamFullName(k))
	}
	for i, it := range d.streams.Items {
		if it.Kind != config.String || it.Bad {
			ok = false
			continue
		}
		if known == nil {
			n := bind.StreamName{Name: it.Text}
			if j := strings.IndexByte(it.Text, '.'); namespaced && j >= 0 {
				n = bind.StreamName{Namespace: it.Text[:j], Name: it.Text[j+1:]}
			}
			out = append(out, n)
			continue
		}
		found := false
		for _, k := range known {
			if bind.StreamFullName(k) == it.Text {
				out, found = append(out, k), true
				break
			}
		}
		if !found {
			ok = false
			msg := fmt.Sprintf("transform %q applies to stream %s, which source %q of pipeline %q does not have", d.name, bind.Shown(it), p.Source.Name, p.Name)
			if sug := source.Suggest(it.Text, names); sug != "" && len(it.Vars) == 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			c.errs.Add(it.Pos, source.CodeUnknownRef, config.JoinPath([]string{"transforms", d.name, "streams", fmt.Sprint(i)}), "%s; its streams: %s", msg, strings.Join(names, ", "))
		}
	}
	return out, ok
}

// resolver is the bind.Resolver of one transform in one pipeline.
type resolver struct {
	c *checker
	d *transformDecl
	p *Pipeline
	// stream is the stream the transform is resolved for, on a source
	// with several locked streams ("" otherwise).
	stream string
}

func (r *resolver) Name() string       { return r.d.name }
func (r *resolver) Node() *config.Node { return r.d.node }
func (r *resolver) Value() cue.Value   { return r.d.value }

func (r *resolver) Path(keys ...string) []string {
	return append([]string{"transforms", r.d.name, "config"}, keys...)
}

func (r *resolver) Condition(key string, s *runtime.Schema) *cond.Condition {
	return r.c.condition(r.d.node.Get(key), s, r.Path(key), r.p, r.stream)
}

func (r *resolver) Errorf(pos source.Pos, code source.Code, path []string, format string, args ...any) {
	if pos.Line == 0 {
		pos = r.c.posOf(path)
	}
	r.c.errs.Add(pos, code, config.JoinPath(path), format, args...)
}

// condition compiles the expression in node n against schema s and
// reports errors at their column inside the expression.
func (c *checker) condition(n *config.Node, s *runtime.Schema, path []string, p *Pipeline, stream string) *cond.Condition {
	if n == nil || n.Kind != config.String || n.Bad {
		return nil
	}
	fromEnv := len(n.Vars) > 0
	report := func(err *cond.Error) {
		pos, msg := config.OffsetPos(n, err.Offset), err.Message
		if fromEnv {
			// The text is a secret: point at the value, do not quote it.
			pos = n.Pos
			msg = fmt.Sprintf("the condition from ${%s} is not valid (its text is not shown because it comes from the environment)", n.Vars[0].Name)
		} else if p != nil && p.Source != nil && stream != "" {
			msg += fmt.Sprintf(" (in pipeline %q, on stream %s of source %q; scope the transform with streams: to apply it to some streams only)", p.Name, stream, p.Source.Name)
		} else if p != nil && p.Source != nil {
			msg += fmt.Sprintf(" (in pipeline %q, whose records come from source %q)", p.Name, p.Source.Name)
		}
		c.errs.Add(pos, err.Code, config.JoinPath(path), "%s", msg)
	}
	if s == nil {
		// The schema is known only at run time: check the syntax now.
		if err := cond.CheckSyntax(n.Text); err != nil {
			report(err)
			return nil
		}
		return &cond.Condition{Source: n.Text, Strategy: cond.Fallback, Reason: "the stream schema is known only at run time", Env: fromEnv, Dynamic: true}
	}
	out, err := cond.Compile(n.Text, s)
	if err != nil {
		report(err)
		return nil
	}
	out.Env = fromEnv
	return out
}
