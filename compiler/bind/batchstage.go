package bind

import (
	"fmt"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/runtime"
)

// BatchStage is a Stage that needs a whole batch before its records go
// on. The back ends split the pipeline's per-record function at each one:
// the stages before it run over the batch, then the step prepares for the
// batch (one lookup), then each record goes through the step and the
// stages after it (runtime.Chain). Its Interp and Emit are the step alone
// on one record (no batching), for callers that run a stage by itself.
type BatchStage interface {
	Stage
	// InterpStep builds the stage's step for the interpreter; now is the
	// pipeline's clock.
	InterpStep(parts []Part, now func() time.Time) (runtime.BatchStep, error)
	// EmitStep returns the expression, of a type implementing
	// runtime.BatchStep, that builds the step in generated code, where
	// `env` is the runtime.Env and `e` the *app.Env reading ${VAR}s at
	// start-up. A constructor that may fail is written so that generated
	// code reports its error at start-up (see Emitter).
	EmitStep(i int, parts []Part, e Emitter) (jen.Code, error)
}

// stepInterp is a BatchStage's Interp: its step on one record at a time.
func stepInterp(bs BatchStage, parts []Part) (StageFunc, error) {
	step, err := bs.InterpStep(parts, time.Now)
	if err != nil {
		return nil, err
	}
	name := parts[0].Name
	return func(r *runtime.Record) (bool, error) {
		keep, err := step.Process(r)
		if err != nil {
			return false, &runtime.StageError{Stage: name, Err: err}
		}
		return keep, nil
	}, nil
}

// stepEmit is a BatchStage's Emit: its step, in a program field, on one
// record.
func stepEmit(bs BatchStage, i int, parts []Part, e Emitter) ([]jen.Code, error) {
	ctor, err := bs.EmitStep(i, parts, e)
	if err != nil {
		return nil, err
	}
	f := e.Field(bs.Type(), jen.Qual(rtPkg, "BatchStep"), ctor)
	return []jen.Code{
		jen.Comment(fmt.Sprintf("stage %d: %s %q, one record at a time", i, bs.Type(), parts[0].Name)),
		jen.If(jen.List(jen.Id("keep"), jen.Id("err")).Op(":=").Id("p").Dot(f).Dot("Process").Call(jen.Id("r")), jen.Id("err").Op("!=").Nil()).Block(
			jen.Return(jen.False(), jen.Op("&").Qual(rtPkg, "StageError").Values(jen.Dict{jen.Id("Stage"): jen.Lit(parts[0].Name), jen.Id("Err"): jen.Id("err")})),
		).Else().If(jen.Op("!").Id("keep")).Block(jen.Return(jen.False(), jen.Nil())),
	}, nil
}
