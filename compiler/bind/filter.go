package bind

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/runtime"
)

// The filter transform: keeps the records where its condition holds. Its
// run-time part is the condition itself (typed closures, or expr's VM
// through stdlib/exprcond when the schema is known only at run time).
func init() {
	registerTransform(&TransformType{
		Name: "filter",
		Resolve: func(r Resolver, in *runtime.Schema) (Stage, *runtime.Schema) {
			c := r.Condition("condition", in)
			if c == nil {
				return nil, in
			}
			return &FilterStage{Cond: c, Conds: []*cond.Condition{c}}, in
		},
	})
}

// FilterStage drops the records where Cond is false.
type FilterStage struct {
	// Cond is the condition, after fusion the conjunction of the parts'.
	Cond *cond.Condition
	// Conds are the parts' own conditions, in order (one per part).
	Conds []*cond.Condition
}

// Type implements Stage.
func (*FilterStage) Type() string { return "filter" }

// Fuse merges adjacent filters whose conditions are both lowered to typed
// closures into one conjunction, so a chain of filters costs one stage.
func (s *FilterStage) Fuse(next Stage, _, _ []Part) Stage {
	n, ok := next.(*FilterStage)
	if !ok || !lowered(s.Cond) || !lowered(n.Cond) {
		return nil
	}
	return &FilterStage{
		Cond: &cond.Condition{
			Source:   "(" + s.Cond.Source + ") && (" + n.Cond.Source + ")",
			Strategy: cond.Lowered,
			IR:       &cond.Node{Op: cond.OpAnd, Type: runtime.KindBool, Args: []*cond.Node{s.Cond.IR, n.Cond.IR}},
			Fields:   mergeRefs(s.Cond.Fields, n.Cond.Fields),
		},
		Conds: append(append([]*cond.Condition(nil), s.Conds...), n.Conds...),
	}
}

// Dump implements Stage.
func (s *FilterStage) Dump(d Dumper) string { return "keep where " + d.Cond(s.Cond) }

// Interp evaluates the parts in order, each failure attributed to its own
// part: the same as their conjunction, short-circuit included.
func (s *FilterStage) Interp(parts []Part, x Interp) (StageFunc, error) {
	preds := make([]func(*runtime.Record) (bool, error), len(parts))
	for i := range parts {
		c := s.Conds[i]
		if len(parts) == 1 {
			c = s.Cond
		}
		pred, err := x.Predicate(c)
		if err != nil {
			return nil, err
		}
		preds[i] = pred
	}
	if len(preds) == 1 {
		pred, name := preds[0], parts[0].Name
		return func(r *runtime.Record) (bool, error) {
			ok, err := pred(r)
			if err != nil {
				return false, &runtime.StageError{Stage: name, Err: err}
			}
			return ok, nil
		}, nil
	}
	names := PartNames(parts)
	return func(r *runtime.Record) (bool, error) {
		for i, pred := range preds {
			ok, err := pred(r)
			if err != nil {
				return false, &runtime.StageError{Stage: names[i], Err: err}
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	}, nil
}

// Emit writes the parts' conditions in order, each failure attributed to
// its own part.
func (s *FilterStage) Emit(i int, parts []Part, e Emitter) ([]jen.Code, error) {
	comment := fmt.Sprintf("stage %d: filter %s keeps records where %s", i, strings.Join(quoteAll(PartNames(parts)), " "), oneLine(s.Cond.Source))
	blk := jen.BlockFunc(func(b *jen.Group) {
		if len(parts) == 1 {
			keep := e.Condition(b, s.Cond, parts[0].Name)
			b.If(jen.Op("!").Id(keep)).Block(jen.Return(jen.False(), jen.Nil()))
			return
		}
		for j, part := range parts {
			keep := e.Condition(b, s.Conds[j], part.Name)
			b.If(jen.Op("!").Id(keep)).Block(jen.Return(jen.False(), jen.Nil()))
		}
	})
	return []jen.Code{jen.Comment(comment), blk}, nil
}

func lowered(c *cond.Condition) bool { return c != nil && c.Strategy == cond.Lowered }

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

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
