package interp

import (
	"time"

	"github.com/rivven/rivven-connect/compiler/bind"
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
func Program(pp *plan.Pipeline) (runtime.Program, error) { return programAt(pp, time.Now) }

// programAt is Program with the pipeline's clock, which batch stages
// (enrich: cache expiry) read. A pipeline with batch stages runs as an
// runtime.Chain: its stages split at each batch stage into segments.
func programAt(pp *plan.Pipeline, now func() time.Time) (runtime.Program, error) {
	for _, st := range pp.Stages {
		if _, ok := st.Spec.(bind.BatchStage); ok {
			return chain(pp, now)
		}
	}
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

// chain builds the program of a pipeline with batch stages: the stages
// between two batch stages become one segment (a closure as Process
// runs them), each batch stage a step, as generated code does.
func chain(pp *plan.Pipeline, now func() time.Time) (runtime.Program, error) {
	c := &runtime.Chain{}
	var seg []stageFn
	flush := func() {
		var fn func(*runtime.Record) (bool, error)
		switch len(seg) {
		case 0:
		case 1:
			fn = seg[0]
		default:
			fn = (&program{stages: seg}).Process
		}
		c.Segments = append(c.Segments, fn)
		seg = nil
	}
	for _, st := range pp.Stages {
		bs, ok := st.Spec.(bind.BatchStage)
		if !ok {
			fn, err := stage(st)
			if err != nil {
				return nil, err
			}
			seg = append(seg, fn)
			continue
		}
		flush()
		step, err := bs.InterpStep(st.Parts, now)
		if err != nil {
			return nil, err
		}
		var scope []runtime.StreamRef
		for _, sc := range st.Scope {
			scope = append(scope, runtime.StreamRef{Name: sc.Name, Namespace: sc.Namespace})
		}
		c.Steps = append(c.Steps, step)
		c.Names = append(c.Names, st.Parts[0].Name)
		c.Scopes = append(c.Scopes, scope)
	}
	flush()
	return c, nil
}
