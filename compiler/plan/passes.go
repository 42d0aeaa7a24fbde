package plan

import (
	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/runtime"
)

// pass rewrites one pipeline's stages in place.
type pass struct {
	name string
	run  func(p *Pipeline)
}

// passes run in this order; each is idempotent.
var passes = []pass{
	{"fuse-filters", fuseFilters},
	{"fuse-masks", fuseMasks},
}

// fuseFilters merges adjacent lowered filters into one conjunction, so a
// chain of filters costs one stage. Stage schemas are merged alongside.
func fuseFilters(p *Pipeline) {
	var out []*Stage
	var schemas []*runtime.Schema
	for i, s := range p.Stages {
		if n := len(out); n > 0 && s.Kind == Filter && out[n-1].Kind == Filter &&
			lowered(s.Cond) && lowered(out[n-1].Cond) {
			prev := out[n-1]
			out[n-1] = &Stage{
				Kind:  Filter,
				Parts: append(append([]Part(nil), prev.Parts...), s.Parts...),
				Cond: &cond.Condition{
					Source:   "(" + prev.Cond.Source + ") && (" + s.Cond.Source + ")",
					Strategy: cond.Lowered,
					IR:       &cond.Node{Op: cond.OpAnd, Type: runtime.KindBool, Args: []*cond.Node{prev.Cond.IR, s.Cond.IR}},
					Fields:   mergeRefs(prev.Cond.Fields, s.Cond.Fields),
				},
			}
			continue
		}
		out = append(out, s)
		schemas = append(schemas, p.Schemas[i])
	}
	p.Stages = out
	p.Schemas = append(schemas, p.Schemas[len(p.Schemas)-1])
}

// fuseMasks merges adjacent unconditional masks with the same strategy and
// settings — the same values from the same origins: a literal salt and a
// ${SALT} that happens to equal it at compile time are not the same
// setting, since a compiled binary reads the variable at start-up — into
// one stage over all their fields.
func fuseMasks(p *Pipeline) {
	var out []*Stage
	var schemas []*runtime.Schema
	for i, s := range p.Stages {
		if n := len(out); n > 0 && s.Kind == Mask && out[n-1].Kind == Mask &&
			s.Cond == nil && out[n-1].Cond == nil && sameSpec(s, out[n-1]) {
			prev := out[n-1]
			out[n-1] = &Stage{
				Kind:   Mask,
				Parts:  append(append([]Part(nil), prev.Parts...), s.Parts...),
				Mask:   prev.Mask,
				Fields: append(append([]FieldPath(nil), prev.Fields...), s.Fields...),
			}
			continue
		}
		out = append(out, s)
		schemas = append(schemas, p.Schemas[i])
	}
	p.Stages = out
	p.Schemas = append(schemas, p.Schemas[len(p.Schemas)-1])
}

func lowered(c *cond.Condition) bool { return c != nil && c.Strategy == cond.Lowered }

func sameSpec(a, b *Stage) bool {
	x, y := a.Mask, b.Mask
	return x.Strategy == y.Strategy && x.Salt == y.Salt && x.KeepFirst == y.KeepFirst &&
		x.KeepLast == y.KeepLast && x.Value.Equal(y.Value) && x.Value.Kind() == y.Value.Kind() &&
		sameOrigins(a.Parts[0].Origins, b.Parts[0].Origins, maskSpecKeys)
}

// maskSpecKeys are the field-mask config keys that make up its mask.Spec.
var maskSpecKeys = []string{"strategy", "salt", "keep_first", "keep_last", "value"}

// sameOrigins reports whether keys came from the same place in a and b:
// both literal, or both the same ${VAR} text.
func sameOrigins(a, b map[string]string, keys []string) bool {
	for _, k := range keys {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func mergeRefs(a, b []cond.FieldRef) []cond.FieldRef {
	out := append([]cond.FieldRef(nil), a...)
	for _, r := range b {
		dup := false
		for _, o := range out {
			if o.Index == r.Index {
				dup = true
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Index < out[j-1].Index; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
