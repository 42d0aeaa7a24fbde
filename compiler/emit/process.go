package emit

import (
	"reflect"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
)

const schemaformatPkg = modPath + "/stdlib/schemaformat"

// registryKeys maps the schema_registry keys to runtime.Registry fields.
var registryKeys = map[string]string{
	"mode": "Mode", "compatibility": "Compatibility", "url": "URL", "listen": "Listen", "topic": "Topic",
	"auth.username": "Username", "auth.password": "Password",
}

// process writes openProcess, which opens what the whole process shares
// before the pipelines are built — the schema registry, through the same
// stdlib function `run` calls — or returns nil when the plan needs none.
func (g *generator) process() (jen.Code, error) {
	var reg runtime.Registry
	stateDir := ""
	for _, pp := range g.plan.Pipelines {
		if pp.Enabled && pp.Settings.Process.Registry.Configured() {
			reg, stateDir = pp.Settings.Process.Registry, pp.Settings.StateDir
			break
		}
	}
	if !reg.Configured() {
		return nil, nil
	}
	regEnv := map[string]envRef{}
	for i, eb := range g.envFor("schema_registry") {
		if f, ok := registryKeys[strings.Join(eb.Path[1:], ".")]; ok {
			regEnv[f] = envRef{i, eb}
		}
	}
	regLit, err := g.literal(reflect.ValueOf(reg), "", regEnv)
	if err != nil {
		return nil, err
	}
	var conn jen.Code
	if g.plan.Broker != nil {
		// The embedded registry keeps its log on the broker: the top-level
		// section, whose ${VAR}s map as for a rivven sink's Broker field.
		b, _ := bind.Lookup(bind.Sink, "rivven")
		env := map[string]envRef{}
		for i, eb := range g.envFor("broker") {
			if goPath, ok := b.GoField(sink.Config{Broker: *g.plan.Broker}, eb.Path); ok {
				env[strings.TrimPrefix(goPath, "Broker.")] = envRef{i, eb}
			}
		}
		lit, err := g.literal(reflect.ValueOf(*g.plan.Broker), "", env)
		if err != nil {
			return nil, err
		}
		conn = jen.Op("&").Add(lit)
	}
	return jen.Comment("openProcess opens what the whole process shares, before build: the").Line().
		Comment("schema registry. Values from environment variables are read here.").Line().
		Func().Id("openProcess").Params(
		jen.Id("env").Op("*").Qual(rtPkg, "Env"),
		jen.Id("lookup").Func().Params(jen.String()).Params(jen.String(), jen.Bool()),
	).Params(jen.Func().Params().Error(), jen.Error()).BlockFunc(func(b *jen.Group) {
		b.Id("e").Op(":=").Op("&").Qual(appPkg, "Env").Values(jen.Dict{jen.Id("Lookup"): jen.Id("lookup")})
		b.Id("reg").Op(":=").Add(regLit)
		b.Var().Id("conn").Op("*").Qual(modPath+"/stdlib/rivven/broker", "Conn")
		if conn != nil {
			b.Id("conn").Op("=").Add(conn)
		}
		b.If(jen.Id("e").Dot("Err").Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Id("e").Dot("Err")))
		b.List(jen.Id("h"), jen.Id("err")).Op(":=").Qual(schemaformatPkg, "Open").Call(jen.Id("reg"), jen.Lit(stateDir), jen.Id("conn"))
		b.If(jen.Id("err").Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Id("err")))
		b.If(jen.Id("h").Dot("Addr").Op("!=").Lit("")).Block(
			jen.Qual("fmt", "Fprintf").Call(jen.Id("env").Dot("Stderr"), jen.Lit("schema registry REST API on http://%s\n"), jen.Id("h").Dot("Addr")))
		b.Id("env").Dot("Formats").Op("=").Id("h")
		b.Return(jen.Id("h").Dot("Close"), jen.Nil())
	}), nil
}
