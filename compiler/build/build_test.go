package build

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoBuildFailureNamesFileAndLine: a failing build of generated code is
// reported with the generated file and line, and the module is kept.
func TestGoBuildFailureNamesFileAndLine(t *testing.T) {
	goBin, err := Toolchain(exec.LookPath, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := "package main\n\nfunc main() {\n\tundefinedThing()\n}\n"
	if err := WriteModule(dir, map[string]map[string][]byte{".": {"pipelines.go": []byte(bad)}}); err != nil {
		t.Fatal(err)
	}
	err = Go(context.Background(), goBin, dir, ".", filepath.Join(dir, "bin"))
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("want a BuildError, got %v", err)
	}
	if !strings.Contains(be.Output, "pipelines.go:4") || !strings.Contains(err.Error(), dir) {
		t.Errorf("the error should name pipelines.go:4 and the kept directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pipelines.go")); err != nil {
		t.Error("the generated module was not kept")
	}
}

func TestToolchainVersionCheck(t *testing.T) {
	for _, c := range []struct {
		have, need string
		ok         bool
	}{{"1.26.8", "1.26.8", true}, {"1.27", "1.26.8", true}, {"1.26.7", "1.26.8", false}, {"1.25.9", "1.26", false}, {"devel", "1.26", false}} {
		if got := atLeast(c.have, c.need); got != c.ok {
			t.Errorf("atLeast(%q, %q) = %v, want %v", c.have, c.need, got, c.ok)
		}
	}
	if _, err := Toolchain(func(string) (string, error) { return "", exec.ErrNotFound }, func(string) string { return "" }); err == nil {
		t.Error("no go on PATH and no GOROOT should be an error")
	} else if _, ok := err.(*ToolchainError); !ok {
		t.Errorf("want a ToolchainError, got %T", err)
	}
}
