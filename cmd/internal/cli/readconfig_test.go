package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/cmd/internal/cli"
	"github.com/rivven/rivven-connect/compiler/config"
)

// A config over the size limit is refused at 1:1 with its size, from a
// file or from standard input, without being read whole.
func TestOversizedConfigRefused(t *testing.T) {
	big := bytes.Repeat([]byte("# padding line of a config file that is far too large\n"), config.MaxFileSize/50)
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin []byte
		want  string
	}{
		{"file", []string{"check", "-c", path}, nil, path + ":1:1: yaml-syntax: .: the file is " + strconv.Itoa(len(big)) + " bytes; a config file is at most 10485760 bytes (10 MiB)\n1 error"},
		{"stdin", []string{"check", "-c", "-"}, big, "-:1:1: yaml-syntax: .: the file is more than 10 MiB; a config file is at most 10485760 bytes (10 MiB)\n1 error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli.Main(tc.args, bytes.NewReader(tc.stdin), &stdout, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if got := strings.TrimSpace(stderr.String()); got != tc.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
