package wasm_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/wasmtest"
)

// probe returns the probe plugin (testdata/probe) with config cfg.
func probe(t *testing.T, cfg map[string]any) wasm.Plugin {
	o := runtime.NewObject(len(cfg))
	for k, v := range cfg {
		switch x := v.(type) {
		case string:
			o.Set(k, runtime.String(x))
		case int:
			o.Set(k, runtime.Int(int64(x)))
		}
	}
	return wasm.Plugin{Name: "probe", Module: runtime.File{Path: wasmtest.Go(t, "stdlib/wasm/testdata/probe"), Name: "probe.wasm"},
		Config: runtime.ObjectValue(o), TimeoutMs: 20000, CacheDir: cacheDir(t)}
}

// cacheDir is one compilation cache for the package's tests: Go plugins
// compile once per process, not once per test.
func cacheDir(t *testing.T) string {
	d := filepath.Join(os.TempDir(), "rivven-wasm-test-cache")
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// result runs one record through p and returns its result field.
func result(t *testing.T, p wasm.Plugin) string {
	t.Helper()
	tr, err := wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	return runOne(t, tr)
}

func runOne(t *testing.T, tr *wasm.Transform) string {
	t.Helper()
	recs := records(1)
	keeps, errs := batch(tr, recs)
	if errs[0] != nil || !keeps[0] {
		t.Fatalf("keep=%v err=%v", keeps[0], errs[0])
	}
	r := recs[0]
	i := r.Schema.Index("result")
	if i < 0 {
		t.Fatalf("no result field in %v", r.Schema.Names())
	}
	return r.After[i].AsString()
}

// The plugin sees no file but those of its mounts: /etc/passwd is not
// there, a read-only mount reads and refuses writes, a writable one
// takes them.
func TestFilesystemOnlyThroughMounts(t *testing.T) {
	if got := result(t, probe(t, map[string]any{"action": "readfile", "path": "/etc/passwd"})); !strings.HasPrefix(got, "err:") {
		t.Fatalf("reading /etc/passwd from the plugin: %q; want an error", got)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := probe(t, map[string]any{"action": "readfile", "path": "/data/x.txt"})
	ro.Mounts = []wasm.Mount{{Host: dir, Guest: "/data", ReadOnly: true}}
	if got := result(t, ro); got != "ok:hello" {
		t.Fatalf("reading through a read-only mount: %q", got)
	}
	ro.Config = probe(t, map[string]any{"action": "writefile", "path": "/data/y.txt"}).Config
	if got := result(t, ro); !strings.HasPrefix(got, "err:") {
		t.Fatalf("writing through a read-only mount: %q; want an error", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "y.txt")); err == nil {
		t.Fatal("a write through a read-only mount reached the host")
	}
	ro.Config = probe(t, map[string]any{"action": "readfile", "path": "/data/../../etc/passwd"}).Config
	if got := result(t, ro); !strings.HasPrefix(got, "err:") {
		t.Fatalf("escaping the mount with ..: %q; want an error", got)
	}
	rw := probe(t, map[string]any{"action": "writefile", "path": "/data/y.txt"})
	rw.Mounts = []wasm.Mount{{Host: dir, Guest: "/data"}}
	if got := result(t, rw); !strings.HasPrefix(got, "ok:") {
		t.Fatalf("writing through a writable mount: %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "y.txt")); err != nil || string(b) != "x" {
		t.Fatalf("the write reached the host as %q, %v", b, err)
	}
}

// http_request reaches only the hosts of allow_network.
func TestNetworkOnlyToAllowedHosts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "pong") }))
	defer srv.Close()
	p := probe(t, map[string]any{"action": "http", "url": srv.URL + "/ping"})
	got := result(t, p)
	if !strings.HasPrefix(got, "err:") || !strings.Contains(got, "denied") || !strings.Contains(got, "no allow_network") {
		t.Fatalf("a request with no allow_network: %q; want it denied", got)
	}
	p.Network = []string{"127.0.0.1:1"}
	if got := result(t, p); !strings.Contains(got, "not in plugin \"probe\"'s allow_network") {
		t.Fatalf("a request to a host not listed: %q", got)
	}
	p.Network = []string{strings.TrimPrefix(srv.URL, "http://")}
	if got := result(t, p); got != "ok:200:pong" {
		t.Fatalf("a request to an allowed host: %q", got)
	}
}

// A panic reaches the error as its message, the batch fails, and the
// next batch runs on a new instance.
func TestPanicIsReadableAndNextBatchRuns(t *testing.T) {
	tr, err := wasm.NewTransform(probe(t, map[string]any{"action": "panic"}))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, errs := batch(tr, records(3))
	for _, err := range errs {
		if err == nil || !strings.Contains(err.Error(), `plugin "probe" panicked in rivven_transform: probe: boom`) {
			t.Fatalf("error %v; want the panic's message", err)
		}
		if strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("error %v shows a bare trap", err)
		}
	}
	if tr.Failures() != 1 {
		t.Fatalf("%d instances dropped, want 1", tr.Failures())
	}
}

// state_set keeps values under the state directory, across instances
// and processes; env passes only the listed variables.
func TestStateAndEnv(t *testing.T) {
	p := probe(t, map[string]any{"action": "state"})
	if got := result(t, p); !strings.HasPrefix(got, "err:") || !strings.Contains(got, "settings.state_dir") {
		t.Fatalf("state without a state directory: %q", got)
	}
	p.StateDir = t.TempDir()
	for want := 1; want <= 2; want++ {
		if got := result(t, p); got != fmt.Sprintf("ok:%d", want) {
			t.Fatalf("state run %d: %q", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(p.StateDir, "plugins", "probe.state.json")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROBE_VISIBLE", "seen")
	t.Setenv("PROBE_HIDDEN", "secret-value")
	e := probe(t, map[string]any{"action": "env", "name": "PROBE_HIDDEN"})
	if got := result(t, e); got != "ok:" {
		t.Fatalf("an unlisted variable reached the plugin: %q", got)
	}
	e = probe(t, map[string]any{"action": "env", "name": "PROBE_VISIBLE"})
	e.Env = []string{"PROBE_VISIBLE"}
	if got := result(t, e); got != "ok:seen" {
		t.Fatalf("a listed variable: %q", got)
	}
}

// The plugin's secrets (config values under secret keys, listed
// variables) never reach its log lines or errors.
func TestSecretsRedacted(t *testing.T) {
	t.Setenv("PROBE_TOKEN", "hunter2-very-secret")
	p := probe(t, map[string]any{"action": "readfile", "path": "/hunter2-very-secret"})
	p.SecretKeys = []string{"path"}
	p.Env = []string{"PROBE_TOKEN"}
	var logs strings.Builder
	tr, err := wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.UseLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	got := runOne(t, tr)
	if !strings.HasPrefix(got, "err:") {
		t.Fatalf("%q", got)
	}
	p.Config = probe(t, map[string]any{"action": "panic"}).Config
	tr2, err := wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	tr2.UseLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	_, errs := batch(tr2, records(1))
	if errs[0] == nil || strings.Contains(errs[0].Error(), "hunter2") || strings.Contains(logs.String(), "hunter2") {
		t.Fatalf("a secret leaked: err %v, logs %s", errs[0], logs.String())
	}
}
