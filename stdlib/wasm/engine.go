package wasm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// engine is one wazero runtime: every module compiled under one memory
// limit and one compilation cache. Engines live as long as the process
// and are shared by every plugin with the same limit.
type engine struct {
	rt       wazero.Runtime
	limitMB  int
	mu       sync.Mutex
	compiled map[string]wazero.CompiledModule // by SHA-256
	// manifests are the manifests read, by SHA-256: a module is
	// instantiated for its manifest once per process.
	manifests map[string]abi.Manifest
}

type engineKey struct {
	memoryMB  int
	cacheDir  string
	unbounded bool
}

var (
	enginesMu sync.Mutex
	engines   = map[engineKey]*engine{}
)

// engineFor returns the engine of p's memory limit and cache directory.
func engineFor(p *Plugin) (*engine, error) {
	k := engineKey{p.memoryMB(), p.CacheDir, p.Unbounded}
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e := engines[k]; e != nil {
		return e, nil
	}
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(k.memoryMB) * 16). // 64 KiB pages
		WithCloseOnContextDone(!k.unbounded)           // a call past its deadline is stopped
	if k.cacheDir != "" {
		// wazero's cache key leaves out whether the code checks for
		// termination: code compiled for unbounded plugins must never be
		// loaded for bounded ones, so each kind has its own directory.
		sub := "bounded"
		if k.unbounded {
			sub = "unbounded"
		}
		dir := filepath.Join(k.cacheDir, "wasm-cache", sub)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("plugin %q: compilation cache: %w", p.Name, err)
		}
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: compilation cache %s: %w", p.Name, dir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("plugin %q: WASI: %w", p.Name, err)
	}
	if err := instantiateHost(ctx, rt); err != nil {
		return nil, fmt.Errorf("plugin %q: host module: %w", p.Name, err)
	}
	e := &engine{rt: rt, limitMB: k.memoryMB, compiled: map[string]wazero.CompiledModule{}, manifests: map[string]abi.Manifest{}}
	engines[k] = e
	return e, nil
}

// compile returns the compiled module of bin (digest sum), compiling it
// once per engine.
func (e *engine) compile(ctx context.Context, sum string, bin []byte) (wazero.CompiledModule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.compiled[sum]; m != nil {
		return m, nil
	}
	m, err := e.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, err
	}
	e.compiled[sum] = m
	return m, nil
}

func (e *engine) manifest(sum string) (abi.Manifest, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.manifests[sum]
	return m, ok
}

func (e *engine) keepManifest(sum string, m abi.Manifest) {
	e.mu.Lock()
	e.manifests[sum] = m
	e.mu.Unlock()
}
