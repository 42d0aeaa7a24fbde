package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// lagPoll is how often the server's binlog end is read for SourceLag.
const lagPoll = 2 * time.Second

// binlogFile is one of the server's binlog files and its size in bytes
// (for the last one, the current end of the binlog).
type binlogFile struct {
	name string
	size uint64
}

// lagState is what SourceLag computes from.
type lagState struct {
	mu sync.Mutex
	// from is the acknowledged position: the token of the last
	// acknowledged record, or before any, where this run started.
	from    token
	hasFrom bool
	ackOff  uint64 // the offset of the last acknowledged record
	// streamed is the end of the last transaction the stream read, and
	// streamedOff the last offset handed out by then: once that offset
	// is acknowledged the source is as far as streamed (transactions
	// without captured rows carry no record to acknowledge).
	streamed    token
	streamedOff uint64
	hasStreamed bool
	// files are the server's binlog files, oldest first, as last read;
	// nil while unknown (not read yet, or the last read failed).
	files []binlogFile
}

// setLagFrom sets the position lag counts from before anything is
// acknowledged.
func (s *Source) setLagFrom(t token) {
	s.lag.mu.Lock()
	defer s.lag.mu.Unlock()
	s.lag.from, s.lag.hasFrom = t, true
}

// acked records an acknowledged position for SourceLag.
func (s *Source) acked(pos runtime.Position) {
	t, err := parseToken(pos.Token)
	s.lag.mu.Lock()
	defer s.lag.mu.Unlock()
	if pos.Offset > s.lag.ackOff {
		s.lag.ackOff = pos.Offset
	}
	if err == nil && t.file != "" {
		// A snapshot record's token has no position (token.go): the
		// snapshot's start (setLagFrom) stays.
		s.lag.from, s.lag.hasFrom = t.at(), true
	}
}

// streamed records that the stream has read every transaction up to t
// and handed out their records (called by the stream goroutine after a
// commit, and between transactions after events that belong to none).
func (s *Source) streamed(t token) {
	off := s.seq.Load()
	s.lag.mu.Lock()
	defer s.lag.mu.Unlock()
	s.lag.streamed, s.lag.streamedOff, s.lag.hasStreamed = t, off, true
}

// SourceLag implements runtime.Lagger: the bytes of binlog between the
// acknowledged position and the server's binlog end (read every lagPoll),
// across files. When every record handed out is acknowledged, the
// position is where the stream has read to (so transactions of other
// tables do not count as lag). ok is false until the server's end is
// known, while it cannot be read, and when the acknowledged position's
// file is no longer among the server's binlogs.
func (s *Source) SourceLag() (uint64, string, bool) {
	s.lag.mu.Lock()
	defer s.lag.mu.Unlock()
	if s.lag.files == nil || !s.lag.hasFrom {
		return 0, "", false
	}
	at := s.lag.from
	if s.lag.hasStreamed && s.lag.ackOff >= s.lag.streamedOff {
		at = s.lag.streamed
	}
	return lagBytes(s.lag.files, at)
}

// lagBytes counts the bytes of files from at to their end.
func lagBytes(files []binlogFile, at token) (uint64, string, bool) {
	for i, f := range files {
		if f.name != at.file {
			continue
		}
		var lag uint64
		if f.size > uint64(at.pos) {
			lag = f.size - uint64(at.pos)
		}
		for _, g := range files[i+1:] {
			lag += g.size
		}
		return lag, "bytes", true
	}
	return 0, "", false
}

// startLag starts the goroutine that reads the server's binlog end every
// lagPoll; Close stops it.
func (s *Source) startLag() {
	ctx, cancel := context.WithCancel(context.Background())
	s.lagStop, s.lagDone = cancel, make(chan struct{})
	go func() {
		defer close(s.lagDone)
		for {
			s.pollLag(ctx)
			if !pause(ctx, lagPoll) {
				return
			}
		}
	}()
}

// pollLag reads the server's binlog end (SHOW MASTER STATUS), and the
// sizes of its binlog files (SHOW BINARY LOGS) when the end moved to
// another file or the acknowledged position is in a file not read yet.
func (s *Source) pollLag(ctx context.Context) {
	end, err := binlogEnd(ctx, s.db)
	s.lag.mu.Lock()
	files, from := s.lag.files, s.lag.from
	s.lag.mu.Unlock()
	if err == nil {
		known := false
		for _, f := range files {
			known = known || f.name == from.file
		}
		if n := len(files); n > 0 && known && files[n-1].name == end.file {
			files = append([]binlogFile(nil), files...)
			files[n-1].size = uint64(end.pos)
		} else {
			files, err = binaryLogs(ctx, s.db)
		}
	}
	if err != nil {
		files = nil
		if ctx.Err() == nil {
			s.logger().Debug("reading the binlog end for the source lag failed", "server", s.addr(), "error", s.redact(err).Error())
		}
	}
	s.lag.mu.Lock()
	s.lag.files = files
	s.lag.mu.Unlock()
}

// binaryLogs lists the server's binlog files and their sizes, oldest
// first (SHOW BINARY LOGS).
func binaryLogs(ctx context.Context, db *sql.DB) ([]binlogFile, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("mysql-cdc: SHOW BINARY LOGS: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if len(cols) < 2 {
		return nil, fmt.Errorf("mysql-cdc: SHOW BINARY LOGS returned %d columns", len(cols))
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []binlogFile
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("mysql-cdc: SHOW BINARY LOGS: %w", err)
		}
		var size uint64
		if _, err := fmt.Sscan(string(vals[1]), &size); err != nil {
			return nil, fmt.Errorf("mysql-cdc: SHOW BINARY LOGS: file size %q", vals[1])
		}
		out = append(out, binlogFile{name: string(vals[0]), size: size})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysql-cdc: SHOW BINARY LOGS: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mysql-cdc: SHOW BINARY LOGS listed no file: the binary log is off (log_bin)")
	}
	return out, nil
}
