package golden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/emit"
	"github.com/rivven/rivven-connect/golden/goldentest"
)

// TestFuzzConditions keeps gen/fuzzconds (the generated code of
// goldentest.FuzzConfig's random conditions) current; package gen's fuzz
// test runs it against the interpreter.
func TestFuzzConditions(t *testing.T) {
	p, errs := compiler.Compile("fuzzconds.yaml", []byte(goldentest.FuzzConfig()), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	files, err := emit.Go(p, emit.Options{Package: "fuzzconds", Compiler: "golden"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("gen", "fuzzconds", "pipelines.go")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, files["pipelines.go"], 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if have, err := os.ReadFile(path); err != nil || string(have) != string(files["pipelines.go"]) {
		t.Errorf("%s is stale (run go test ./golden -update)", path)
	}
}
