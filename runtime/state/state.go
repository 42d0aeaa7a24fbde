// Package state is the local state store of `settings.state_dir`: small
// named blobs (a pipeline's acknowledged position) written atomically and
// checked on read, so that a crash can never leave a value that silently
// restarts a pipeline from zero.
//
// A value is written to a temporary file in the same directory, fsynced,
// renamed over the old file, and the directory is fsynced, so the file
// always holds either the old or the new value. Each file carries a header
// with the payload's length and CRC-32C: a torn, truncated or otherwise
// corrupt file is reported as an *CorruptError, never read as "no state".
package state

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// magic starts every state file; the version is part of it.
const magic = "rivven-connect-state v1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store is a directory of state files. Its methods may be called from
// several goroutines for different keys; one key is written by one writer.
type Store struct {
	dir string
}

// Open returns the store in dir, creating the directory if needed.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("state: empty state_dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create state_dir: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// CorruptError reports a state file that exists but cannot be trusted.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is corrupt (%s); refusing to guess a position — restore it, or delete it to deliberately start from the beginning", e.Path, e.Reason)
}

// Path returns the file that holds key.
func (s *Store) Path(key string) string {
	return filepath.Join(s.dir, fileName(key)+".state")
}

// fileName maps a key to a safe file name: letters, digits, '-', '_' and
// '.' stay, anything else becomes %XX.
func fileName(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Get returns the value of key. ok is false when no state was ever saved
// for it; a file that exists but is torn or corrupt is a *CorruptError.
func (s *Store) Get(key string) (value []byte, ok bool, err error) {
	path := s.Path(key)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: read %s: %w", path, err)
	}
	v, reason := decode(data)
	if reason != "" {
		return nil, false, &CorruptError{Path: path, Reason: reason}
	}
	return v, true, nil
}

// Put atomically replaces the value of key.
func (s *Store) Put(key string, value []byte) error {
	path := s.Path(key)
	f, err := os.CreateTemp(s.dir, "."+fileName(key)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(encode(value)); err != nil {
		return fmt.Errorf("state: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("state: fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("state: rename to %s: %w", path, err)
	}
	ok = true
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("state: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("state: fsync dir %s: %w", dir, err)
	}
	return nil
}

// encode frames value: "<magic> <len> <crc32c hex>\n" + value.
func encode(value []byte) []byte {
	h := fmt.Sprintf("%s %d %08x\n", magic, len(value), crc32.Checksum(value, castagnoli))
	return append([]byte(h), value...)
}

// decode returns the payload of a framed file, or why it is not valid.
func decode(data []byte) ([]byte, string) {
	if len(data) == 0 {
		return nil, "empty file"
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || !bytes.HasPrefix(data, []byte(magic+" ")) {
		return nil, "bad header"
	}
	fields := strings.Fields(string(data[len(magic):nl]))
	if len(fields) != 2 {
		return nil, "bad header"
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 0 {
		return nil, "bad length"
	}
	sum, err := strconv.ParseUint(fields[1], 16, 32)
	if err != nil {
		return nil, "bad checksum field"
	}
	payload := data[nl+1:]
	if len(payload) != n {
		return nil, fmt.Sprintf("torn write: %d of %d bytes", len(payload), n)
	}
	if crc32.Checksum(payload, castagnoli) != uint32(sum) {
		return nil, "checksum mismatch"
	}
	return payload, ""
}
