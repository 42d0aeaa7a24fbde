package plan

import (
	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/runtime"
)

// fuse merges each stage into the one before it when their transform
// types say they fuse (bind.Stage.Fuse), so a chain of transforms costs as
// few stages as it can; the parts of both are kept, in order. Stage
// schemas are merged alongside. It is idempotent.
func fuse(p *Pipeline) {
	var out []*Stage
	var schemas []*runtime.Schema
	for i, s := range p.Stages {
		if n := len(out); n > 0 {
			prev := out[n-1]
			if !sameScope(prev.Scope, s.Scope) {
				// Stages on different streams never fuse.
			} else if f := prev.Spec.Fuse(s.Spec, prev.Parts, s.Parts); f != nil {
				out[n-1] = &Stage{Parts: append(append([]Part(nil), prev.Parts...), s.Parts...), Spec: f, Scope: s.Scope}
				continue
			}
		}
		out = append(out, s)
		schemas = append(schemas, p.Schemas[i])
	}
	p.Stages = out
	p.Schemas = append(schemas, p.Schemas[len(p.Schemas)-1])
}

func sameScope(a, b []bind.StreamName) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
