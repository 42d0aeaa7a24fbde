package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileReadReturnsTheWholeFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 4095, 4096, 1 << 20, 3<<20 + 7} {
		want := bytes.Repeat([]byte("rivven!"), n/7+1)[:n]
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := File{Path: path, Name: "f"}.Read()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: read %d bytes, %v", n, len(got), err)
		}
	}
	if _, err := (File{Path: dir, Name: "d"}).Read(); err == nil || !strings.Contains(err.Error(), "d is not a regular file") {
		t.Fatalf("a directory: %v", err)
	}
	if got, err := (File{Name: "e", Data: []byte("x")}).Read(); err != nil || string(got) != "x" {
		t.Fatalf("embedded: %q, %v", got, err)
	}
}
