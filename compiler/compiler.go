// Package compiler is the facade that owns the order of the stages:
//
//	config.Parse → check.Check → plan.Build (passes) → interp.New | emit
//
// Callers (the CLI, tests) go through Compile and never sequence stages
// themselves.
package compiler

import (
	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/interp"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// Compile parses, checks and plans the config in data (named name in
// messages), substituting variables from env. It reports every error it
// can find in one run, sorted; the plan is nil when there are any.
func Compile(name string, data []byte, env config.Env) (*plan.Plan, source.Errors) {
	return CompileLocked(name, data, env, nil)
}

// LockFile is a schema lock file: its name (as positions show it) and
// content.
type LockFile struct {
	Name string
	Data []byte
}

// CompileLocked is Compile with the schema lock of the config's sources
// (nil: none; see package lock). Errors in the lock are reported with the
// config's, at their positions in the lock file.
func CompileLocked(name string, data []byte, env config.Env, lf *LockFile) (*plan.Plan, source.Errors) {
	f, errs := config.Parse(name, data, env)
	var l *lock.Lock
	if lf != nil {
		var lerrs source.Errors
		l, lerrs = lock.Parse(lf.Name, lf.Data)
		errs = append(errs, lerrs...)
	}
	if f == nil {
		return nil, errs.Sorted()
	}
	c, cerrs := check.Check(f, l)
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		return nil, errs.Sorted()
	}
	return plan.Build(c, plan.Options{}), nil
}

// Interpret instantiates the enabled pipelines of p with the interpreter.
func Interpret(p *plan.Plan, env runtime.Env) ([]*runtime.Pipeline, error) {
	return interp.New(p, env)
}

// Source builds one source of a plan without opening it, for probes
// (`check --connect`) and discovery. The caller owns it.
func Source(c plan.Component, env runtime.Env) (runtime.Source, error) {
	return interp.NewSource(c, env)
}

// Sink builds one sink of a plan without opening it, for probes. The
// caller owns it.
func Sink(c plan.Component, env runtime.Env) (runtime.Sink, error) { return interp.NewSink(c, env) }
