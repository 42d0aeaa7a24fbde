package emit

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/bind"
)

// segment is the generated statements of the stages between two batch
// stages, and whether they read `row`.
type segment struct {
	body    []jen.Code
	usesRow bool
}

// batchStep is a batch stage (bind.BatchStage) of a pipeline: the program
// field holding its runtime.BatchStep, its transform name and scope.
type batchStep struct {
	field, name, typ string
	scope            []bind.StreamName
}

// batchProgram writes the Process method of a pipeline with batch stages
// — the record alone through the chain — and the methods next to it:
// ProcessBatch (runtime.BatchProgram) and one method per non-empty
// segment, which the chain (chainLit) calls as the interpreter calls its
// closures.
func (pg *progGen) batchProgram(segs []segment, steps []batchStep) (process jen.Code, methods []jen.Code) {
	recv := jen.Id("p").Op("*").Id(pg.typ)
	process = jen.Func().Params(recv).Id("Process").
		Params(jen.Id("r").Op("*").Qual(rtPkg, "Record")).Params(jen.Bool(), jen.Error()).Block(
		jen.Return(jen.Id("p").Dot("chain").Dot("Process").Call(jen.Id("r"))))
	methods = append(methods, jen.Comment("ProcessBatch runs a source batch through the stages, one call per batch").Line().
		Comment("at each batch stage (runtime.BatchProgram).").Line().
		Func().Params(jen.Id("p").Op("*").Id(pg.typ)).Id("ProcessBatch").
		Params(jen.Id("recs").Index().Qual(rtPkg, "Record")).Index().Qual(rtPkg, "Outcome").Block(
		jen.Return(jen.Id("p").Dot("chain").Dot("ProcessBatch").Call(jen.Id("recs")))))
	methods = append(methods, jen.Comment("Close closes the batch stages when the pipeline ends.").Line().
		Func().Params(jen.Id("p").Op("*").Id(pg.typ)).Id("Close").Params().Error().Block(
		jen.Return(jen.Id("p").Dot("chain").Dot("Close").Call())))
	for i, sg := range segs {
		if len(sg.body) == 0 {
			continue
		}
		doc := fmt.Sprintf("segment%d runs the stages ", i)
		switch {
		case i == 0:
			doc += fmt.Sprintf("before %s %q.", steps[0].typ, steps[0].name)
		case i == len(steps):
			doc += fmt.Sprintf("after %s %q.", steps[i-1].typ, steps[i-1].name)
		default:
			doc += fmt.Sprintf("between %s %q and %s %q.", steps[i-1].typ, steps[i-1].name, steps[i].typ, steps[i].name)
		}
		methods = append(methods, jen.Comment(doc).Line().
			Func().Params(jen.Id("p").Op("*").Id(pg.typ)).Id(fmt.Sprintf("segment%d", i)).
			Params(jen.Id("r").Op("*").Qual(rtPkg, "Record")).Params(jen.Bool(), jen.Error()).BlockFunc(func(b *jen.Group) {
			if sg.usesRow {
				b.Id("row").Op(":=").Id("r").Dot("Row").Call()
			}
			for _, s := range sg.body {
				b.Add(s)
			}
			b.Return(jen.True(), jen.Nil())
		}))
	}
	return process, methods
}

// chainLit writes the runtime.Chain of a program `prog` with batch stages.
func chainLit(segs []segment, steps []batchStep) jen.Code {
	var fns, stepIDs, names, scopes []jen.Code
	for i, sg := range segs {
		if len(sg.body) == 0 {
			fns = append(fns, jen.Nil())
			continue
		}
		fns = append(fns, jen.Id("prog").Dot(fmt.Sprintf("segment%d", i)))
	}
	for _, st := range steps {
		stepIDs = append(stepIDs, jen.Id("prog").Dot(st.field))
		names = append(names, jen.Lit(st.name))
		if st.scope == nil {
			scopes = append(scopes, jen.Nil())
			continue
		}
		var items []jen.Code
		for _, sc := range st.scope {
			items = append(items, jen.Values(jen.Dict{jen.Id("Name"): jen.Lit(sc.Name), jen.Id("Namespace"): jen.Lit(sc.Namespace)}))
		}
		scopes = append(scopes, jen.Index().Qual(rtPkg, "StreamRef").Values(items...))
	}
	return jen.Op("&").Qual(rtPkg, "Chain").Values(jen.Dict{
		jen.Id("Segments"): jen.Index().Func().Params(jen.Op("*").Qual(rtPkg, "Record")).Params(jen.Bool(), jen.Error()).Values(fns...),
		jen.Id("Steps"):    jen.Index().Qual(rtPkg, "BatchStep").Values(stepIDs...),
		jen.Id("Names"):    jen.Index().String().Values(names...),
		jen.Id("Scopes"):   jen.Index().Index().Qual(rtPkg, "StreamRef").Values(scopes...),
	})
}
