package bind

import (
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mask"
)

// The field-mask transform: masks fields (redact, hash, partial, fixed,
// null, remove), optionally only where `when` holds. Its run-time part is
// stdlib/mask, which both back ends call for every strategy.
func init() {
	registerTransform(&TransformType{
		Name:    "field-mask",
		Misfits: maskMisfits,
		Resolve: resolveMask,
	})
}

// MaskStage masks Fields with Spec where When (nil: always) holds.
type MaskStage struct {
	Spec mask.Spec
	// Fields are the resolved paths, in order (after fusion, every part's).
	Fields []FieldPath
	When   *cond.Condition
}

// FieldPath is a field's position in the record layout (Index -1: looked
// up by name in each record's schema, for streams whose schema is known
// only at run time) and the object keys below it.
type FieldPath struct {
	Path  string
	Index int
	Keys  []string
}

// Type implements Stage.
func (*MaskStage) Type() string { return "mask" }

// maskSpecKeys are the field-mask config keys that make up its mask.Spec.
var maskSpecKeys = []string{"strategy", "salt", "keep_first", "keep_last", "value"}

// Fuse merges adjacent unconditional masks with the same strategy and
// settings — the same values from the same origins: a literal salt and a
// ${SALT} that happens to equal it at compile time are not the same
// setting, since a compiled binary reads the variable at start-up — into
// one stage over all their fields.
func (s *MaskStage) Fuse(next Stage, mine, theirs []Part) Stage {
	n, ok := next.(*MaskStage)
	if !ok || s.When != nil || n.When != nil {
		return nil
	}
	x, y := s.Spec, n.Spec
	same := x.Strategy == y.Strategy && x.Salt == y.Salt && x.KeepFirst == y.KeepFirst &&
		x.KeepLast == y.KeepLast && x.Value.Equal(y.Value) && x.Value.Kind() == y.Value.Kind()
	for _, k := range maskSpecKeys {
		if mine[0].Origins[k] != theirs[0].Origins[k] {
			same = false
		}
	}
	if !same {
		return nil
	}
	return &MaskStage{Spec: s.Spec, Fields: append(append([]FieldPath(nil), s.Fields...), n.Fields...)}
}

// Dump implements Stage.
func (s *MaskStage) Dump(d Dumper) string {
	m := s.Spec
	out := m.Strategy.String()
	switch m.Strategy {
	case mask.Hash:
		if m.Salt != "" {
			out += " salt=" + d.Quoted(m.Salt)
		}
	case mask.Partial:
		out += fmt.Sprintf(" keep_first=%d keep_last=%d", m.KeepFirst, m.KeepLast)
	case mask.Fixed:
		out += " value=" + d.Value(m.Value)
	}
	var fields []string
	for _, f := range s.Fields {
		path := f.Path
		if d.IsSecret(path) { // a path that came from ${VAR}
			path = "<secret>"
		}
		if f.Index < 0 {
			fields = append(fields, path+"#by-name")
			continue
		}
		fields = append(fields, fmt.Sprintf("%s#%d", path, f.Index))
	}
	out += " " + strings.Join(fields, " ")
	if s.When != nil {
		out += " when " + d.Cond(s.When)
	}
	return out
}

// Interp implements Stage with stdlib/mask, as the generated code does.
func (s *MaskStage) Interp(parts []Part, x Interp) (StageFunc, error) {
	var when func(*runtime.Record) (bool, error)
	if s.When != nil {
		var err error
		if when, err = x.Predicate(s.When); err != nil {
			return nil, err
		}
	}
	name, spec, fields := parts[0].Name, &s.Spec, s.Fields
	apply := func(r *runtime.Record) {
		for _, f := range fields {
			if f.Index < 0 {
				spec.ApplyNamed(r, fieldName(f.Path), f.Keys)
				continue
			}
			spec.Apply(r.After, f.Index, f.Keys)
			spec.Apply(r.Before, f.Index, f.Keys)
		}
	}
	if len(fields) == 1 && len(fields[0].Keys) == 0 && fields[0].Index >= 0 && when == nil {
		i := fields[0].Index
		return func(r *runtime.Record) (bool, error) {
			if r.After != nil {
				r.After[i] = spec.Mask(r.After[i])
			}
			if r.Before != nil {
				r.Before[i] = spec.Mask(r.Before[i])
			}
			return true, nil
		}, nil
	}
	if when == nil {
		return func(r *runtime.Record) (bool, error) { apply(r); return true, nil }, nil
	}
	return func(r *runtime.Record) (bool, error) {
		ok, err := when(r)
		if err != nil {
			return false, &runtime.StageError{Stage: name, Err: err}
		}
		if ok {
			apply(r)
		}
		return true, nil
	}, nil
}

// fieldName is the top-level field of a dotted path.
func fieldName(path string) string {
	if i := strings.IndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return path
}

// maskStrategyKeys are the field-mask keys that one strategy only reads.
var maskStrategyKeys = []struct{ key, strategy string }{
	{"salt", "hash"}, {"keep_first", "partial"}, {"keep_last", "partial"}, {"value", "fixed"},
}

// maskMisfits refuses the keys of a field-mask config block n that its
// strategy does not read, e.g. salt with strategy redact.
func maskMisfits(n *config.Node) []Misfit {
	if n == nil || n.Kind != config.Map {
		return nil
	}
	strategy, uses := "redact", "this transform uses redact, the default"
	if s := n.Get("strategy"); s != nil {
		if _, ok := mask.ParseStrategy(s.Text); s.Kind != config.String || !ok {
			return nil // reported by the CUE validation
		}
		strategy, uses = s.Text, "this transform uses "+s.Text
		if len(s.Vars) > 0 {
			uses = fmt.Sprintf("this transform's strategy, from ${%s}, is another", s.Vars[0].Name)
		}
	}
	var out []Misfit
	for _, k := range maskStrategyKeys {
		if n.Get(k.key) == nil || strategy == k.strategy {
			continue
		}
		out = append(out, Misfit{Key: []string{k.key},
			Why: fmt.Sprintf("%s applies only to strategy %s (%s): remove %s, or set strategy: %s", k.key, k.strategy, uses, k.key, k.strategy)})
	}
	return out
}

// resolveMask resolves a field-mask's paths against the schema reaching
// it and retypes the fields it masks in the schema leaving it.
func resolveMask(r Resolver, s *runtime.Schema) (Stage, *runtime.Schema) {
	var j struct {
		Strategy  string `json:"strategy"`
		Salt      string `json:"salt"`
		KeepFirst int    `json:"keep_first"`
		KeepLast  int    `json:"keep_last"`
	}
	n := r.Node()
	if err := r.Value().Decode(&j); err != nil {
		r.Errorf(n.Pos, source.CodeInvalidValue, r.Path(), "%v", err)
		return nil, s
	}
	strategy, _ := mask.ParseStrategy(j.Strategy)
	m := &MaskStage{Spec: mask.Spec{Strategy: strategy, Salt: j.Salt, KeepFirst: j.KeepFirst, KeepLast: j.KeepLast}}
	if strategy == mask.Fixed {
		v := n.Get("value")
		if v == nil {
			r.Errorf(n.Pos, source.CodeMissingKey, r.Path("value"), "strategy fixed needs a value to replace the fields with")
		}
		m.Spec.Value = ValueOf(v)
	}
	if n.Get("when") != nil {
		m.When = r.Condition("when", s)
	}
	fields := n.Get("fields")
	if fields == nil {
		return m, s
	}
	if s == nil {
		// The schema is known only at run time: mask by name, per record.
		for i, f := range fields.Items {
			parts := strings.Split(f.Text, ".")
			if f.Kind != config.String || contains(parts, "") {
				r.Errorf(f.Pos, source.CodeBadMaskPath, r.Path("fields", fmt.Sprint(i)), "field path %s has an empty segment", Shown(f))
				continue
			}
			m.Fields = append(m.Fields, FieldPath{Path: f.Text, Index: -1, Keys: parts[1:]})
		}
		return m, s
	}
	next := cloneSchema(s)
	for i, f := range fields.Items {
		fp, ok := maskPath(r, f, s, r.Path("fields", fmt.Sprint(i)))
		if !ok {
			continue
		}
		m.Fields = append(m.Fields, fp)
		retype(next, fp, m.Spec)
	}
	return m, next
}

// maskPath resolves a dotted field path against s.
func maskPath(r Resolver, n *config.Node, s *runtime.Schema, path []string) (FieldPath, bool) {
	errorf := func(format string, args ...any) {
		if len(n.Vars) > 0 {
			// Name the variable, not its value (a secret), nor any part of it.
			r.Errorf(n.Pos, source.CodeBadMaskPath, path, "the field path from ${%s} is not a field of the stream (its value is not shown because it comes from the environment); fields: %s",
				n.Vars[0].Name, strings.Join(liveNames(s), ", "))
			return
		}
		r.Errorf(n.Pos, source.CodeBadMaskPath, path, format, args...)
	}
	parts := strings.Split(n.Text, ".")
	for _, p := range parts {
		if p == "" {
			r.Errorf(n.Pos, source.CodeBadMaskPath, path, "field path %s has an empty segment", Shown(n))
			return FieldPath{}, false
		}
	}
	idx := s.Index(parts[0])
	if idx < 0 || s.Fields[idx].Type.Kind == runtime.KindAbsent {
		msg := fmt.Sprintf("the stream has no field %q", parts[0])
		if sug := source.Suggest(parts[0], liveNames(s)); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		errorf("%s; fields: %s", msg, strings.Join(liveNames(s), ", "))
		return FieldPath{}, false
	}
	if _, miss := nestedType(s.Fields[idx].Type, parts); miss != nil {
		if miss.kind != runtime.KindObject {
			errorf("%s is a %s; it has no field %q", miss.at, miss.kind, miss.key)
			return FieldPath{}, false
		}
		msg := fmt.Sprintf("%s has no field %q", miss.at, miss.key)
		if sug := source.Suggest(miss.key, miss.names); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		errorf("%s; its fields: %s", msg, strings.Join(miss.names, ", "))
		return FieldPath{}, false
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
