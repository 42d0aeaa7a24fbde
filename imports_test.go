package rivvenconnect

import (
	"os/exec"
	"strings"
	"testing"
)

// Generated pipeline binaries link runtime/, stdlib/ and schemas/ only:
// none may depend on the compiler or on the code generator.
func TestRuntimeAndStdlibDoNotImportTheCompiler(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./runtime/...", "./stdlib/...", "./schemas/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list returned %d packages; want the dependency closure", len(deps))
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/rivven/rivven-connect/compiler") || strings.HasPrefix(d, "github.com/dave/jennifer") {
			t.Errorf("runtime/, stdlib/ or schemas/ depends on %s", d)
		}
	}
}
