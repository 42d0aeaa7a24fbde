package cdc

import (
	"context"
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Re-snapshots: a table added to `tables` after the source streamed
// without it has rows the stream never showed. The source reads them
// while it streams, in the manner of Netflix's DBLog but without writing
// watermarks: each chunk of the table (snapshotChunk rows after the last
// one's primary key) is read in a consistent-snapshot transaction of its
// own, whose binlog position P MariaDB gives exactly
// (binlog_snapshot_file/position); the stream goroutine delivers the
// chunk's rows as snapshot records when it has read the binlog up to P,
// between two transactions. Every change before P is then delivered
// before the chunk and every change after P after it, so a row's snapshot
// record is never older than a change delivered before it, and no change
// after it is lost. Changes of the table are streamed from the start of
// its re-snapshot, including changes of rows whose chunk comes later
// (their snapshot record follows, at least as new).
//
// What the source has captured in full is its selection (state blob,
// runtime.Stateful): the tables delivered in full, and the re-snapshot in
// progress with the primary key of the last row delivered. It is written
// only once the position of the records it counts is saved (Saved), so
// after a crash a re-snapshot goes on from a chunk whose records were
// all saved: at-least-once, the rows of later chunks delivered again.

// selection is the state blob's value.
type selection struct {
	// Tables are the configured tables whose rows the source has
	// delivered in full up to a saved position (snapshotted,
	// re-snapshotted, or under snapshot_mode never streamed since they
	// were added), as SQL writes them.
	Tables []string `json:"tables"`
	// Resnap is the re-snapshot in progress; nil when none is.
	Resnap *resnapProgress `json:"resnap,omitempty"`
}

// resnapProgress is how far a table's re-snapshot got.
type resnapProgress struct {
	Table string `json:"table"`
	// After is the primary key of the last row delivered (keyText); empty
	// before the first chunk.
	After []string `json:"after,omitempty"`
	// Rows counts the rows delivered so far: the next one's ordinal is
	// Rows+1.
	Rows uint64 `json:"rows,omitempty"`
}

// selState holds the state blob and the selections waiting for their
// records' positions to be saved.
type selState struct {
	mu      sync.Mutex
	blob    runtime.StateBlob
	saved   uint64 // the offset of the last saved position of this run
	pending []milestone
	last    string // the value last written
}

// milestone is a selection that holds once the record at off (and every
// one before it) is saved.
type milestone struct {
	off uint64
	sel selection
}

// UseState implements runtime.Stateful: b keeps the selection; nil (no
// state_dir) means nothing is known of earlier runs.
func (s *Source) UseState(b runtime.StateBlob) { s.sel.blob = b }

// Saved implements runtime.Saver: the selections of the records up to
// pos are written.
func (s *Source) Saved(pos runtime.Position) error {
	s.sel.mu.Lock()
	defer s.sel.mu.Unlock()
	s.sel.saved = max(s.sel.saved, pos.Offset)
	var due *selection
	for len(s.sel.pending) > 0 && s.sel.pending[0].off <= s.sel.saved {
		due = &s.sel.pending[0].sel
		s.sel.pending = s.sel.pending[1:]
	}
	if due == nil {
		return nil
	}
	return s.putSelectionLocked(*due)
}

// milestone records that sel holds once the record at off is saved (at
// once when it is: off 0 means no record needs to be).
func (s *Source) milestone(off uint64, sel selection) error {
	s.sel.mu.Lock()
	defer s.sel.mu.Unlock()
	if s.sel.blob == nil {
		return nil
	}
	if off <= s.sel.saved && len(s.sel.pending) == 0 {
		return s.putSelectionLocked(sel)
	}
	s.sel.pending = append(s.sel.pending, milestone{off: off, sel: sel})
	return nil
}

// putSelection writes sel now (Open: before any record is delivered).
func (s *Source) putSelection(sel selection) error {
	s.sel.mu.Lock()
	defer s.sel.mu.Unlock()
	if s.sel.blob == nil {
		return nil
	}
	return s.putSelectionLocked(sel)
}

func (s *Source) putSelectionLocked(sel selection) error {
	v, err := json.Marshal(sel)
	if err != nil {
		return fmt.Errorf("mysql-cdc: state: %w", err)
	}
	if string(v) == s.sel.last {
		return nil
	}
	if err := s.sel.blob.Put(v); err != nil {
		return fmt.Errorf("mysql-cdc: saving the captured tables in %s: %w", s.sel.blob.Where(), err)
	}
	s.sel.last = string(v)
	return nil
}

// loadSelection returns the selection kept by the last run; ok is false
// when there is none (no state_dir, or a state of an earlier version).
func (s *Source) loadSelection() (selection, bool, error) {
	var sel selection
	if s.sel.blob == nil {
		return sel, false, nil
	}
	v, ok, err := s.sel.blob.Get()
	if err != nil || !ok {
		return sel, false, err
	}
	if err := json.Unmarshal(v, &sel); err != nil {
		return sel, false, fmt.Errorf("mysql-cdc: state file %s does not hold the tables mysql-cdc captured (%v): delete it, and the position beside it, to start over with a snapshot", s.sel.blob.Where(), err)
	}
	s.sel.last = string(v)
	return sel, true, nil
}

// names returns the tables as SQL writes them.
func names(ts []table) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

// planResnap compares the configured tables with the selection of the
// last run when the source resumes streaming: tables added since are
// re-snapshotted while streaming (s.resnap), or under snapshot_mode never
// streamed from the saved position only. Tables removed are forgotten.
func (s *Source) planResnap() error {
	prev, ok, err := s.loadSelection()
	if err != nil {
		return err
	}
	all := names(s.tables)
	if !ok {
		if s.sel.blob != nil {
			s.logger().Info("the state holds no record of the tables captured before (written by an earlier version): every configured table is taken as captured in full; a table added now is streamed without its existing rows")
		}
		return s.putSelection(selection{Tables: all})
	}
	known, added := s.addedSince(prev)
	var p *resnapProgress
	if prev.Resnap != nil {
		if i := slices.IndexFunc(added, func(t table) bool { return t.String() == prev.Resnap.Table }); i >= 0 {
			// The re-snapshot in progress goes first, from where it got.
			added = append(append([]table{added[i]}, added[:i]...), added[i+1:]...)
			p = prev.Resnap
		}
	}
	if len(added) == 0 {
		return s.putSelection(selection{Tables: known})
	}
	if s.cfg.SnapshotMode == SnapshotNever {
		s.logger().Info("tables added to `tables` are streamed from the saved position, without their existing rows (snapshot_mode never)",
			"tables", strings.Join(names(added), ", "))
		return s.putSelection(selection{Tables: all})
	}
	if !s.mariadb {
		return fmt.Errorf("mysql-cdc: %s %s added to `tables`: its existing rows are read by a re-snapshot, which needs MariaDB (binlog_snapshot_file/position); on MySQL set snapshot_mode: never to stream the added tables without their existing rows",
			strings.Join(names(added), ", "), map[bool]string{true: "was", false: "were"}[len(added) == 1])
	}
	rs := &resnap{queue: added, known: known}
	if p != nil {
		if rs.after, err = keyValues(p.After); err != nil {
			return fmt.Errorf("mysql-cdc: state file %s: re-snapshot of %s: %w: delete the state file to start over with a snapshot", s.sel.blob.Where(), p.Table, err)
		}
		rs.rows = p.Rows
		s.logger().Info("going on with the re-snapshot of a table added to `tables`", "table", p.Table, "rows_delivered", p.Rows)
	}
	s.logger().Info("tables added to `tables`: their existing rows are read while streaming (re-snapshot)", "tables", strings.Join(names(added), ", "))
	s.resnap = rs
	return s.putSelection(rs.selection())
}

// addedSince splits the configured tables into those prev holds as
// captured (as SQL writes them) and the others, in config order.
func (s *Source) addedSince(prev selection) (known []string, added []table) {
	for _, t := range s.tables {
		if slices.Contains(prev.Tables, t.String()) {
			known = append(known, t.String())
		} else {
			added = append(added, t)
		}
	}
	return known, added
}

// resnap is the re-snapshot of the tables added to `tables`, driven by
// the stream goroutine (streamReader.resnapStep).
type resnap struct {
	queue []table  // the tables still to read; queue[0] is being read
	known []string // the tables captured in full
	after []any    // the primary key of queue[0]'s last row delivered; nil: none
	rows  uint64   // queue[0]'s rows delivered
	chunk *resnapChunk
	// A chunk whose connection failed is read again after retryAt;
	// lostAt is when the first of retries failures in a row happened.
	retryAt time.Time
	lostAt  time.Time
	retries int
}

// resnapChunk is a chunk read, waiting for the stream to reach at.
type resnapChunk struct {
	at   token // the binlog position of the chunk's snapshot
	rel  *relation
	rows [][]runtime.Value
	last []any // the primary key of the last row
}

// selection is what the re-snapshot has captured once its delivered
// records are saved.
func (rs *resnap) selection() selection {
	sel := selection{Tables: slices.Clone(rs.known)}
	if len(rs.queue) > 0 {
		p := &resnapProgress{Table: rs.queue[0].String(), Rows: rs.rows}
		if rs.after != nil {
			p.After = keyTexts(rs.after)
		}
		sel.Resnap = p
	}
	return sel
}

// resnapPoll is how long the stream waits for an event while a chunk
// waits for it, before it checks its position again.
const resnapPoll = 100 * time.Millisecond

// resnapStep reads the next chunk when none is waiting, and delivers the
// waiting one once the stream has read the binlog up to its position. It
// acts only between transactions. An error is fatal; a lost connection
// is retried with backoff (within the reconnect budget).
func (r *streamReader) resnapStep(ctx context.Context) error {
	for {
		rs := r.resnap
		if rs == nil || r.tx.open || r.held != nil || len(r.out) > 0 {
			return nil
		}
		if rs.chunk == nil {
			if time.Now().Before(rs.retryAt) {
				return nil
			}
			c, err := r.s.readResnapChunk(ctx, rs)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if !snapshotConnLost(err) {
					return err
				}
				if rs.lostAt.IsZero() {
					rs.lostAt = time.Now()
				}
				rs.retries++
				if waited := time.Since(rs.lostAt); waited >= r.s.retryBudget() {
					return fmt.Errorf("mysql-cdc: re-snapshot of %s: reading a chunk from %s failed %d times over %v (giving up); the last error: %w",
						rs.queue[0], r.s.addr(), rs.retries, waited.Round(100*time.Millisecond), err)
				}
				wait := min(minBackoff<<min(rs.retries-1, 10), maxBackoff)
				rs.retryAt = time.Now().Add(wait)
				r.s.logger().Warn("the re-snapshot's connection to the server failed: reading the chunk again", "server", r.s.addr(),
					"table", rs.queue[0].String(), "attempt", rs.retries, "retry_in", wait, "error", r.s.redact(err).Error())
				return nil
			}
			rs.lostAt, rs.retries, rs.retryAt = time.Time{}, 0, time.Time{}
			rs.chunk = c
		}
		if binlogBefore(r.at, rs.chunk.at) {
			return nil // the stream has not read the binlog up to the chunk
		}
		if err := r.deliverChunk(); err != nil {
			return err
		}
	}
}

// waiting reports whether the stream must not block on the next event:
// a chunk waits for the stream's position, or one is to be read again.
func (rs *resnap) waiting() bool {
	return rs != nil && (rs.chunk != nil || !rs.retryAt.IsZero())
}

// readResnapChunk reads the next chunk of rs.queue[0] in a consistent
// snapshot of its own.
func (s *Source) readResnapChunk(ctx context.Context, rs *resnap) (c *resnapChunk, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("mysql-cdc: re-snapshot connection: %w", err)
	}
	defer func() {
		if err == nil {
			if _, err = conn.ExecContext(ctx, "COMMIT"); err != nil {
				err = fmt.Errorf("mysql-cdc: re-snapshot of %s: end the chunk's snapshot: %w", rs.queue[0], err)
			}
		}
		if err != nil {
			// Not back to the pool inside the snapshot's transaction.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}()
	at, err := consistentSnapshot(ctx, conn)
	if err != nil {
		return nil, err
	}
	t := rs.queue[0]
	rel, err := describe(ctx, conn, t)
	if err != nil {
		return nil, err
	}
	if err := s.checkLock(rel); err != nil {
		return nil, err
	}
	if len(rel.pk) == 0 {
		return nil, fmt.Errorf("mysql-cdc: table %s has no primary key: a re-snapshot reads it in primary-key order and records are keyed by it; add one (ALTER TABLE %s ADD PRIMARY KEY (…))", t, t)
	}
	c = &resnapChunk{at: at, rel: rel}
	c.last, _, err = chunkRows(ctx, conn, rel, rs.after, func(row []runtime.Value) { c.rows = append(c.rows, row) })
	if err != nil {
		return nil, err
	}
	if c.last != nil {
		if _, err := keyText(c.last); err != nil {
			return nil, fmt.Errorf("mysql-cdc: re-snapshot of %s: %w", t, err)
		}
	}
	return c, nil
}

// deliverChunk hands the waiting chunk's rows to Read as snapshot
// records, between the transaction read last and the next, and records
// the selection that holds once they are saved.
func (r *streamReader) deliverChunk() error {
	s, rs := r.s, r.resnap
	c := rs.chunk
	rs.chunk = nil
	prefix := r.last.String() + resnapMark + c.rel.t.String() + changeMark
	recs := make([]runtime.Record, len(c.rows))
	for i, row := range c.rows {
		rs.rows++
		recs[i] = runtime.Record{Stream: c.rel.t.name, Namespace: c.rel.t.db, Op: runtime.OpSnapshot, Schema: c.rel.rs,
			After: row, Time: s.now(), Position: runtime.Position{Offset: s.seq.Add(1), Token: prefix + strconv.FormatUint(rs.rows, 10)},
			Meta: s.meta(c.rel, row, nil, c.at, "", true)}
	}
	if len(c.rows) > 0 {
		rs.after = c.last
	}
	if len(c.rows) < snapshotChunk {
		t := rs.queue[0]
		s.logger().Info("re-snapshot of a table added to `tables` finished", "table", t.String(), "rows", rs.rows)
		rs.known = append(rs.known, t.String())
		rs.queue, rs.after, rs.rows = rs.queue[1:], nil, 0
	}
	// The selection is recorded before the records go out: the driver
	// may save their positions (and call Saved for the last time, at a
	// stop) before this goroutine runs again.
	if err := s.milestone(s.seq.Load(), rs.selection()); err != nil {
		return err
	}
	if len(rs.queue) == 0 {
		r.resnap = nil
	}
	for len(recs) > 0 {
		k := min(len(recs), streamBatch)
		r.out = append(r.out, recs[:k]...)
		recs = recs[k:]
		if err := r.sendOut(); err != nil {
			return err
		}
	}
	s.streamed(r.last)
	return nil
}

// binlogBefore reports whether position a comes before b in the binlog:
// files by the number after their last dot, then positions.
func binlogBefore(a, b token) bool {
	if a.file != b.file {
		na, nb := fileNumber(a.file), fileNumber(b.file)
		if na != nb {
			return na < nb
		}
		return a.file < b.file
	}
	return a.pos < b.pos
}

// fileNumber is a binlog file's sequence number (name.000042: 42).
func fileNumber(f string) uint64 {
	n, err := strconv.ParseUint(f[strings.LastIndexByte(f, '.')+1:], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// keyText writes a primary key's values, as the driver scans them, in a
// form keyValues reads back with the same Go types (the types the next
// chunk's query compares with).
func keyText(key []any) ([]string, error) {
	out := make([]string, len(key))
	for i, v := range key {
		switch v := v.(type) {
		case int64:
			out[i] = "i:" + strconv.FormatInt(v, 10)
		case uint64:
			out[i] = "u:" + strconv.FormatUint(v, 10)
		case float32:
			out[i] = "g:" + strconv.FormatUint(uint64(math.Float32bits(v)), 16)
		case float64:
			out[i] = "f:" + strconv.FormatUint(math.Float64bits(v), 16)
		case []byte:
			out[i] = "b:" + base64.StdEncoding.EncodeToString(v)
		case string:
			out[i] = "s:" + v
		case time.Time:
			out[i] = "t:" + v.Format(time.RFC3339Nano)
		default:
			return nil, fmt.Errorf("a primary key value of Go type %T cannot be kept in the state", v)
		}
	}
	return out, nil
}

// keyTexts is keyText for keys readResnapChunk checked.
func keyTexts(key []any) []string {
	out, _ := keyText(key)
	return out
}

// keyValues reads keyText's form back.
func keyValues(texts []string) ([]any, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	out := make([]any, len(texts))
	for i, s := range texts {
		tag, v, ok := strings.Cut(s, ":")
		var err error
		switch {
		case !ok:
			err = errors.New("no type")
		case tag == "i":
			out[i], err = strconv.ParseInt(v, 10, 64)
		case tag == "u":
			out[i], err = strconv.ParseUint(v, 10, 64)
		case tag == "g":
			var b uint64
			b, err = strconv.ParseUint(v, 16, 32)
			out[i] = math.Float32frombits(uint32(b))
		case tag == "f":
			var b uint64
			b, err = strconv.ParseUint(v, 16, 64)
			out[i] = math.Float64frombits(b)
		case tag == "b":
			out[i], err = base64.StdEncoding.DecodeString(v)
		case tag == "s":
			out[i] = v
		case tag == "t":
			out[i], err = time.Parse(time.RFC3339Nano, v)
		default:
			err = errors.New("unknown type " + tag)
		}
		if err != nil {
			return nil, fmt.Errorf("primary key value %q: %v", s, err)
		}
	}
	return out, nil
}
