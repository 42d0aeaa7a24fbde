package check

import (
	"fmt"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// steps resolves a pipeline's transforms in order, threading the schema
// through them so each is checked against what reaches it. Each transform
// type resolves itself (bind.TransformType.Resolve).
func (c *checker) steps(p *Pipeline, decls []*transformDecl) {
	var s *runtime.Schema
	if p.Source != nil {
		s = p.Source.Schema
	}
	p.Schemas = []*runtime.Schema{s}
	for _, d := range decls {
		step := &Step{Name: d.name, Type: d.typ}
		if d.ok {
			step.Stage, s = d.bind.Resolve(&resolver{c: c, d: d, p: p}, s)
		}
		p.Steps = append(p.Steps, step)
		p.Schemas = append(p.Schemas, s)
	}
}

// resolver is the bind.Resolver of one transform in one pipeline.
type resolver struct {
	c *checker
	d *transformDecl
	p *Pipeline
}

func (r *resolver) Name() string       { return r.d.name }
func (r *resolver) Node() *config.Node { return r.d.node }
func (r *resolver) Value() cue.Value   { return r.d.value }

func (r *resolver) Path(keys ...string) []string {
	return append([]string{"transforms", r.d.name, "config"}, keys...)
}

func (r *resolver) Condition(key string, s *runtime.Schema) *cond.Condition {
	return r.c.condition(r.d.node.Get(key), s, r.Path(key), r.p)
}

func (r *resolver) Errorf(pos source.Pos, code source.Code, path []string, format string, args ...any) {
	if pos.Line == 0 {
		pos = r.c.posOf(path)
	}
	r.c.errs.Add(pos, code, config.JoinPath(path), format, args...)
}

// condition compiles the expression in node n against schema s and
// reports errors at their column inside the expression.
func (c *checker) condition(n *config.Node, s *runtime.Schema, path []string, p *Pipeline) *cond.Condition {
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
