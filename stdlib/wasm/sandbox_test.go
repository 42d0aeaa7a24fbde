package wasm_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/wasmtest"
)

func watPlugin(t *testing.T, name, rel string) wasm.Plugin {
	return wasm.Plugin{Name: name, Module: runtime.File{Path: wasmtest.WAT(t, rel), Name: rel}}
}

var seqSchema = runtime.NewSchema(
	runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
	runtime.Field{Name: "name", Type: runtime.Type{Kind: runtime.KindString}},
)

func records(n int) []*runtime.Record {
	out := make([]*runtime.Record, n)
	for i := range out {
		out[i] = &runtime.Record{Stream: "s", Schema: seqSchema, After: []runtime.Value{runtime.Int(int64(i)), runtime.String("name-" + strconv.Itoa(i))}}
	}
	return out
}

// batch runs recs through t and returns each record's verdict.
func batch(t *wasm.Transform, recs []*runtime.Record) (keeps []bool, errs []error) {
	t.Prepare(recs)
	for _, r := range recs {
		k, err := t.Apply(r)
		keeps, errs = append(keeps, k), append(errs, err)
	}
	return keeps, errs
}

// A call that never returns is stopped at timeout_ms; its batch fails
// with the plugin's name and the reason, and the next batch runs on a new
// instance.
func TestDeadlineStopsLoopAndNextBatchRuns(t *testing.T) {
	p := watPlugin(t, "spinbig", "stdlib/wasm/testdata/spinbig.wat")
	p.TimeoutMs = 100
	tr, err := wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	start := time.Now()
	keeps, errs := batch(tr, records(20)) // > 256 bytes: spins
	took := time.Since(start)
	for i, err := range errs {
		if err == nil || keeps[i] {
			t.Fatalf("record %d: keep=%v err=%v; want the batch failed", i, keeps[i], err)
		}
		if !strings.Contains(err.Error(), `plugin "spinbig"`) || !strings.Contains(err.Error(), "did not return within timeout_ms 100") {
			t.Fatalf("error %q does not name the plugin and the deadline", err)
		}
	}
	t.Logf("a spinning call was stopped after %v (timeout_ms 100)", took)
	keeps, errs = batch(tr, records(1))
	if errs[0] != nil || !keeps[0] {
		t.Fatalf("the batch after the stopped one: keep=%v err=%v", keeps[0], errs[0])
	}
	if tr.Failures() != 1 {
		t.Fatalf("%d instances dropped, want 1", tr.Failures())
	}
}

// A plugin that grows its memory without end hits memory_mb: the
// memory.grow past it fails, the plugin traps, the error says the memory
// is at its limit, and the host's memory grew by about the limit, not more.
func TestMemoryLimitStopsBomb(t *testing.T) {
	p := watPlugin(t, "bomb", "stdlib/wasm/testdata/touchbomb.wat")
	p.MemoryMB = 128
	p.TimeoutMs = 30000
	tr, err := wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	before := rss(t, "VmRSS:")
	// The peak is what matters: the instance's memory is returned to the
	// system as soon as it is dropped. Reset the peak (VmHWM) first.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS: %v", err)
	}
	_, errs := batch(tr, records(1))
	grew := rss(t, "VmHWM:") - before
	if after := rss(t, "VmRSS:") - before; after > 32<<20 {
		t.Errorf("RSS stayed %d MiB higher after the instance was dropped", after>>20)
	}
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "memory is at the limit of memory_mb 128") {
		t.Fatalf("error %v; want a trap at the memory limit", errs[0])
	}
	t.Logf("peak RSS grew by %d MiB for a plugin capped at 128 MiB", grew>>20)
	if grew < 100<<20 {
		t.Fatalf("peak RSS grew by %d MiB: the bomb did not fill its memory, the test measures nothing", grew>>20)
	}
	if grew > (128+48)<<20 {
		t.Fatalf("peak RSS grew by %d MiB; a plugin capped at 128 MiB may take at most the cap and a small constant", grew>>20)
	}
}

// rss is the process's resident set size (key VmRSS:) or its peak (key
// VmHWM:) in bytes (Linux).
func rss(t *testing.T, key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", key)
	return 0
}

// Code compiled for a trusted plugin (timeout_ms 0: no deadline checks)
// never serves a bounded one, even from the on-disk compilation cache,
// whose key (wazero's) does not tell them apart.
func TestUnboundedCodeNeverServesBoundedPlugin(t *testing.T) {
	dir := t.TempDir()
	p := watPlugin(t, "spinbig", "stdlib/wasm/testdata/spinbig.wat")
	p.CacheDir, p.Unbounded = dir, true
	tr, err := wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	if keeps, errs := batch(tr, records(1)); errs[0] != nil || !keeps[0] {
		t.Fatalf("keep=%v err=%v", keeps[0], errs[0])
	}
	tr.Close()
	p.Unbounded, p.TimeoutMs = false, 100
	tr, err = wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	done := make(chan error, 1)
	go func() {
		_, errs := batch(tr, records(20))
		done <- errs[0]
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "did not return within timeout_ms 100") {
			t.Fatalf("%v; want the deadline to stop the call", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a bounded plugin's loop was not stopped: it ran code compiled without deadline checks")
	}
}

// A module path naming a device or a directory is refused, never read.
func TestModuleMustBeARegularFile(t *testing.T) {
	for _, path := range []string{"/dev/zero", t.TempDir()} {
		_, err := wasm.NewTransform(wasm.Plugin{Name: "x", Module: runtime.File{Path: path, Name: path}})
		if err == nil || !strings.Contains(err.Error(), "is not a regular file") {
			t.Errorf("%s: %v", path, err)
		}
	}
}
