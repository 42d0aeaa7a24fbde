package interp

import (
	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/exprcond"
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

// stage builds one stage by its transform type (bind.Stage.Interp).
func stage(st *plan.Stage) (stageFn, error) {
	fn, err := st.Spec.Interp(st.Parts, predicates{})
	if err != nil || st.Scope == nil {
		return stageFn(fn), err
	}
	// Records of other streams pass the stage unchanged.
	return func(r *runtime.Record) (bool, error) {
		if !st.InScope(r.Stream, r.Namespace) {
			return true, nil
		}
		return fn(r)
	}, nil
}

// predicates is the bind.Interp the interpreter offers stages.
type predicates struct{}

func (predicates) Predicate(c *cond.Condition) (func(*runtime.Record) (bool, error), error) {
	return recordPredicate(c)
}
