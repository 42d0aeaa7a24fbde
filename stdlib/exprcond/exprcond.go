// Package exprcond runs conditions that the condition compiler could not
// lower, on expr-lang's VM. Both back ends use it for those conditions, so
// they agree by construction.
package exprcond

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/rivven/rivven-connect/runtime"
)

// Field is a top-level record field the condition reads.
type Field struct {
	Name  string
	Index int
}

// Program is a compiled fallback condition. It is not safe for concurrent
// use (it reuses its VM and environment); each pipeline owns one.
type Program struct {
	source string
	prog   *vm.Program
	fields []Field
	env    map[string]any
	vm     vm.VM
}

// Compile compiles source, which the condition compiler already
// type-checked, reading fields from records.
//
// expr's optimizer is off, as it is when the condition compiler checks and
// lowers a condition: it is not faithful to the unoptimized meaning. It
// turns `x in ["", "a"]` into a set lookup that finds "" for a null x, and
// fails on a non-string x instead of answering false; and it folds
// `x > 1 || true` to true where x > 1 fails for a null x. Without it, a
// condition means the same whether it is lowered or runs here.
func Compile(source string, fields []Field) (*Program, error) {
	prog, err := expr.Compile(source, expr.AsBool(), expr.Optimize(false))
	if err != nil {
		return nil, fmt.Errorf("condition %q: %w", source, err)
	}
	return &Program{source: source, prog: prog, fields: fields, env: make(map[string]any, len(fields))}, nil
}

// Eval runs the condition on row.
func (p *Program) Eval(row []runtime.Value) (bool, error) {
	for _, f := range p.fields {
		p.env[f.Name] = ToGo(row[f.Index])
	}
	out, err := p.vm.Run(p.prog, p.env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition yielded %T, not bool", out)
	}
	return b, nil
}

// EvalRecord runs the condition on a record whose fields are known only at
// run time (no compile-time schema): every field of r's schema is in the
// environment, by name; a field the record lacks reads as null.
func (p *Program) EvalRecord(r *runtime.Record) (bool, error) {
	clear(p.env)
	row := r.Row()
	if r.Schema != nil {
		for i, f := range r.Schema.Fields {
			if i < len(row) && row[i].Kind() != runtime.KindAbsent {
				p.env[f.Name] = ToGo(row[i])
			}
		}
	}
	out, err := p.vm.Run(p.prog, p.env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition yielded %T, not bool", out)
	}
	return b, nil
}

// ToGo converts a value to the Go form expr-lang expects: int, float64,
// string, bool, nil, map[string]any or []any.
func ToGo(v runtime.Value) any {
	switch v.Kind() {
	case runtime.KindBool:
		return v.AsBool()
	case runtime.KindInt:
		return int(v.AsInt())
	case runtime.KindFloat:
		return v.AsFloat()
	case runtime.KindString:
		return v.AsString()
	case runtime.KindObject:
		o := v.AsObject()
		m := make(map[string]any, len(o.Keys))
		for i, k := range o.Keys {
			if o.Values[i].Kind() != runtime.KindAbsent {
				m[k] = ToGo(o.Values[i])
			}
		}
		return m
	case runtime.KindArray:
		a := v.AsArray()
		s := make([]any, len(a))
		for i, e := range a {
			s[i] = ToGo(e)
		}
		return s
	}
	return nil
}
