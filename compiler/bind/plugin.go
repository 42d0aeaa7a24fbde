package bind

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// WASM plugins: a source's or sink's connector, or a transform's type,
// that names an entry of the plugins section. check builds the
// wasm.Plugin (plain data, the config both back ends run) from the entry
// and the module's manifest; these bindings, which no name registers,
// instantiate it. Its ${VAR}s live under plugins.<name>.config, which
// EnvFrom names.

const wasmPkg = "github.com/rivven/rivven-connect/stdlib/wasm"

// PluginSource binds a plugin source.
var PluginSource = &Component{
	Kind: Source, Name: "plugin", Config: wasm.Plugin{},
	Schema: func(cfg any) (*runtime.Schema, error) {
		p := cfg.(wasm.Plugin)
		if len(p.Streams) != 1 {
			return nil, nil // records of several streams: by field name
		}
		return wasm.StreamSchema(p.Streams[0])
	},
	Streams: func(cfg any) Streams {
		var out Streams
		for _, s := range cfg.(wasm.Plugin).Streams {
			out.Names = append(out.Names, StreamName{Name: s.Name, Namespace: s.Namespace})
			out.Namespaced = out.Namespaced || s.Namespace != ""
		}
		return out
	},
	EnvFrom: pluginEnv,
	GoField: pluginField,
	Go:      &GoCtor{Pkg: wasmPkg, Func: "NewSource", Env: "Now"},
	NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
		return wasm.NewSource(cfg.(wasm.Plugin), env.Now)
	},
}

// PluginSink binds a plugin sink.
var PluginSink = &Component{
	Kind: Sink, Name: "plugin", Config: wasm.Plugin{},
	EnvFrom: pluginEnv,
	GoField: pluginField,
	Go:      &GoCtor{Pkg: wasmPkg, Func: "NewSink"},
	NewSink: func(cfg any, _ runtime.Env) (runtime.Sink, error) { return wasm.NewSink(cfg.(wasm.Plugin)) },
}

func pluginEnv(cfg any) [][]string {
	return [][]string{{"plugins", cfg.(wasm.Plugin).Name, "config"}}
}

// pluginField maps a key path below plugins.<name>.config to its place in
// wasm.Plugin.Config (a runtime.Value: object keys and array indexes,
// dotted).
func pluginField(_ any, key []string) (string, bool) {
	return "Config." + strings.Join(key, "."), true
}

// LookupFor returns the binding of a plan's component: the plugin
// bindings for a wasm.Plugin config, else the connector's registration.
func LookupFor(k Kind, connector string, cfg any) (*Component, bool) {
	if _, ok := cfg.(wasm.Plugin); ok {
		switch k {
		case Source:
			return PluginSource, true
		case Sink:
			return PluginSink, true
		}
	}
	return Lookup(k, connector)
}

// PluginTransform is the transform type of one plugin transform.
func PluginTransform(p wasm.Plugin) *TransformType {
	return &TransformType{
		Name: p.Name,
		Resolve: func(_ Resolver, in *runtime.Schema) (Stage, *runtime.Schema) {
			st := &PluginStage{Plugin: p}
			if p.KeepsSchema {
				return st, in
			}
			return st, nil // by field name after the plugin
		},
	}
}

// PluginStage calls a plugin transform once per batch: a BatchStage, so
// the stages before and after it stay fused.
type PluginStage struct {
	Plugin wasm.Plugin
}

var _ BatchStage = (*PluginStage)(nil)

// Type implements Stage.
func (*PluginStage) Type() string { return "plugin" }

// Fuse implements Stage: a plugin fuses with nothing (the batch is split
// there).
func (*PluginStage) Fuse(Stage, []Part, []Part) Stage { return nil }

// Dump implements Stage: the module (by file name and digest), its limits
// and sandbox, its schema promise and config (secrets hidden).
func (s *PluginStage) Dump(d Dumper) string {
	p := s.Plugin.Masked()
	keeps := "the schema after it is known only at run time"
	if p.KeepsSchema {
		keeps = "keeps the schema"
	}
	timeout := strconv.Itoa(p.TimeoutMs)
	if p.Unbounded {
		timeout = "none"
	}
	return fmt.Sprintf("wasm %s sha256:%s memory_mb=%d timeout_ms=%s fs=%s network=%s env=%s encoding=%s config %s; %s; batch: the stages before run over the batch, then one call",
		p.Module.Name, shortSum(p.SHA256), p.MemoryMB, timeout, d.Value(p.Mounts), d.Value(p.Network), d.Value(p.Env), p.Encoding, d.Value(p.Config), keeps)
}

func shortSum(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Interp implements Stage: the plugin on one record at a time.
func (s *PluginStage) Interp(parts []Part, _ Interp) (StageFunc, error) {
	return stepInterp(s, parts)
}

// InterpStep implements BatchStage.
func (s *PluginStage) InterpStep([]Part, func() time.Time) (runtime.BatchStep, error) {
	t, err := wasm.NewTransform(s.Plugin)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Emit implements Stage: the step on one record, as Interp.
func (s *PluginStage) Emit(i int, parts []Part, e Emitter) ([]jen.Code, error) {
	return stepEmit(s, i, parts, e)
}

// EmitStep implements BatchStage: wasm.NewTransform of the plugin as a
// literal whose ${VAR}s are read at start-up; a module that is missing or
// changed since compile fails the start-up (e.Step).
func (s *PluginStage) EmitStep(_ int, _ []Part, e Emitter) (jen.Code, error) {
	lit, err := e.LiteralFrom(s.Plugin, pluginEnv(s.Plugin)[0], "Config")
	if err != nil {
		return nil, err
	}
	return jen.Id("e").Dot("Step").Call(jen.Qual(wasmPkg, "NewTransform").Call(lit)), nil
}

// PluginManifestKinds names the role of each manifest kind, for messages.
var PluginManifestKinds = map[string]Kind{abi.KindSource: Source, abi.KindSink: Sink, abi.KindTransform: Transform}
