package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPutGetRoundTrip(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "nested", "dir"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Get("p"); ok || err != nil {
		t.Fatalf("fresh store: ok=%v err=%v", ok, err)
	}
	for _, v := range []string{`{"offset":1}`, `{"offset":123456}`, ""} {
		if err := s.Put("p", []byte(v)); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Get("p")
		if err != nil || !ok || string(got) != v {
			t.Fatalf("Get = %q %v %v, want %q", got, ok, err, v)
		}
	}
	entries, _ := os.ReadDir(s.Dir())
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestKeysMapToSafeFileNames(t *testing.T) {
	s, _ := Open(t.TempDir())
	for _, key := range []string{"a/b", "..", "topic-to-console", "x y"} {
		p := s.Path(key)
		if filepath.Dir(p) != s.Dir() {
			t.Errorf("key %q escapes the directory: %s", key, p)
		}
	}
	if s.Path("a/b") == s.Path("a_b") {
		t.Error("distinct keys share a file")
	}
}

// TestCorruptFilesAreErrors: a torn or damaged file is never "no state".
func TestCorruptFilesAreErrors(t *testing.T) {
	s, _ := Open(t.TempDir())
	if err := s.Put("p", []byte(`{"offset":987654321}`)); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(s.Path("p"))
	cases := map[string][]byte{
		"torn":        good[:len(good)-5],
		"header-only": good[:strings.IndexByte(string(good), '\n')+1],
		"empty":       {},
		"flipped":     append(append([]byte(nil), good[:len(good)-2]...), 'X', good[len(good)-1]),
		"garbage":     []byte("offset=5\n"),
		"no-newline":  good[:10],
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(s.Path("p"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, ok, err := s.Get("p")
			var ce *CorruptError
			if ok || !errors.As(err, &ce) {
				t.Fatalf("ok=%v err=%v, want a CorruptError", ok, err)
			}
			if !strings.Contains(err.Error(), s.Path("p")) || !strings.Contains(err.Error(), "refusing") {
				t.Errorf("message %q must name the file and say what happens", err)
			}
		})
	}
}

// Positions describe the user's data: a state_dir the store creates is
// 0700 and every state file 0600.
func TestStateFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("p\x00source", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, s.Path("p\x00source")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: readable by others", p, fi.Mode().Perm())
		}
	}
}
