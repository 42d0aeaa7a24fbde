package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// LogFile is the name of the FileStore's log inside its directory.
const LogFile = "schemas.log"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileStore is a Store kept as one append-only file, LogFile, in a
// directory. Each event is one line: the CRC-32C of the JSON encoding (8
// lowercase hex digits), a space, the JSON encoding of the Event, '\n'.
// Append writes the line and fsyncs the file before returning.
//
// Torn tail: Append reports success only after the whole line, newline
// included, is on disk, so a last line without its newline was never
// acknowledged. Load drops such a tail, truncates the file to the last
// complete line (so later appends start on a clean line) and reports the
// number of bytes dropped through TornBytes. Every other damage — a
// complete line whose checksum or JSON is wrong, wherever it is — is a
// *CorruptLogError: the store never guesses.
//
// One process may use a directory at a time; the methods are safe for
// concurrent use.
type FileStore struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	size   int64
	torn   int
	loaded bool
	broken error
}

// CorruptLogError reports a complete log line that cannot be trusted.
type CorruptLogError struct {
	// Path is the log file.
	Path string
	// Line is the 1-based line number.
	Line int
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *CorruptLogError) Error() string {
	return fmt.Sprintf("schema registry log %s:%d is corrupt (%s); restore the file from a backup, the registry will not guess schema ids", e.Path, e.Line, e.Reason)
}

// OpenFileStore opens, or creates, the store in dir (created if missing).
// The caller owns the store and closes it, usually through Registry.Close.
func OpenFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("schema registry: empty store directory")
	}
	// The schemas describe the user's data: the directory and the log are
	// private (0700, 0600), also when an earlier version made them wider.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	path := filepath.Join(dir, LogFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &FileStore{path: path, f: f}, nil
}

// Path returns the log file's path.
func (s *FileStore) Path() string { return s.path }

// TornBytes returns how many bytes of an unacknowledged last line the last
// Load dropped; zero when the log ended cleanly.
func (s *FileStore) TornBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.torn
}

// Load reads the log, dropping and truncating a torn tail (see FileStore).
func (s *FileStore) Load() ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	var events []Event
	off := 0
	for line := 1; off < len(data); line++ {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			break
		}
		ev, reason := decodeLine(data[off : off+nl])
		if reason != "" {
			return nil, &CorruptLogError{Path: s.path, Line: line, Reason: reason}
		}
		events = append(events, ev)
		off += nl + 1
	}
	s.torn = len(data) - off
	s.size = int64(off)
	s.loaded = true
	if s.torn > 0 {
		if err := s.f.Truncate(s.size); err != nil {
			return nil, fmt.Errorf("schema registry: drop torn log tail: %w", err)
		}
		if err := s.f.Sync(); err != nil {
			return nil, fmt.Errorf("schema registry: fsync %s: %w", s.path, err)
		}
	}
	return events, nil
}

func encodeLine(ev Event) ([]byte, error) {
	js, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	line := fmt.Appendf(nil, "%08x ", crc32.Checksum(js, castagnoli))
	line = append(line, js...)
	return append(line, '\n'), nil
}

func decodeLine(line []byte) (Event, string) {
	var ev Event
	if len(line) < 10 || line[8] != ' ' {
		return ev, "bad line framing"
	}
	sum, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return ev, "bad checksum field"
	}
	js := line[9:]
	if crc32.Checksum(js, castagnoli) != uint32(sum) {
		return ev, "checksum mismatch"
	}
	if err := json.Unmarshal(js, &ev); err != nil {
		return ev, "bad event: " + err.Error()
	}
	return ev, ""
}

// Append writes ev as one line and fsyncs the file. If the write fails the
// file is truncated back to its previous size; if even that fails, the
// store refuses every later Append, since the log may end in a partial
// line that a later line would glue onto.
func (s *FileStore) Append(ev Event) error {
	line, err := encodeLine(ev)
	if err != nil {
		return fmt.Errorf("schema registry: encode event: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return s.broken
	}
	if !s.loaded {
		return errors.New("schema registry: FileStore.Append before Load")
	}
	if _, err := s.f.Write(line); err != nil {
		s.rollback()
		return fmt.Errorf("schema registry: write %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		s.rollback()
		return fmt.Errorf("schema registry: fsync %s: %w", s.path, err)
	}
	s.size += int64(len(line))
	return nil
}

func (s *FileStore) rollback() {
	if err := s.f.Truncate(s.size); err != nil {
		s.broken = fmt.Errorf("schema registry: log %s is unusable after a failed write: %w", s.path, err)
		return
	}
	if err := s.f.Sync(); err != nil {
		s.broken = fmt.Errorf("schema registry: log %s is unusable after a failed write: %w", s.path, err)
	}
}

// Close closes the log file.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("schema registry: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("schema registry: fsync %s: %w", dir, err)
	}
	return nil
}

var _ Store = (*FileStore)(nil)
var _ Store = (*memoryStore)(nil)
