package interp

import (
	"fmt"
	"regexp"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/exprcond"
	"github.com/rivven/rivven-connect/stdlib/ops"
)

// pred evaluates a boolean condition on a record row.
type pred func(row []runtime.Value) (bool, error)

// eval evaluates any IR node on a record row.
type eval func(row []runtime.Value) (runtime.Value, error)

// predicate compiles a condition into a closure tree.
func predicate(c *cond.Condition) (pred, error) {
	if c.Strategy == cond.Fallback {
		var fields []exprcond.Field
		for _, f := range c.Fields {
			fields = append(fields, exprcond.Field{Name: f.Name, Index: f.Index})
		}
		p, err := exprcond.Compile(c.Source, fields)
		if err != nil {
			return nil, err
		}
		return p.Eval, nil
	}
	return compilePred(c.IR)
}

func compilePred(n *cond.Node) (pred, error) {
	switch n.Op {
	case cond.OpAnd, cond.OpOr:
		l, err := compilePred(n.Args[0])
		if err != nil {
			return nil, err
		}
		r, err := compilePred(n.Args[1])
		if err != nil {
			return nil, err
		}
		if n.Op == cond.OpAnd {
			return func(row []runtime.Value) (bool, error) {
				ok, err := l(row)
				if err != nil || !ok {
					return false, err
				}
				return r(row)
			}, nil
		}
		return func(row []runtime.Value) (bool, error) {
			ok, err := l(row)
			if err != nil || ok {
				return ok, err
			}
			return r(row)
		}, nil
	case cond.OpNot:
		a, err := compilePred(n.Args[0])
		if err != nil {
			return nil, err
		}
		return func(row []runtime.Value) (bool, error) {
			ok, err := a(row)
			return !ok && err == nil, err
		}, nil
	case cond.OpCompare:
		if f, c, ok := fieldConst(n); ok {
			return compareFieldConst(n.Name, f, c), nil
		}
	case cond.OpEq, cond.OpNe:
		if f, c, ok := fieldConst(n); ok {
			return equalFieldConst(n.Op == cond.OpEq, f, c), nil
		}
	}
	e, err := compileEval(n)
	if err != nil {
		return nil, err
	}
	return func(row []runtime.Value) (bool, error) {
		v, err := e(row)
		if err != nil {
			return false, err
		}
		return ops.Truth(v)
	}, nil
}

// fieldConst matches `field OP const` with a top-level field.
func fieldConst(n *cond.Node) (int, runtime.Value, bool) {
	a, b := n.Args[0], n.Args[1]
	if a.Op == cond.OpField && len(a.Keys) == 0 && b.Op == cond.OpConst {
		return a.Field, b.Const, true
	}
	return 0, runtime.Value{}, false
}

func compareFieldConst(op string, i int, c runtime.Value) pred {
	if c.Kind() == runtime.KindInt || c.Kind() == runtime.KindFloat {
		cf := c.AsFloat()
		slow := func(v runtime.Value) (bool, error) { return ops.Compare(op, v, c) }
		switch op {
		case ">":
			return func(row []runtime.Value) (bool, error) {
				if v := row[i]; v.Kind() == runtime.KindFloat {
					return v.AsFloat() > cf, nil
				}
				return slow(row[i])
			}
		case ">=":
			return func(row []runtime.Value) (bool, error) {
				if v := row[i]; v.Kind() == runtime.KindFloat {
					return v.AsFloat() >= cf, nil
				}
				return slow(row[i])
			}
		case "<":
			return func(row []runtime.Value) (bool, error) {
				if v := row[i]; v.Kind() == runtime.KindFloat {
					return v.AsFloat() < cf, nil
				}
				return slow(row[i])
			}
		case "<=":
			return func(row []runtime.Value) (bool, error) {
				if v := row[i]; v.Kind() == runtime.KindFloat {
					return v.AsFloat() <= cf, nil
				}
				return slow(row[i])
			}
		}
	}
	return func(row []runtime.Value) (bool, error) { return ops.Compare(op, row[i], c) }
}

func equalFieldConst(eq bool, i int, c runtime.Value) pred {
	if c.Kind() == runtime.KindString {
		cs := c.AsString()
		return func(row []runtime.Value) (bool, error) {
			v := row[i]
			if v.Kind() == runtime.KindString {
				return (v.AsString() == cs) == eq, nil
			}
			return ops.Equal(v, c) == eq, nil
		}
	}
	return func(row []runtime.Value) (bool, error) { return ops.Equal(row[i], c) == eq, nil }
}

func compileEval(n *cond.Node) (eval, error) {
	switch n.Op {
	case cond.OpAnd, cond.OpOr, cond.OpNot:
		// compilePred compiles these (and their arguments) itself; compiling
		// the arguments here too would double the work at every level.
		p, err := compilePred(n)
		if err != nil {
			return nil, err
		}
		return func(row []runtime.Value) (runtime.Value, error) {
			ok, err := p(row)
			return runtime.Bool(ok), err
		}, nil
	}
	args := make([]eval, len(n.Args))
	for i, a := range n.Args {
		if n.Op == cond.OpIn && i > 0 {
			break
		}
		e, err := compileEval(a)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	switch n.Op {
	case cond.OpConst:
		c := n.Const
		return func([]runtime.Value) (runtime.Value, error) { return c, nil }, nil
	case cond.OpField:
		i, keys := n.Field, n.Keys
		if len(keys) == 0 {
			return func(row []runtime.Value) (runtime.Value, error) {
				v := row[i]
				if v.Kind() == runtime.KindAbsent {
					return runtime.Null(), nil
				}
				return v, nil
			}, nil
		}
		return func(row []runtime.Value) (runtime.Value, error) {
			v := row[i]
			for _, k := range keys {
				var err error
				if v, err = ops.Member(v, k); err != nil {
					return v, err
				}
			}
			return v, nil
		}, nil
	case cond.OpCompare:
		return binary(args, func(a, b runtime.Value) (runtime.Value, error) {
			ok, err := ops.Compare(n.Name, a, b)
			return runtime.Bool(ok), err
		}), nil
	case cond.OpEq, cond.OpNe:
		eq := n.Op == cond.OpEq
		return binary(args, func(a, b runtime.Value) (runtime.Value, error) {
			return runtime.Bool(ops.Equal(a, b) == eq), nil
		}), nil
	case cond.OpNeg:
		a := args[0]
		return func(row []runtime.Value) (runtime.Value, error) {
			v, err := a(row)
			if err != nil {
				return v, err
			}
			return ops.Negate(v)
		}, nil
	case cond.OpArith:
		return binary(args, func(a, b runtime.Value) (runtime.Value, error) { return ops.Arith(n.Name, a, b) }), nil
	case cond.OpStringOp:
		return binary(args, func(a, b runtime.Value) (runtime.Value, error) {
			ok, err := ops.StringOp(n.Name, a, b)
			return runtime.Bool(ok), err
		}), nil
	case cond.OpMatches:
		re, err := regexp.Compile(n.Name)
		if err != nil {
			return nil, err
		}
		a := args[0]
		return func(row []runtime.Value) (runtime.Value, error) {
			v, err := a(row)
			if err != nil {
				return v, err
			}
			ok, err := ops.Matches(v, re)
			return runtime.Bool(ok), err
		}, nil
	case cond.OpIn:
		set := make([]runtime.Value, len(n.Args)-1)
		for i, c := range n.Args[1:] {
			set[i] = c.Const
		}
		a := args[0]
		return func(row []runtime.Value) (runtime.Value, error) {
			v, err := a(row)
			if err != nil {
				return v, err
			}
			return runtime.Bool(ops.In(v, set)), nil
		}, nil
	case cond.OpLen:
		a := args[0]
		return func(row []runtime.Value) (runtime.Value, error) {
			v, err := a(row)
			if err != nil {
				return v, err
			}
			return ops.Len(v)
		}, nil
	case cond.OpCond:
		c, a, b := args[0], args[1], args[2]
		return func(row []runtime.Value) (runtime.Value, error) {
			v, err := c(row)
			if err != nil {
				return v, err
			}
			t, err := ops.Truth(v)
			if err != nil {
				return v, err
			}
			if t {
				return a(row)
			}
			return b(row)
		}, nil
	}
	return nil, fmt.Errorf("interp: unsupported condition operation %s", n.Op)
}

func binary(args []eval, f func(a, b runtime.Value) (runtime.Value, error)) eval {
	l, r := args[0], args[1]
	return func(row []runtime.Value) (runtime.Value, error) {
		a, err := l(row)
		if err != nil {
			return a, err
		}
		b, err := r(row)
		if err != nil {
			return b, err
		}
		return f(a, b)
	}
}
