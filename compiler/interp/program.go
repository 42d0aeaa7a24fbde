package interp

import (
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
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

func stage(st *plan.Stage) (stageFn, error) {
	name := st.Names[0]
	switch st.Kind {
	case plan.Filter:
		pred, err := predicate(st.Cond)
		if err != nil {
			return nil, err
		}
		return func(r *runtime.Record) (bool, error) {
			ok, err := pred(r.Row())
			if err != nil {
				return false, &runtime.StageError{Stage: name, Err: err}
			}
			return ok, nil
		}, nil
	default: // plan.Mask
		var when pred
		if st.Cond != nil {
			var err error
			if when, err = predicate(st.Cond); err != nil {
				return nil, err
			}
		}
		return maskStage(name, st.Mask, st.Fields, when), nil
	}
}

func maskStage(name string, spec *mask.Spec, fields []plan.FieldPath, when pred) stageFn {
	apply := func(r *runtime.Record) {
		for _, f := range fields {
			spec.Apply(r.After, f.Index, f.Keys)
			spec.Apply(r.Before, f.Index, f.Keys)
		}
	}
	if len(fields) == 1 && len(fields[0].Keys) == 0 && when == nil {
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
		ok, err := when(r.Row())
		if err != nil {
			return false, &runtime.StageError{Stage: name, Err: err}
		}
		if ok {
			apply(r)
		}
		return true, nil
	}
}
