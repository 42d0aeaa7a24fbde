package emit

import (
	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/runtime"
)

// pred writes the evaluation of a boolean IR node into b and returns the
// name of the bool variable holding it. && and || short-circuit.
func (pg *progGen) pred(b *jen.Group, n *cond.Node) string {
	switch n.Op {
	case cond.OpAnd, cond.OpOr:
		res := pg.tmp("b")
		l := pg.pred(b, n.Args[0])
		b.Id(res).Op(":=").Id(l)
		test := jen.Id(res)
		if n.Op == cond.OpOr {
			test = jen.Op("!").Id(res)
		}
		b.If(test).BlockFunc(func(in *jen.Group) {
			r := pg.pred(in, n.Args[1])
			in.Id(res).Op("=").Id(r)
		})
		return res
	case cond.OpNot:
		a := pg.pred(b, n.Args[0])
		res := pg.tmp("b")
		b.Id(res).Op(":=").Op("!").Id(a)
		return res
	case cond.OpCompare:
		if f, c, ok := fieldConst(n); ok && (c.Kind() == runtime.KindInt || c.Kind() == runtime.KindFloat) {
			return pg.compareFieldConst(b, n, f, c)
		}
		l, r := pg.value(b, n.Args[0]), pg.value(b, n.Args[1])
		res := pg.tmp("b")
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "Compare").Call(jen.Lit(n.Name), jen.Id(l), jen.Id(r))
		pg.fail(b)
		return res
	case cond.OpEq, cond.OpNe:
		op := "=="
		if n.Op == cond.OpNe {
			op = "!="
		}
		res := pg.tmp("b")
		if f, c, ok := fieldConst(n); ok && c.Kind() == runtime.KindString {
			// Equal(v, "s") is exactly "v is a string equal to s".
			v := pg.tmp("v")
			pg.usesRow = true
			b.Id(v).Op(":=").Id("row").Index(jen.Lit(f))
			eq := jen.Id(v).Dot("Kind").Call().Op("==").Qual(rtPkg, "KindString").Op("&&").Id(v).Dot("AsString").Call().Op("==").Lit(c.AsString())
			if op == "!=" {
				eq = jen.Op("!").Parens(eq)
			}
			b.Id(res).Op(":=").Add(eq)
			return res
		}
		l, r := pg.value(b, n.Args[0]), pg.value(b, n.Args[1])
		b.Id(res).Op(":=").Qual(opsPkg, "Equal").Call(jen.Id(l), jen.Id(r)).Op(op).True()
		return res
	case cond.OpIn:
		needle := pg.value(b, n.Args[0])
		var set []jen.Code
		for _, c := range n.Args[1:] {
			set = append(set, valueLit(c.Const))
		}
		setVar := pg.global("set", jen.Index().Qual(rtPkg, "Value").Values(set...))
		res := pg.tmp("b")
		b.Id(res).Op(":=").Qual(opsPkg, "In").Call(jen.Id(needle), jen.Id(setVar))
		return res
	case cond.OpStringOp:
		l, r := pg.value(b, n.Args[0]), pg.value(b, n.Args[1])
		res := pg.tmp("b")
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "StringOp").Call(jen.Lit(n.Name), jen.Id(l), jen.Id(r))
		pg.fail(b)
		return res
	case cond.OpMatches:
		a := pg.value(b, n.Args[0])
		re := pg.global("re", jen.Qual("regexp", "MustCompile").Call(jen.Lit(n.Name)))
		res := pg.tmp("b")
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "Matches").Call(jen.Id(a), jen.Id(re))
		pg.fail(b)
		return res
	}
	v := pg.value(b, n)
	res := pg.tmp("b")
	b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "Truth").Call(jen.Id(v))
	pg.fail(b)
	return res
}

// compareFieldConst writes `field OP number` with a fast path for the
// field's static kind and ops.Compare for anything else.
func (pg *progGen) compareFieldConst(b *jen.Group, n *cond.Node, f int, c runtime.Value) string {
	v, res := pg.tmp("v"), pg.tmp("b")
	pg.usesRow = true
	b.Id(v).Op(":=").Id("row").Index(jen.Lit(f))
	b.Var().Id(res).Bool()
	var fast jen.Code
	switch {
	case c.Kind() == runtime.KindInt && n.Args[0].Type == runtime.KindInt:
		fast = jen.If(jen.Id(v).Dot("Kind").Call().Op("==").Qual(rtPkg, "KindInt")).Block(
			jen.Id(res).Op("=").Id(v).Dot("AsInt").Call().Op(n.Name).Op(jen.Lit(c.AsInt()).GoString()))
	default:
		fast = jen.If(jen.Id(v).Dot("Kind").Call().Op("==").Qual(rtPkg, "KindFloat")).Block(
			jen.Id(res).Op("=").Id(v).Dot("AsFloat").Call().Op(n.Name).Add(floatConst(c.AsFloat())))
	}
	b.Add(fast).Else().BlockFunc(func(in *jen.Group) {
		in.Var().Id("err").Error()
		in.If(jen.List(jen.Id(res), jen.Id("err")).Op("=").Qual(opsPkg, "Compare").Call(jen.Lit(n.Name), jen.Id(v), valueLit(c)), jen.Id("err").Op("!=").Nil()).Block(
			jen.Return(jen.False(), jen.Op("&").Qual(rtPkg, "StageError").Values(jen.Dict{jen.Id("Stage"): jen.Lit(pg.stage), jen.Id("Err"): jen.Id("err")})))
	})
	return res
}

// floatConst writes a float64 constant so that integral values stay floats
// in comparisons (100 → 100.0).
func floatConst(f float64) jen.Code {
	c := floatLit(f)
	if f == float64(int64(f)) {
		return jen.Op(jen.Lit(f).GoString())
	}
	return c
}

// fieldConst matches `field OP const` on a top-level field.
func fieldConst(n *cond.Node) (int, runtime.Value, bool) {
	a, c := n.Args[0], n.Args[1]
	if a.Op == cond.OpField && len(a.Keys) == 0 && c.Op == cond.OpConst {
		return a.Field, c.Const, true
	}
	return 0, runtime.Value{}, false
}

// value writes the evaluation of an IR node into b and returns the name
// of the runtime.Value variable holding it.
func (pg *progGen) value(b *jen.Group, n *cond.Node) string {
	res := pg.tmp("v")
	switch n.Op {
	case cond.OpConst:
		b.Id(res).Op(":=").Add(valueLit(n.Const))
	case cond.OpField:
		pg.usesRow = true
		b.Id(res).Op(":=").Id("row").Index(jen.Lit(n.Field))
		for _, k := range n.Keys {
			b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "Member").Call(jen.Id(res), jen.Lit(k))
			pg.fail(b)
		}
	case cond.OpNeg:
		a := pg.value(b, n.Args[0])
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "Negate").Call(jen.Id(a))
		pg.fail(b)
	case cond.OpArith:
		l, r := pg.value(b, n.Args[0]), pg.value(b, n.Args[1])
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "Arith").Call(jen.Lit(n.Name), jen.Id(l), jen.Id(r))
		pg.fail(b)
	case cond.OpLen:
		a := pg.value(b, n.Args[0])
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Qual(opsPkg, "Len").Call(jen.Id(a))
		pg.fail(b)
	case cond.OpCond:
		c := pg.value(b, n.Args[0])
		t := pg.tmp("b")
		b.List(jen.Id(t), jen.Id("err")).Op(":=").Qual(opsPkg, "Truth").Call(jen.Id(c))
		pg.fail(b)
		b.Var().Id(res).Qual(rtPkg, "Value")
		b.If(jen.Id(t)).BlockFunc(func(in *jen.Group) {
			x := pg.value(in, n.Args[1])
			in.Id(res).Op("=").Id(x)
		}).Else().BlockFunc(func(in *jen.Group) {
			y := pg.value(in, n.Args[2])
			in.Id(res).Op("=").Id(y)
		})
	default: // boolean operations
		p := pg.pred(b, n)
		b.Id(res).Op(":=").Qual(rtPkg, "Bool").Call(jen.Id(p))
	}
	return res
}
