package wasm_test

import (
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/wasmtest"
)

// A Go plugin whose compiled code is in the state directory's cache
// starts (compile from the cache, instantiate, init, first batch) fast;
// the test logs how long, against a cold start.
func TestWarmStartFromCache(t *testing.T) {
	dir := t.TempDir()
	path := wasmtest.Go(t, "examples/wasm/mask")
	cfg := runtime.ObjectValue(runtime.NewObject(1).Set("fields", runtime.ArrayValue([]runtime.Value{runtime.String("name")})))
	start := func(mb int) time.Duration {
		// Another memory limit is another wazero runtime: nothing compiled
		// in memory, only what the cache directory holds.
		p := wasm.Plugin{Name: "mask", Module: runtime.File{Path: path, Name: "mask.wasm"}, Config: cfg, CacheDir: dir, MemoryMB: mb, TimeoutMs: 20000}
		t0 := time.Now()
		tr, err := wasm.NewTransform(p)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if keeps, errs := batch(tr, records(1)); errs[0] != nil || !keeps[0] {
			t.Fatalf("keep=%v err=%v", keeps[0], errs[0])
		}
		return time.Since(t0)
	}
	cold := start(65)
	warm := start(66)
	t.Logf("start to first batch: cold %v, warm (compiled code from state_dir) %v", cold, warm)
	if warm >= cold {
		t.Fatalf("a warm start (%v) was not faster than a cold one (%v): the cache was not used", warm, cold)
	}
}
