package emit

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mask"
	"github.com/rivven/rivven-connect/stdlib/wasm"
)

var (
	valueType    = reflect.TypeOf(runtime.Value{})
	strategyType = reflect.TypeOf(mask.Strategy(0))
	policyType   = reflect.TypeOf(runtime.ErrorPolicy(0))
	fileType     = reflect.TypeOf(runtime.File{})
	pluginType   = reflect.TypeOf(wasm.Plugin{})
)

// literal writes v (plain config data) as a Go composite literal. Fields
// whose Go path (e.g. "Salt", "CustomFields[1].Value") has an environment
// binding in env become start-up reads through the app.Env named e.
func (g *generator) literal(v reflect.Value, path string, env map[string]envRef) (jen.Code, error) {
	if ref, ok := env[path]; ok {
		g.use(ref.index)
		return envRead(ref.binding, v.Type())
	}
	switch v.Type() {
	case fileType:
		return g.fileLit(v.Interface().(runtime.File))
	case valueType:
		if hasPrefix(env, path) {
			return g.valueEnvLit(v.Interface().(runtime.Value), path, env)
		}
		return valueLit(v.Interface().(runtime.Value)), nil
	case strategyType:
		return jen.Qual(maskPkg, capitalize(v.Interface().(mask.Strategy).String())), nil
	case policyType:
		return jen.Qual(rtPkg, map[runtime.ErrorPolicy]string{runtime.OnErrorStop: "OnErrorStop", runtime.OnErrorSkip: "OnErrorSkip", runtime.OnErrorDeadLetter: "OnErrorDeadLetter"}[v.Interface().(runtime.ErrorPolicy)]), nil
	}
	if v.Type() == pluginType {
		if err := literalSecrets(v.Interface().(wasm.Plugin), path, env); err != nil {
			return nil, err
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		dict := jen.Dict{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				return nil, fmt.Errorf("emit: %s has unexported field %s; configs must be plain data", v.Type(), f.Name)
			}
			fp := f.Name
			if path != "" {
				fp = path + "." + f.Name
			}
			if v.Field(i).IsZero() && !hasPrefix(env, fp) {
				continue
			}
			if plan.IsSecretField(f.Name) && v.Field(i).Kind() == reflect.String {
				if _, fromEnv := env[fp]; !fromEnv {
					return nil, &Error{Msg: fmt.Sprintf("a %s is written literally in the config; a compiled binary never contains secrets: give it as ${VARIABLE} so the binary reads it at start-up", strings.ToLower(f.Name))}
				}
			}
			c, err := g.literal(v.Field(i), fp, env)
			if err != nil {
				return nil, err
			}
			dict[jen.Id(f.Name)] = c
		}
		return typeCode(v.Type()).Values(dict), nil
	case reflect.Slice:
		elems := make([]jen.Code, v.Len())
		for i := range v.Len() {
			c, err := g.literal(v.Index(i), fmt.Sprintf("%s[%d]", path, i), env)
			if err != nil {
				return nil, err
			}
			elems[i] = c
		}
		return jen.Index().Add(typeCode(v.Type().Elem())).Values(elems...), nil
	case reflect.String:
		return jen.Lit(v.String()), nil
	case reflect.Bool:
		return jen.Lit(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return jen.Op(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return jen.Op(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return floatLit(v.Float()), nil
	}
	return nil, fmt.Errorf("emit: cannot write a %s literal; configs must be plain data", v.Type())
}

func hasPrefix(env map[string]envRef, p string) bool {
	for k := range env {
		if len(k) >= len(p) && k[:len(p)] == p && (len(k) == len(p) || k[len(p)] == '.' || k[len(p)] == '[') {
			return true
		}
	}
	return false
}

func typeCode(t reflect.Type) *jen.Statement {
	if t.PkgPath() != "" {
		return jen.Qual(t.PkgPath(), t.Name())
	}
	return jen.Id(t.String())
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func floatLit(f float64) jen.Code {
	switch {
	case math.IsNaN(f):
		return jen.Qual("math", "NaN").Call()
	case math.IsInf(f, 1):
		return jen.Qual("math", "Inf").Call(jen.Lit(1))
	case math.IsInf(f, -1):
		return jen.Qual("math", "Inf").Call(jen.Lit(-1))
	}
	return jen.Op(strconv.FormatFloat(f, 'g', -1, 64))
}

// valueLit writes a runtime.Value constructor call.
func valueLit(v runtime.Value) jen.Code {
	switch v.Kind() {
	case runtime.KindBool:
		return jen.Qual(rtPkg, "Bool").Call(jen.Lit(v.AsBool()))
	case runtime.KindInt:
		return jen.Qual(rtPkg, "Int").Call(jen.Op(strconv.FormatInt(v.AsInt(), 10)))
	case runtime.KindFloat:
		return jen.Qual(rtPkg, "Float").Call(floatLit(v.AsFloat()))
	case runtime.KindString:
		return jen.Qual(rtPkg, "String").Call(jen.Lit(v.AsString()))
	case runtime.KindAbsent:
		return jen.Qual(rtPkg, "Absent").Call()
	case runtime.KindArray:
		var elems []jen.Code
		for _, e := range v.AsArray() {
			elems = append(elems, valueLit(e))
		}
		return jen.Qual(rtPkg, "ArrayValue").Call(jen.Index().Qual(rtPkg, "Value").Values(elems...))
	case runtime.KindObject:
		o := v.AsObject()
		var keys, vals []jen.Code
		for i, k := range o.Keys {
			keys = append(keys, jen.Lit(k))
			vals = append(vals, valueLit(o.Values[i]))
		}
		return jen.Qual(rtPkg, "ObjectValue").Call(jen.Op("&").Qual(rtPkg, "Object").Values(jen.Dict{
			jen.Id("Keys"):   jen.Index().String().Values(keys...),
			jen.Id("Values"): jen.Index().Qual(rtPkg, "Value").Values(vals...),
		}))
	}
	return jen.Qual(rtPkg, "Null").Call()
}

// literalSecrets refuses a plugin whose secret config values (keys
// naming a password, token, key, …) are written literally: a compiled
// binary never contains secrets.
func literalSecrets(p wasm.Plugin, path string, env map[string]envRef) error {
	prefix := "Config."
	if path != "" {
		prefix = path + ".Config."
	}
	for _, k := range p.SecretKeys {
		if _, fromEnv := env[prefix+k]; !fromEnv {
			return &Error{Msg: fmt.Sprintf("plugins.%s.config.%s is a secret written literally in the config; a compiled binary never contains secrets: give it as ${VARIABLE} so the binary reads it at start-up", p.Name, k)}
		}
	}
	return nil
}

// fileLit embeds a file the binary reads at start-up (runtime.File): its
// bytes, read now, become a file next to the generated code that a
// //go:embed variable holds.
func (g *generator) fileLit(f runtime.File) (jen.Code, error) {
	data, err := f.Read()
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("cannot embed %s: %v", f.Where(), err)}
	}
	name := g.embed(f.Name, data)
	return jen.Qual(rtPkg, "File").Values(jen.Dict{jen.Id("Name"): jen.Lit(f.Name), jen.Id("Data"): jen.Id(name)}), nil
}

// valueEnvLit writes a runtime.Value whose parts below path have
// environment bindings (keys path.<key>, path.<index>): those parts are
// read at start-up, the rest written as constants.
func (g *generator) valueEnvLit(v runtime.Value, path string, env map[string]envRef) (jen.Code, error) {
	switch v.Kind() {
	case runtime.KindObject:
		o := v.AsObject()
		var keys, vals []jen.Code
		for i, k := range o.Keys {
			c, err := g.literal(reflect.ValueOf(o.Values[i]), path+"."+k, env)
			if err != nil {
				return nil, err
			}
			keys = append(keys, jen.Lit(k))
			vals = append(vals, c)
		}
		return jen.Qual(rtPkg, "ObjectValue").Call(jen.Op("&").Qual(rtPkg, "Object").Values(jen.Dict{
			jen.Id("Keys"):   jen.Index().String().Values(keys...),
			jen.Id("Values"): jen.Index().Qual(rtPkg, "Value").Values(vals...),
		})), nil
	case runtime.KindArray:
		var elems []jen.Code
		for i, e := range v.AsArray() {
			c, err := g.literal(reflect.ValueOf(e), path+"."+strconv.Itoa(i), env)
			if err != nil {
				return nil, err
			}
			elems = append(elems, c)
		}
		return jen.Qual(rtPkg, "ArrayValue").Call(jen.Index().Qual(rtPkg, "Value").Values(elems...)), nil
	}
	return valueLit(v), nil
}

// envRef is a binding with its index in plan.Env.
type envRef struct {
	index   int
	binding check.EnvBinding
}

// envRead writes the start-up read of a binding into a field of type t.
func envRead(b check.EnvBinding, t reflect.Type) (jen.Code, error) {
	args := []jen.Code{jen.Lit(b.Pos.String()), jen.Lit(b.Raw)}
	if t == valueType {
		kind := map[runtime.Kind]string{runtime.KindNull: "KindNull", runtime.KindBool: "KindBool", runtime.KindInt: "KindInt",
			runtime.KindFloat: "KindFloat", runtime.KindString: "KindString"}[b.Kind]
		return jen.Id("e").Dot("Value").Call(append(args, jen.Qual(rtPkg, kind))...), nil
	}
	switch t.Kind() {
	case reflect.String:
		return jen.Id("e").Dot("String").Call(args...), nil
	case reflect.Bool:
		return jen.Id("e").Dot("Bool").Call(args...), nil
	case reflect.Int64:
		return jen.Id("e").Dot("Int").Call(args...), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		return typeCode(t).Call(jen.Id("e").Dot("Int").Call(args...)), nil
	case reflect.Float64:
		return jen.Id("e").Dot("Float").Call(args...), nil
	}
	return nil, &Error{Msg: fmt.Sprintf("%s (%s) comes from an environment variable, but a compiled binary cannot read a %s from the environment", joinPath(b.Path), b.Pos, t)}
}

func joinPath(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += "."
		}
		out += s
	}
	return out
}
