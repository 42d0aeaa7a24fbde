package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/cmd/internal/cli"
)

// TestSpecConfigMatchesGolden: `spec --config` (and -c) prints exactly the
// whole-document schema pinned in compiler/check/testdata, which that
// package's tests validate configs against.
func TestSpecConfigMatchesGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "compiler", "check", "testdata", "config.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"spec", "--config"}, {"spec", "-c"}, {"-c", "other.yaml", "spec", "--config=true"}} {
		var stdout, stderr bytes.Buffer
		if code := cli.Main(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("%q: stderr: %s", args, stderr.String())
		}
		if !bytes.Equal(stdout.Bytes(), want) {
			t.Errorf("%q prints another schema than compiler/check/testdata/config.schema.json (run go test ./compiler/check -run ConfigJSONSchemaGolden -update)", args)
		}
	}
}
