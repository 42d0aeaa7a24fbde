package registry

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func logPath(dir string) string { return filepath.Join(dir, LogFile) }

func TestFileStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(Event{Kind: EventConfig, Compatibility: "FULL"}); err == nil {
		t.Fatal("Append before Load accepted")
	}
	if evs, err := s.Load(); err != nil || len(evs) != 0 {
		t.Fatalf("empty log: %v %v", evs, err)
	}
	want := []Event{
		{Kind: EventRegister, Subject: "s\nwith newline", Version: 1, ID: 1, SchemaType: TypeAvro, Schema: `"long"`, Canonical: `"long"`},
		{Kind: EventConfig, Subject: "s", Compatibility: "NONE"},
		{Kind: EventDeleteSubject, Subject: "s"},
	}
	for _, ev := range want {
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	data, _ := os.ReadFile(logPath(dir))
	if n := bytes.Count(data, []byte("\n")); n != len(want) {
		t.Fatalf("log has %d lines, want %d:\n%s", n, len(want), data)
	}
	s, _ = OpenFileStore(dir)
	defer s.Close()
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("loaded %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A crash in the middle of an Append leaves a last line without its
// newline: never acknowledged, so it is dropped and the file truncated.
func TestFileStoreTornTail(t *testing.T) {
	dir := t.TempDir()
	r := openDir(t, dir, Options{})
	mustRegister(t, r, "a", "", ordersV1)
	r.Close()
	intact, _ := os.ReadFile(logPath(dir))
	line, err := encodeLine(Event{Kind: EventRegister, Subject: "a", Version: 2, ID: 2, SchemaType: TypeAvro, Schema: ordersV2, Canonical: "x"})
	if err != nil {
		t.Fatal(err)
	}
	torn := line[:len(line)/2]
	if err := os.WriteFile(logPath(dir), append(append([]byte(nil), intact...), torn...), 0o644); err != nil {
		t.Fatal(err)
	}

	store, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err = Open(Options{Store: store})
	if err != nil {
		t.Fatalf("torn tail not tolerated: %v", err)
	}
	if store.TornBytes() != len(torn) {
		t.Fatalf("TornBytes = %d, want %d", store.TornBytes(), len(torn))
	}
	if v, _ := r.Versions("a"); len(v) != 1 {
		t.Fatalf("versions after torn tail = %v", v)
	}
	// The next registration starts on a clean line and survives a restart.
	if s := mustRegister(t, r, "a", "", ordersV2); s.ID != 2 || s.Version != 2 {
		t.Fatalf("after torn tail: %+v", s)
	}
	r.Close()
	r = openDir(t, dir, Options{})
	defer r.Close()
	if s, err := r.Version("a", 2); err != nil || s.Text != ordersV2 {
		t.Fatalf("after restart: %+v %v", s, err)
	}
}

// Damage to a complete line is never skipped, even on the last line.
func TestFileStoreCorruption(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"flipped byte in first line": func(b []byte) []byte {
			b[12] ^= 0x01
			return b
		},
		"bad checksum on last line": func(b []byte) []byte {
			i := bytes.LastIndexByte(b[:len(b)-1], '\n') + 1
			copy(b[i:], "00000000")
			return b
		},
		"zeroed last line": func(b []byte) []byte {
			i := bytes.LastIndexByte(b[:len(b)-1], '\n') + 1
			clear(b[i : len(b)-1])
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			r := openDir(t, dir, Options{})
			mustRegister(t, r, "a", "", ordersV1)
			mustRegister(t, r, "a", "", ordersV2)
			r.Close()
			data, _ := os.ReadFile(logPath(dir))
			if err := os.WriteFile(logPath(dir), damage(data), 0o644); err != nil {
				t.Fatal(err)
			}
			store, _ := OpenFileStore(dir)
			_, err := Open(Options{Store: store})
			var ce *CorruptLogError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), LogFile) {
				t.Fatalf("err = %v, want a CorruptLogError", err)
			}
		})
	}
}

// A log that parses but does not describe a valid history fails replay.
func TestReplayRejectsInconsistentLog(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenFileStore(dir)
	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Event{
		{Kind: EventRegister, Subject: "a", Version: 1, ID: 1, SchemaType: TypeAvro, Schema: `"long"`, Canonical: `"long"`},
		{Kind: EventRegister, Subject: "b", Version: 1, ID: 1, SchemaType: TypeAvro, Schema: `"int"`, Canonical: `"int"`},
	} {
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, _ = OpenFileStore(dir)
	if _, err := Open(Options{Store: s}); err == nil || !strings.Contains(err.Error(), "event 2") {
		t.Fatalf("err = %v, want a replay error at event 2", err)
	}
}

// The schemas describe the user's data: the store's directory is 0700 and
// its log 0600, also when an earlier version left them wider.
func TestFileStoreIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "schema-registry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath(dir), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{dir, logPath(dir)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: readable by others", p, fi.Mode().Perm())
		}
	}
}
