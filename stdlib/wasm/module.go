package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Module is a plugin's compiled module with its manifest. It is safe for
// concurrent use; each component instantiates it for itself.
type Module struct {
	plugin   Plugin
	engine   *engine
	compiled wazero.CompiledModule
	// SHA256 is the hex digest of the module's bytes.
	SHA256 string
	// Manifest is what the plugin says of itself.
	Manifest abi.Manifest
	// CompileTime is how long compiling took (zero when a cache or an
	// earlier Load of the same bytes answered).
	CompileTime time.Duration
}

// exportsOf lists the functions each kind must export.
var exportsOf = map[string][]string{
	abi.KindTransform: {abi.ExportTransform},
	abi.KindSource:    {abi.ExportPoll, abi.ExportAck},
	abi.KindSink:      {abi.ExportWrite},
}

// Load reads, checks and compiles p's module and reads its manifest: the
// module must export memory, rivven_alloc, rivven_get_manifest and
// rivven_init, and the functions of the kind its manifest names, with
// the ABI's signatures; the manifest must name this ABI version, a kind,
// a name, an encoding this host reads and (when given) a valid JSON
// Schema. Every error names the plugin and what is wrong.
func Load(ctx context.Context, p Plugin) (*Module, error) {
	bin, sum, err := p.readModule()
	if err != nil {
		return nil, err
	}
	e, err := engineFor(&p)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cm, err := e.compile(ctx, sum, bin)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %s is not a WebAssembly module this host can run: %v", p.Name, p.Module.Name, err)
	}
	m := &Module{plugin: p, engine: e, compiled: cm, SHA256: sum, CompileTime: time.Since(start)}
	if err := m.checkExports(nil); err != nil {
		return nil, err
	}
	if mf, ok := e.manifest(sum); ok {
		m.Manifest = mf // checked when first read
		return m, nil
	}
	if err := m.readManifest(ctx); err != nil {
		return nil, err
	}
	if err := m.checkManifest(); err != nil {
		return nil, err
	}
	if err := m.checkExports(exportsOf[m.Manifest.Kind]); err != nil {
		return nil, err
	}
	e.keepManifest(sum, m.Manifest)
	return m, nil
}

// readManifest instantiates the module and calls rivven_get_manifest.
func (m *Module) readManifest(ctx context.Context) error {
	p := &m.plugin
	in, err := m.instantiate(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer in.close()
	f, err := in.call(ctx, abi.ExportManifest, nil)
	if err != nil {
		return err
	}
	if f.Status != abi.StatusOK {
		return fmt.Errorf("plugin %q: rivven_get_manifest failed (%s): %s", p.Name, f.Status, in.redact(f.Error))
	}
	if err := json.Unmarshal(f.Payload, &m.Manifest); err != nil {
		return fmt.Errorf("plugin %q: its manifest is not valid JSON: %v", p.Name, err)
	}
	return nil
}

// checkManifest checks the manifest's fields.
func (m *Module) checkManifest() error {
	mf, name := &m.Manifest, m.plugin.Name
	switch {
	case mf.ABI != abi.Version:
		return fmt.Errorf("plugin %q: its manifest says ABI version %d; this host implements ABI version %d", name, mf.ABI, abi.Version)
	case exportsOf[mf.Kind] == nil:
		return fmt.Errorf("plugin %q: its manifest's kind %q is not transform, source or sink", name, mf.Kind)
	case mf.Name == "":
		return fmt.Errorf("plugin %q: its manifest has no name", name)
	case mf.Encoding != "" && mf.Encoding != abi.EncodingBinary && mf.Encoding != abi.EncodingJSON:
		return fmt.Errorf("plugin %q: its manifest's encoding %q is not binary or json", name, mf.Encoding)
	case mf.Kind == abi.KindSource && len(mf.Streams) == 0:
		return fmt.Errorf("plugin %q: a source's manifest declares its streams; this one declares none", name)
	}
	if len(mf.ConfigSchema) > 0 {
		var v any
		if err := json.Unmarshal(mf.ConfigSchema, &v); err != nil {
			return fmt.Errorf("plugin %q: its manifest's config_schema is not valid JSON: %v", name, err)
		}
	}
	for _, s := range mf.Streams {
		if _, err := StreamSchema(s); err != nil {
			return fmt.Errorf("plugin %q: manifest stream %q: %v", name, s.Name, err)
		}
	}
	return nil
}

// checkExports checks the ABI's common exports, and those of kind.
func (m *Module) checkExports(kind []string) error {
	want := map[string][2]int{ // params, results (i32 params, one i64 or i32 result)
		abi.ExportAlloc:     {1, 1},
		abi.ExportManifest:  {0, 1},
		abi.ExportInit:      {2, 1},
		abi.ExportTransform: {2, 1},
		abi.ExportPoll:      {2, 1},
		abi.ExportWrite:     {2, 1},
		abi.ExportAck:       {2, 1},
		abi.ExportShutdown:  {0, 1},
	}
	names := []string{abi.ExportAlloc, abi.ExportManifest, abi.ExportInit}
	if kind != nil {
		names = kind
	}
	fns := m.compiled.ExportedFunctions()
	var missing []string
	for _, n := range names {
		def, ok := fns[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		w := want[n]
		if len(def.ParamTypes()) != w[0] || len(def.ResultTypes()) != w[1] {
			return fmt.Errorf("plugin %q: export %s has signature %s; ABI v1 wants %s", m.plugin.Name, n, signature(def), wantSig(n, w))
		}
	}
	if len(missing) > 0 {
		what := "every plugin"
		if kind != nil {
			what = "a " + m.Manifest.Kind
		}
		return fmt.Errorf("plugin %q: %s does not export %s, which %s exports (ABI v1)", m.plugin.Name, m.plugin.Module.Name, strings.Join(missing, ", "), what)
	}
	if _, ok := m.compiled.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("plugin %q: %s does not export its memory as \"memory\"", m.plugin.Name, m.plugin.Module.Name)
	}
	return nil
}

func signature(def api.FunctionDefinition) string {
	var ps, rs []string
	for _, t := range def.ParamTypes() {
		ps = append(ps, api.ValueTypeName(t))
	}
	for _, t := range def.ResultTypes() {
		rs = append(rs, api.ValueTypeName(t))
	}
	return "(" + strings.Join(ps, ", ") + ") -> (" + strings.Join(rs, ", ") + ")"
}

func wantSig(name string, w [2]int) string {
	ps := strings.TrimSuffix(strings.Repeat("i32, ", w[0]), ", ")
	if name == abi.ExportAlloc {
		return "(i32) -> (i32)"
	}
	return "(" + ps + ") -> (i64)"
}
