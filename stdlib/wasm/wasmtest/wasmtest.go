// Package wasmtest builds the modules the plugin tests run: WebAssembly
// text with wabt's wat2wasm, Go plugins with `go build` for wasip1. Tests
// that need a module fail (never skip) when the tool is missing; .ci/run
// installs wabt.
package wasmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
)

// Root is the module's root directory (where go.mod is).
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// outDir is one directory per test process for built modules.
func outDir(t testing.TB) string {
	if dir == "" {
		d, err := os.MkdirTemp("", "rivven-wasmtest-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	return dir
}

// WAT compiles a .wat file (relative to the module root) and returns the
// .wasm's path. Modules are built once per test process.
func WAT(t testing.TB, rel string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[rel]; ok {
		return p
	}
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm (Debian package wabt) is needed to build %s: %v", rel, err)
	}
	out := filepath.Join(outDir(t), strings.NewReplacer("/", "_", ".wat", ".wasm").Replace(rel))
	cmd := exec.Command(tool, filepath.Join(Root(t), rel), "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", rel, err, b)
	}
	built[rel] = out
	return out
}

// Go builds the Go plugin in package directory rel (relative to the
// module root) for GOOS=wasip1 GOARCH=wasm with -buildmode=c-shared and
// returns the .wasm's path. Plugins are built once per test process.
func Go(t testing.TB, rel string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[rel]; ok {
		return p
	}
	out := filepath.Join(outDir(t), strings.ReplaceAll(rel, "/", "_")+".wasm")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the Go toolchain (go on PATH) builds plugin %s: %v", rel, err)
	}
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./"+rel)
	cmd.Dir = Root(t)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building plugin %s: %v\n%s", rel, err, b)
	}
	built[rel] = out
	return out
}
