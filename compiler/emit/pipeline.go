package emit

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
)

// progField is a field of a generated program struct, set by build.
type progField struct {
	name  string
	typ   jen.Code
	value jen.Code
}

// progGen generates one pipeline's Process method.
type progGen struct {
	*generator
	pp      *plan.Pipeline
	typ     string
	fields  []progField
	n       int
	stage   string
	usesRow bool
	vmSetup []jen.Code // statements in build compiling fallback programs
}

func (pg *progGen) tmp(prefix string) string {
	pg.n++
	return fmt.Sprintf("%s%d", prefix, pg.n)
}

func (pg *progGen) field(prefix string, typ, value jen.Code) string {
	name := fmt.Sprintf("%s%d", prefix, len(pg.fields))
	pg.fields = append(pg.fields, progField{name, typ, value})
	return name
}

// fail writes `if err != nil { return false, &runtime.StageError{…} }`.
func (pg *progGen) fail(grp *jen.Group) {
	grp.If(jen.Id("err").Op("!=").Nil()).Block(
		jen.Return(jen.False(), jen.Op("&").Qual(rtPkg, "StageError").Values(jen.Dict{
			jen.Id("Stage"): jen.Lit(pg.stage), jen.Id("Err"): jen.Id("err"),
		})),
	)
}

func (g *generator) pipeline(pp *plan.Pipeline) (code []jen.Code, build jen.Code, err error) {
	sb, _ := lookupBind(bind.Source, pp.Source)
	kb, _ := lookupBind(bind.Sink, pp.Sink)
	if sb == nil || sb.Go == nil || kb == nil || kb.Go == nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("pipeline %q: connectors %s → %s cannot be compiled to Go yet", pp.Name, pp.Source.Connector, pp.Sink.Connector)}
	}
	srcLit, err := g.componentLiteral(sb, "sources", pp.Source)
	if err != nil {
		return nil, nil, err
	}
	sinkLit, err := g.componentLiteral(kb, "sinks", pp.Sink)
	if err != nil {
		return nil, nil, err
	}
	// The registry is the process's (openProcess), not the pipeline's.
	st := pp.Settings
	st.Process.Registry = runtime.Registry{}
	settings, err := g.literal(reflect.ValueOf(st), "", g.settingsEnv(pp))
	if err != nil {
		return nil, nil, err
	}

	dl, dlFormats, err := g.deadLetter(pp)
	if err != nil {
		return nil, nil, err
	}
	var cs jen.Code
	if name := pp.Settings.ClusterSink; name != "" {
		var ok bool
		if cs, _, ok, err = g.namedSink(pp, name, "clusterStatus", "cluster status sink"); err != nil {
			return nil, nil, err
		} else if !ok {
			return nil, nil, &Error{Msg: fmt.Sprintf("pipeline %q: the cluster status sink %q is not in the plan", pp.Name, name)}
		}
	}
	pg := &progGen{generator: g, pp: pp, typ: g.ident(pp.Name, "Program")}
	var body []jen.Code
	// A batch stage (enrich) splits the stages into segments, each a
	// method; a runtime.Chain runs them and the steps (see batchProgram).
	var segs []segment
	var steps []batchStep
	for i, st := range pp.Stages {
		pg.stage = st.Parts[0].Name
		if bs, ok := st.Spec.(bind.BatchStage); ok {
			ctor, err := bs.EmitStep(i, st.Parts, pg)
			if err != nil {
				return nil, nil, fmt.Errorf("transforms.%s: %w", st.Parts[0].Name, err)
			}
			field := pg.field(st.Spec.Type(), jen.Qual(rtPkg, "BatchStep"), ctor)
			steps = append(steps, batchStep{field: field, name: st.Parts[0].Name, typ: st.Spec.Type(), scope: st.Scope})
			segs = append(segs, segment{body: body, usesRow: pg.usesRow})
			body, pg.usesRow = nil, false
			continue
		}
		stmts, err := st.Spec.Emit(i, st.Parts, pg)
		if err != nil {
			return nil, nil, err
		}
		if st.Scope != nil {
			// Records of other streams pass the stage unchanged.
			var in jen.Code
			for _, sc := range st.Scope {
				c := jen.Parens(jen.Id("r").Dot("Stream").Op("==").Lit(sc.Name).Op("&&").Id("r").Dot("Namespace").Op("==").Lit(sc.Namespace))
				if in == nil {
					in = c
				} else {
					in = jen.Add(in).Op("||").Add(c)
				}
			}
			stmts = []jen.Code{jen.If(in).Block(stmts...)}
		}
		body = append(body, stmts...)
	}

	var methods []jen.Code
	var process jen.Code
	if len(steps) == 0 {
		process = jen.Func().Params(jen.Id("p").Op("*").Id(pg.typ)).Id("Process").
			Params(jen.Id("r").Op("*").Qual(rtPkg, "Record")).Params(jen.Bool(), jen.Error()).BlockFunc(func(b *jen.Group) {
			if pg.usesRow {
				b.Id("row").Op(":=").Id("r").Dot("Row").Call()
			}
			for _, s := range body {
				b.Add(s)
			}
			b.Return(jen.True(), jen.Nil())
		})
	} else {
		segs = append(segs, segment{body: body, usesRow: pg.usesRow})
		process, methods = pg.batchProgram(segs, steps)
		pg.fields = append(pg.fields, progField{name: "chain", typ: jen.Op("*").Qual(rtPkg, "Chain")})
	}
	structFields := make([]jen.Code, len(pg.fields))
	init := jen.Dict{}
	for i, f := range pg.fields {
		structFields[i] = jen.Id(f.name).Add(f.typ)
		if f.value != nil {
			init[jen.Id(f.name)] = f.value
		}
	}
	var names []string
	for _, st := range pp.Stages {
		names = append(names, st.Names()...)
	}
	doc := fmt.Sprintf("%s is the fused per-record function of pipeline %q", pg.typ, pp.Name)
	if len(names) > 0 {
		doc += fmt.Sprintf(": transforms %s, in order.", strings.Join(quoteAll(names), ", "))
	} else {
		doc += "; it has no transforms."
	}
	code = append(code,
		jen.Comment(doc).Line().Type().Id(pg.typ).Struct(structFields...),
		jen.Comment("Process runs every stage on r in place; false means a filter dropped it.").Line().Add(process),
	)
	code = append(code, methods...)

	wrap := func(role, name string) jen.Code {
		return jen.If(jen.Id("err").Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(
			jen.Lit(fmt.Sprintf("pipeline %q: %s %q: %%w", pp.Name, role, name)), jen.Id("err"))))
	}
	build = jen.BlockFunc(func(b *jen.Group) {
		b.Comment(fmt.Sprintf("pipeline %q: %s %q → %s %q", pp.Name, pp.Source.Connector, pp.Source.Name, pp.Sink.Connector, pp.Sink.Name))
		b.Id("sourceConfig").Op(":=").Add(srcLit)
		b.Id("sinkConfig").Op(":=").Add(sinkLit)
		for _, s := range pg.vmSetup {
			b.Add(s)
		}
		b.Id("prog").Op(":=").Op("&").Id(pg.typ).Values(init)
		b.If(jen.Id("e").Dot("Err").Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Id("e").Dot("Err")))
		if len(steps) > 0 {
			b.Id("prog").Dot("chain").Op("=").Add(chainLit(segs, steps))
		}
		b.List(jen.Id("from"), jen.Id("err")).Op(":=").Qual(sb.Go.Pkg, sb.Go.Func).Call(ctorArgs(sb.Go, jen.Id("sourceConfig"))...)
		b.Add(wrap("source", pp.Source.Name))
		b.List(jen.Id("to"), jen.Id("err")).Op(":=").Qual(kb.Go.Pkg, kb.Go.Func).Call(ctorArgs(kb.Go, jen.Id("sinkConfig"))...)
		b.Add(wrap("sink", pp.Sink.Name))
		if kb.Go.Formats {
			b.Id("to").Dot("UseFormats").Call(jen.Id("env").Dot("Formats"))
		}
		fields := jen.Dict{
			jen.Id("Name"):            jen.Lit(pp.Name),
			jen.Id("SourceName"):      jen.Lit(pp.Source.Name),
			jen.Id("SinkName"):        jen.Lit(pp.Sink.Name),
			jen.Id("SourceConnector"): jen.Lit(pp.Source.Connector),
			jen.Id("SinkConnector"):   jen.Lit(pp.Sink.Connector),
			jen.Id("Source"):          jen.Id("from"),
			jen.Id("Program"):         jen.Id("prog"),
			jen.Id("Sink"):            jen.Id("to"),
			jen.Id("Settings"):        settings,
			jen.Id("Now"):             jen.Id("env").Dot("Now"),
		}
		if len(names) > 0 { // nil otherwise, as the interpreter leaves it
			fields[jen.Id("Transforms")] = stringSlice(names)
		}
		if dl != nil {
			b.Add(dl)
			b.Add(wrap("dead_letter_sink", pp.Settings.DeadLetterSink))
			if dlFormats {
				b.Id("deadLetters").Dot("UseFormats").Call(jen.Id("env").Dot("Formats"))
			}
			fields[jen.Id("DeadLetter")] = jen.Id("deadLetters")
		}
		if cs != nil {
			b.Add(cs)
			b.Add(wrap("cluster status sink", pp.Settings.ClusterSink))
			fields[jen.Id("ClusterStatus")] = jen.Id("clusterStatus")
		}
		b.Id("pipes").Op("=").Append(jen.Id("pipes"), jen.Op("&").Qual(rtPkg, "Pipeline").Values(fields))
	})
	return code, build, nil
}

// deadLetter writes the construction of a pipeline's dead-letter sink into
// `deadLetters`, or returns nil when the pipeline has none; formats: the
// sink uses the typed formats, as the interpreter's NewSink gives them.
func (g *generator) deadLetter(pp *plan.Pipeline) (code jen.Code, formats bool, err error) {
	if pp.Settings.OnError != runtime.OnErrorDeadLetter {
		return nil, false, nil
	}
	code, formats, ok, err := g.namedSink(pp, pp.Settings.DeadLetterSink, "deadLetters", "dead_letter_sink")
	if err == nil && !ok {
		err = &Error{Msg: fmt.Sprintf("pipeline %q: on_error: dead_letter needs settings.dead_letter_sink in a compiled binary", pp.Name)}
	}
	return code, formats, err
}

// namedSink writes the construction of the plan's sink name into the
// variable v; ok is false when the plan has no such sink.
func (g *generator) namedSink(pp *plan.Pipeline, name, v, what string) (code jen.Code, formats, ok bool, err error) {
	for _, c := range g.plan.Sinks {
		if c.Name != name {
			continue
		}
		b, _ := lookupBind(bind.Sink, c)
		if b == nil || b.Go == nil {
			return nil, false, true, &Error{Msg: fmt.Sprintf("pipeline %q: %s %q (%s) cannot be compiled to Go yet", pp.Name, what, c.Name, c.Connector)}
		}
		lit, err := g.componentLiteral(b, "sinks", c)
		if err != nil {
			return nil, false, true, err
		}
		return jen.List(jen.Id(v), jen.Id("err")).Op(":=").Qual(b.Go.Pkg, b.Go.Func).Call(ctorArgs(b.Go, lit)...), b.Go.Formats, true, nil
	}
	return nil, false, false, nil
}

// ctorArgs are the arguments of a component's constructor: its config,
// then the runtime.Env field it takes (none when GoCtor.Env is "").
func ctorArgs(g *bind.GoCtor, cfg jen.Code) []jen.Code {
	if g.Env == "" {
		return []jen.Code{cfg}
	}
	return []jen.Code{cfg, jen.Id("env").Dot(g.Env)}
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// componentLiteral writes a source's or sink's config, with its
// environment-derived fields read at start-up.
func (g *generator) componentLiteral(b *bind.Component, section string, c plan.Component) (jen.Code, error) {
	code, err := g.componentLiteralOf(b, section, c)
	if err != nil {
		return nil, fmt.Errorf("%s.%s: %w", section, c.Name, err)
	}
	return code, nil
}

func (g *generator) componentLiteralOf(b *bind.Component, section string, c plan.Component) (jen.Code, error) {
	env := map[string]envRef{}
	if b.GoField == nil {
		return g.literal(reflect.ValueOf(c.Config), "", env)
	}
	if c.Implied {
		// Its config holds the top-level broker section: GoField maps
		// those paths (starting with "broker") too.
		for i, eb := range g.envFor("broker") {
			if goPath, ok := b.GoField(c.Config, eb.Path); ok {
				env[goPath] = envRef{i, eb}
			}
		}
		return g.literal(reflect.ValueOf(c.Config), "", env)
	}
	for i, eb := range g.envFor(section, c.Name, "config") {
		if goPath, ok := b.GoField(c.Config, eb.Path[3:]); ok {
			env[goPath] = envRef{i, eb}
		}
	}
	if b.EnvFrom != nil {
		for _, prefix := range b.EnvFrom(c.Config) {
			for i, eb := range g.envFor(prefix...) {
				if goPath, ok := b.GoField(c.Config, eb.Path[len(prefix):]); ok {
					env[goPath] = envRef{i, eb}
				}
			}
		}
	}
	return g.literal(reflect.ValueOf(c.Config), "", env)
}

// settingsEnv maps environment-derived pipeline settings to Settings fields.
func (g *generator) settingsEnv(pp *plan.Pipeline) map[string]envRef {
	env := map[string]envRef{}
	keys := map[string]string{"rate_limit": "RateLimit"}
	for i, eb := range g.envFor("pipelines", pp.Name, "settings") {
		if f, ok := keys[eb.Path[len(eb.Path)-1]]; ok && len(eb.Path) == 4 {
			env[f] = envRef{i, eb}
		}
	}
	if pp.Settings.Cluster.Enabled { // one binary serves every node: the node's name is read at start-up
		for i, eb := range g.envFor("distributed") {
			if len(eb.Path) == 2 && eb.Path[1] == "node_id" {
				env["Cluster.Node"] = envRef{i, eb}
			}
		}
	}
	return env
}

// progGen is the bind.Emitter stages write themselves with.
var _ bind.Emitter = (*progGen)(nil)

// Condition implements bind.Emitter.
func (pg *progGen) Condition(b *jen.Group, c *cond.Condition, stage string) string {
	pg.stage = stage
	return pg.condition(b, c)
}

// Field implements bind.Emitter.
func (pg *progGen) Field(prefix string, typ, value jen.Code) string {
	return pg.field(prefix, typ, value)
}

// Global implements bind.Emitter.
func (pg *progGen) Global(prefix string, value jen.Code) string { return pg.global(prefix, value) }

// Literal implements bind.Emitter: env's keys are config keys below
// transforms.<part>.config, dotted for nested ones ("postgres.password").
func (pg *progGen) Literal(v any, part string, env map[string]string) (jen.Code, error) {
	refs := map[string]envRef{}
	for i, eb := range pg.envFor("transforms", part, "config") {
		key := strings.Join(eb.Path[3:], ".")
		for goField, k := range env {
			if key == k {
				refs[goField] = envRef{i, eb}
			}
		}
	}
	return pg.literal(reflect.ValueOf(v), "", refs)
}

// LiteralFrom implements bind.Emitter.
func (pg *progGen) LiteralFrom(v any, prefix []string, goPrefix string) (jen.Code, error) {
	refs := map[string]envRef{}
	for i, eb := range pg.envFor(prefix...) {
		refs[goPrefix+"."+strings.Join(eb.Path[len(prefix):], ".")] = envRef{i, eb}
	}
	return pg.literal(reflect.ValueOf(v), "", refs)
}

// UseEnv implements bind.Emitter.
func (pg *progGen) UseEnv(part string, keys ...string) {
	for i, eb := range pg.envFor("transforms", part, "config") {
		if len(eb.Path) == 4 && slices.Contains(keys, eb.Path[3]) {
			pg.use(i)
		}
	}
}

// condition writes a condition's evaluation into b and returns the name of
// the bool holding its result.
func (pg *progGen) condition(b *jen.Group, c *cond.Condition) string {
	if c.Dynamic {
		// The stream's schema is known only at run time: every field of each
		// record, by name, on expr's VM.
		vm := pg.field("vm", jen.Op("*").Qual(exprcondPkg, "Program"), jen.Id(fmt.Sprintf("vm%d", len(pg.fields))))
		pg.vmSetup = append(pg.vmSetup,
			jen.List(jen.Id(vm), jen.Id("err")).Op(":=").Qual(exprcondPkg, "Compile").Call(jen.Lit(c.Source), jen.Nil()),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Id("err"))),
		)
		res := pg.tmp("b")
		b.Comment("expr-vm: " + c.Reason)
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Id("p").Dot(vm).Dot("EvalRecord").Call(jen.Id("r"))
		pg.fail(b)
		return res
	}
	if c.Strategy == cond.Fallback {
		pg.usesRow = true
		var fields []jen.Code
		for _, f := range c.Fields {
			fields = append(fields, jen.Values(jen.Dict{jen.Id("Name"): jen.Lit(f.Name), jen.Id("Index"): jen.Lit(f.Index)}))
		}
		vm := pg.field("vm", jen.Op("*").Qual(exprcondPkg, "Program"), jen.Id(fmt.Sprintf("vm%d", len(pg.fields))))
		pg.vmSetup = append(pg.vmSetup,
			jen.List(jen.Id(vm), jen.Id("err")).Op(":=").Qual(exprcondPkg, "Compile").Call(jen.Lit(c.Source), jen.Index().Qual(exprcondPkg, "Field").Values(fields...)),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Id("err"))),
		)
		res := pg.tmp("b")
		b.Comment("expr-vm: " + c.Reason)
		b.List(jen.Id(res), jen.Id("err")).Op(":=").Id("p").Dot(vm).Dot("Eval").Call(jen.Id("row"))
		pg.fail(b)
		return res
	}
	return pg.pred(b, c.IR)
}
