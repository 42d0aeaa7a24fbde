package cdc

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// marker is what the source keeps in its state blob (settings.state_dir):
// which slot it streams from and how far its snapshot got. The slot keeps
// the stream position; only the marker can tell, after a crash, whether the
// snapshot taken when the slot was created was completely acknowledged.
type marker struct {
	Slot     string `json:"slot"`
	Database string `json:"database"`
	// Snapshot is "pending" (written before the slot is created or a
	// snapshot begins, until every snapshot record is acknowledged), "done",
	// or "skipped" (snapshot_mode never).
	Snapshot string `json:"snapshot"`
	// Flushed is the highest flush position ever reported to the server
	// for this slot, written before it is reported ("" before the first).
	Flushed string `json:"flushed,omitempty"`
	// Partial is the transaction a graceful stop landed in, and how many
	// of its changes were acknowledged (resume.go).
	Partial *partialTx `json:"partial,omitempty"`
	// System is the server's system identifier (IDENTIFY_SYSTEM): commit
	// LSNs, in Partial and in position tokens, name transactions of that
	// server only.
	System string `json:"system,omitempty"`
	// Selection is the selection (selectionKey) of the runs since the
	// marker was written under another one, or without one, and Prior is
	// the position token the first of those runs was resumed at: counted
	// under the selection before, it must not be trusted (loadResume).
	Selection string `json:"selection,omitempty"`
	Prior     string `json:"prior,omitempty"`
}

// Snapshot states of a marker.
const (
	snapPending = "pending"
	snapDone    = "done"
	snapSkipped = "skipped"
)

// UseState implements runtime.Stateful. b is nil without settings.state_dir.
func (s *Source) UseState(b runtime.StateBlob) { s.blob = b }

// UseLogger implements runtime.Logged.
func (s *Source) UseLogger(l *slog.Logger) { s.log = l }

func (s *Source) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

// loadMarker returns the recorded marker for the configured slot and
// database, or nil when there is none (no state_dir, nothing recorded, or
// the marker of another slot). A corrupt state file is an error.
func (s *Source) loadMarker() (*marker, error) {
	if s.blob == nil {
		return nil, nil
	}
	v, ok, err := s.blob.Get()
	if err != nil {
		return nil, fmt.Errorf("postgres-cdc: %w", err)
	}
	if !ok {
		return nil, nil
	}
	var m marker
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("postgres-cdc: state file %s does not hold a postgres-cdc marker (%v); delete it only if you mean to start over", s.blob.Where(), err)
	}
	if m.Slot != s.cfg.SlotName || m.Database != s.cfg.Database {
		return nil, nil
	}
	return &m, nil
}

// saveMarker records the snapshot state of the configured slot ("" clears
// the marker: the slot was dropped on purpose). Without a state blob it
// does nothing.
func (s *Source) saveMarker(snapshot string) error {
	s.markMu.Lock()
	defer s.markMu.Unlock()
	if snapshot == "" {
		s.recorded = 0
	}
	return s.writeMarkerLocked(snapshot, s.recorded)
}

// writeMarkerLocked writes the marker; s.markMu is held.
func (s *Source) writeMarkerLocked(snapshot string, flushed pglogrepl.LSN) error {
	if s.blob == nil {
		return nil
	}
	m := marker{Slot: s.cfg.SlotName, Database: s.cfg.Database, Snapshot: snapshot}
	if flushed != 0 {
		m.Flushed = flushed.String()
	}
	if s.partial != nil {
		if c, err := pglogrepl.ParseLSN(s.partial.Commit); err != nil || flushed > c {
			s.partial = nil // the slot is past it
		}
	}
	m.Partial = s.partial
	m.System, m.Selection, m.Prior = s.system, s.markSel, s.markPrior
	if snapshot == "" {
		m = marker{}
	}
	b, _ := json.Marshal(m)
	if err := s.blob.Put(b); err != nil {
		return fmt.Errorf("postgres-cdc: record the state of slot %q: %w", s.cfg.SlotName, err)
	}
	s.markSnap = snapshot
	return nil
}

// markSnapshotDone records, once, that every snapshot record is
// acknowledged. Called from Ack and from Read (when the snapshot was empty).
func (s *Source) markSnapshotDone() error {
	s.markMu.Lock()
	defer s.markMu.Unlock()
	if s.marked || s.markClosed {
		return nil // done already, or Close decided about the slot
	}
	if err := s.writeMarkerLocked(snapDone, s.recorded); err != nil {
		return err
	}
	s.marked = true
	return nil
}

// recordWait is the least time between two writes of the flush position
// to the marker; status updates in between report the recorded one.
const recordWait = 500 * time.Millisecond

// reportable returns the flush position a status update may report: flush
// once the marker records it (written first, at most every recordWait, or
// at once when final), else the last recorded position and when to try
// again. So the server's
// confirmed_flush_lsn never passes what the marker says, and a slot found
// beyond it at the next start was advanced or re-created by someone else.
// Without a state blob it returns flush.
func (s *Source) reportable(flush pglogrepl.LSN, final bool) (_ pglogrepl.LSN, retry time.Time, _ error) {
	if s.blob == nil {
		return flush, time.Time{}, nil
	}
	s.markMu.Lock()
	defer s.markMu.Unlock()
	if flush <= s.recorded {
		return flush, time.Time{}, nil
	}
	if !final && time.Since(s.recordedAt) < recordWait {
		return s.recorded, s.recordedAt.Add(recordWait), nil
	}
	if err := s.writeMarkerLocked(s.markSnap, flush); err != nil {
		return s.recorded, time.Time{}, err
	}
	s.recorded, s.recordedAt = flush, time.Now()
	return flush, time.Time{}, nil
}
