package check

import (
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mask"
)

// steps resolves a pipeline's transforms in order, threading the schema
// through them so each condition is typed against what reaches it.
func (c *checker) steps(p *Pipeline, decls []*transformDecl) {
	var s *runtime.Schema
	if p.Source != nil {
		s = p.Source.Schema
	}
	p.Schemas = []*runtime.Schema{s}
	for _, d := range decls {
		step := &Step{Name: d.name, Type: d.typ}
		if !d.ok {
			p.Steps = append(p.Steps, step)
			p.Schemas = append(p.Schemas, s)
			continue
		}
		path := []string{"transforms", d.name, "config"}
		switch d.typ {
		case "filter":
			step.Filter = c.condition(d.node.Get("condition"), s, append(path, "condition"), p)
		case "field-mask":
			step.Mask, s = c.maskStep(d, s, path, p)
		}
		p.Steps = append(p.Steps, step)
		p.Schemas = append(p.Schemas, s)
	}
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

func (c *checker) maskStep(d *transformDecl, s *runtime.Schema, path []string, p *Pipeline) (*MaskStep, *runtime.Schema) {
	var j struct {
		Strategy  string `json:"strategy"`
		Salt      string `json:"salt"`
		KeepFirst int    `json:"keep_first"`
		KeepLast  int    `json:"keep_last"`
	}
	if err := d.value.Decode(&j); err != nil {
		c.errs.Add(c.posOf(path), source.CodeInvalidValue, config.JoinPath(path), "%v", err)
		return nil, s
	}
	strategy, _ := mask.ParseStrategy(j.Strategy)
	m := &MaskStep{Spec: mask.Spec{Strategy: strategy, Salt: j.Salt, KeepFirst: j.KeepFirst, KeepLast: j.KeepLast}}
	if strategy == mask.Fixed {
		v := d.node.Get("value")
		if v == nil {
			c.errs.Add(d.node.Pos, source.CodeMissingKey, config.JoinPath(append(path, "value")), "strategy fixed needs a value to replace the fields with")
		}
		m.Spec.Value = bind.ValueOf(v)
	}
	if w := d.node.Get("when"); w != nil {
		m.When = c.condition(w, s, append(path, "when"), p)
	}
	fields := d.node.Get("fields")
	if fields == nil {
		return m, s
	}
	if s == nil {
		// The schema is known only at run time: mask by name, per record.
		for i, f := range fields.Items {
			parts := strings.Split(f.Text, ".")
			if f.Kind != config.String || contains(parts, "") {
				c.errs.Add(f.Pos, source.CodeBadMaskPath, config.JoinPath(append(path, "fields", fmt.Sprint(i))), "field path %s has an empty segment", c.shown(f))
				continue
			}
			m.Fields = append(m.Fields, FieldPath{Path: f.Text, Index: -1, Keys: parts[1:]})
		}
		return m, s
	}
	next := cloneSchema(s)
	for i, f := range fields.Items {
		fp, ok := c.maskPath(f, s, append(path, "fields", fmt.Sprint(i)))
		if !ok {
			continue
		}
		m.Fields = append(m.Fields, fp)
		retype(next, fp, m.Spec)
	}
	return m, next
}

// maskPath resolves a dotted field path against s.
func (c *checker) maskPath(n *config.Node, s *runtime.Schema, path []string) (FieldPath, bool) {
	parts := strings.Split(n.Text, ".")
	for _, p := range parts {
		if p == "" {
			c.errs.Add(n.Pos, source.CodeBadMaskPath, config.JoinPath(path), "field path %s has an empty segment", c.shown(n))
			return FieldPath{}, false
		}
	}
	if len(n.Vars) > 0 {
		// Name the variable, not its value (a secret), nor any part of it.
		before := len(c.errs)
		defer func() {
			for _, e := range c.errs[before:] {
				e.Message = fmt.Sprintf("the field path from ${%s} is not a field of the stream (its value is not shown because it comes from the environment); fields: %s",
					n.Vars[0].Name, strings.Join(liveNames(s), ", "))
			}
		}()
	}
	idx := s.Index(parts[0])
	if idx < 0 || s.Fields[idx].Type.Kind == runtime.KindAbsent {
		msg := fmt.Sprintf("the stream has no field %q", parts[0])
		if sug := source.Suggest(parts[0], liveNames(s)); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		c.errs.Add(n.Pos, source.CodeBadMaskPath, config.JoinPath(path), "%s; fields: %s", msg, strings.Join(liveNames(s), ", "))
		return FieldPath{}, false
	}
	t := s.Fields[idx].Type
	for i, key := range parts[1:] {
		at := strings.Join(parts[:i+1], ".")
		switch {
		case t.Kind == runtime.KindObject:
			found := false
			for _, f := range t.Fields {
				if f.Name == key {
					t, found = f.Type, true
					break
				}
			}
			if !found && !t.Open {
				var names []string
				for _, f := range t.Fields {
					names = append(names, f.Name)
				}
				msg := fmt.Sprintf("%s has no field %q", at, key)
				if sug := source.Suggest(key, names); sug != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sug)
				}
				c.errs.Add(n.Pos, source.CodeBadMaskPath, config.JoinPath(path), "%s; its fields: %s", msg, strings.Join(names, ", "))
				return FieldPath{}, false
			}
			if !found {
				t = runtime.Any
			}
		case t.Kind == runtime.KindNull: // untyped: anything goes
		default:
			c.errs.Add(n.Pos, source.CodeBadMaskPath, config.JoinPath(path), "%s is a %s; it has no field %q", at, t.Kind, key)
			return FieldPath{}, false
		}
	}
	return FieldPath{Path: n.Text, Index: idx, Keys: parts[1:]}, true
}

func liveNames(s *runtime.Schema) []string {
	var out []string
	for _, f := range s.Fields {
		if f.Type.Kind != runtime.KindAbsent {
			out = append(out, f.Name)
		}
	}
	return out
}

func cloneSchema(s *runtime.Schema) *runtime.Schema {
	return &runtime.Schema{Fields: append([]runtime.Field(nil), s.Fields...), Key: s.Key}
}

// retype updates schema s for the effect of masking fp with spec.
func retype(s *runtime.Schema, fp FieldPath, spec mask.Spec) {
	f := &s.Fields[fp.Index]
	if len(fp.Keys) > 0 {
		// Nested: rebuild the object types along the path.
		f.Type = retypeNested(f.Type, fp.Keys, spec)
		return
	}
	*f = maskedField(*f, spec)
}

func retypeNested(t runtime.Type, keys []string, spec mask.Spec) runtime.Type {
	if t.Kind != runtime.KindObject {
		return t
	}
	out := t
	out.Fields = nil
	for _, f := range t.Fields {
		if f.Name != keys[0] {
			out.Fields = append(out.Fields, f)
			continue
		}
		if len(keys) > 1 {
			f.Type = retypeNested(f.Type, keys[1:], spec)
			out.Fields = append(out.Fields, f)
			continue
		}
		if spec.Strategy == mask.Remove {
			continue
		}
		out.Fields = append(out.Fields, maskedField(f, spec))
	}
	return out
}

func maskedField(f runtime.Field, spec mask.Spec) runtime.Field {
	switch spec.Strategy {
	case mask.Redact, mask.Hash, mask.Partial:
		f.Type = runtime.Type{Kind: runtime.KindString}
	case mask.Fixed:
		f.Nullable = spec.Value.IsNull()
		f.Type = runtime.Type{Kind: spec.Value.Kind()}
		if spec.Value.IsNull() {
			f.Type = runtime.Any
		}
	case mask.Null:
		f.Nullable = true
	case mask.Remove:
		f.Type = runtime.Type{Kind: runtime.KindAbsent}
	}
	return f
}

func contains(s []string, x string) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}
