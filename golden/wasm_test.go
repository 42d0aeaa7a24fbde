package golden

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWasmModulesCurrent holds the plugin modules the golden cases load
// (testdata/wasm/*.wasm) equal to wat2wasm's build of their source in
// examples/wasm; -update rebuilds them.
func TestWasmModulesCurrent(t *testing.T) {
	mods, err := filepath.Glob(filepath.Join("testdata", "wasm", "*.wasm"))
	if err != nil || len(mods) == 0 {
		t.Fatalf("no modules in testdata/wasm (%v)", err)
	}
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm (Debian package wabt) builds the golden cases' plugins: %v", err)
	}
	for _, m := range mods {
		src := filepath.Join("..", "examples", "wasm", strings.TrimSuffix(filepath.Base(m), ".wasm")+".wat")
		out := filepath.Join(t.TempDir(), "m.wasm")
		if b, err := exec.Command(tool, src, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", src, err, b)
		}
		want, _ := os.ReadFile(out)
		have, _ := os.ReadFile(m)
		if bytes.Equal(want, have) {
			continue
		}
		if *update {
			if err := os.WriteFile(m, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is not the build of %s (run go test ./golden -update)", m, src)
	}
}
