package interp

import (
	"strings"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/exprcond"
	"github.com/rivven/rivven-connect/stdlib/mask"
)

// stageFn is one compiled stage.
type stageFn func(r *runtime.Record) (keep bool, err error)

// program is the fused per-record function of a pipeline.
type program struct {
	stages []stageFn
}

var _ runtime.Program = (*program)(nil)

// Process runs the stages in order until one drops the record or fails.
func (p *program) Process(r *runtime.Record) (bool, error) {
	for _, s := range p.stages {
		keep, err := s(r)
		if err != nil || !keep {
			return keep, err
		}
	}
	return true, nil
}

// Program compiles the stages of pp into one runtime.Program.
func Program(pp *plan.Pipeline) (runtime.Program, error) {
	p := &program{}
	for _, st := range pp.Stages {
		fn, err := stage(st)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, fn)
	}
	if len(p.stages) == 1 {
		return runtime.ProgramFunc(p.stages[0]), nil
	}
	return p, nil
}

// recPred evaluates a condition on a whole record.
type recPred func(r *runtime.Record) (bool, error)

// recordPredicate compiles a stage condition. Conditions on streams whose
// schema is known only at run time read every field of each record by
// name; the others read fields by position.
func recordPredicate(c *cond.Condition) (recPred, error) {
	if c.Dynamic {
		p, err := exprcond.Compile(c.Source, nil)
		if err != nil {
			return nil, err
		}
		return p.EvalRecord, nil
	}
	p, err := predicate(c)
	if err != nil {
		return nil, err
	}
	return func(r *runtime.Record) (bool, error) { return p(r.Row()) }, nil
}

func stage(st *plan.Stage) (stageFn, error) {
	name := st.Parts[0].Name
	switch st.Kind {
	case plan.Filter:
		// The parts in order, each failure attributed to its own part: the
		// same as their conjunction, short-circuit included.
		preds := make([]recPred, len(st.Parts))
		names := make([]string, len(st.Parts))
		for i, part := range st.Parts {
			c := part.Cond
			if len(st.Parts) == 1 {
				c = st.Cond
			}
			pred, err := recordPredicate(c)
			if err != nil {
				return nil, err
			}
			preds[i], names[i] = pred, part.Name
		}
		if len(preds) == 1 {
			pred := preds[0]
			return func(r *runtime.Record) (bool, error) {
				ok, err := pred(r)
				if err != nil {
					return false, &runtime.StageError{Stage: name, Err: err}
				}
				return ok, nil
			}, nil
		}
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
	default: // plan.Mask
		var when recPred
		if st.Cond != nil {
			var err error
			if when, err = recordPredicate(st.Cond); err != nil {
				return nil, err
			}
		}
		return maskStage(name, st.Mask, st.Fields, when), nil
	}
}

func maskStage(name string, spec *mask.Spec, fields []plan.FieldPath, when recPred) stageFn {
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
		}
	}
	if when == nil {
		return func(r *runtime.Record) (bool, error) { apply(r); return true, nil }
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
	}
}

// fieldName is the top-level field of a dotted path.
func fieldName(path string) string {
	if i := strings.IndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return path
}
