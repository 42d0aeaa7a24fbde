package cdc

import (
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pglogrepl"
)

// A graceful stop often lands inside a transaction: Read takes no more
// records, so the transaction's first changes are delivered and
// acknowledged, its commit is not, and the slot stays before it. The
// server sends the whole transaction again at the next start. To deliver
// none of it twice (Debezium keeps the same per-change position in its
// offsets), Close records in the marker how many of the transaction's
// changes were acknowledged, and the next run skips that many when the
// transaction arrives again:
//
//   - A transaction is named by its commit LSN (the Begin's final LSN, or
//     a streamed transaction's commit LSN: the same for one transaction in
//     both forms), and a server decodes it to the same changes in the same
//     order every time, streamed or not, for the same selection. A
//     recorded count is used only under the selection it was counted in.
//   - Only acknowledged changes are counted (a contiguous prefix of the
//     transaction), and the count is written only by a graceful stop,
//     after the stream ended; a crash leaves the previous count, which is
//     still true. At worst the rest of a transaction is delivered again.
//   - The count holds until the slot passes the transaction: a marker
//     whose flushed position is beyond the commit drops it.
//   - It applies only on the server it was counted on (the marker's
//     system identifier): another server's commit LSNs name other
//     transactions.
//
// The position the driver keeps in state_dir (token.go) says the same,
// "<commit LSN>:<n>", and is kept at every acknowledgement: after a crash
// too, Resume hands it back, and the next run skips the first n changes
// of that transaction, under the same conditions (the marker's selection
// and system; see loadResume for how a position counted under another
// selection is told apart).
//
// Either way the run also skips the transactions the server sends before
// that one (committed before it, after the slot's position: the last
// status update did not report them, or did not reach the server). The
// server sends transactions in commit order, and so does the source, so
// the run that acknowledged the first changes of a transaction had
// delivered every transaction committed before it, and had them
// acknowledged (acknowledgements cover a contiguous prefix). So the next
// run starts with the change after the acknowledged one.

// partialTx is the marker's record of a transaction delivered in part.
type partialTx struct {
	Commit    string `json:"commit"`    // its commit LSN
	Delivered uint64 `json:"delivered"` // its first changes acknowledged
	Selection string `json:"selection"` // the selection they were counted in
}

// txMark is a transaction being handed out, or committed and not yet
// fully acknowledged.
type txMark struct {
	commit  pglogrepl.LSN // its commit LSN (0: none)
	first   uint64        // the last offset handed out before its first record
	skipped uint64        // its first changes skipped: delivered by an earlier run
}

// selectionKey describes the selection a change count is valid for.
func (s *Source) selectionKey() string {
	var b strings.Builder
	b.WriteString(s.pub)
	b.WriteString("|")
	for _, t := range s.tables {
		b.WriteString(t.String())
		b.WriteString(",")
	}
	b.WriteString("|")
	b.WriteString(strings.Join(s.schemas, ","))
	return b.String()
}

// loadPartial takes the marker m's partial transaction if it still
// applies: recorded under this selection on this server, and the slot
// (confirmed) is not past it.
func (s *Source) loadPartial(m *marker, confirmed pglogrepl.LSN) error {
	p := m.Partial
	if p == nil {
		return nil
	}
	commit, err := pglogrepl.ParseLSN(p.Commit)
	if err != nil {
		return fmt.Errorf("postgres-cdc: state file %s: partial transaction commit %q: %w", s.blob.Where(), p.Commit, err)
	}
	if confirmed > commit || p.Delivered == 0 {
		return nil
	}
	if p.Selection != s.selectionKey() {
		s.logger().Info("the tables selected changed since the last stop: the transaction it stopped in is delivered again in full",
			"slot", s.cfg.SlotName, "commit_lsn", p.Commit)
		return nil
	}
	if m.System == "" || m.System != s.system {
		s.logger().Info("the last stop was recorded on another server (or by an earlier version): the transaction it stopped in is delivered again in full",
			"slot", s.cfg.SlotName, "commit_lsn", p.Commit)
		return nil
	}
	s.addResume(txMark{commit: commit, skipped: p.Delivered})
	s.markMu.Lock()
	s.partial = p
	s.markMu.Unlock()
	return nil
}

// addResume records that an earlier run delivered every change up to the
// first t.skipped of transaction t.commit (from the marker, or from the
// resumed position): the later of the two counts.
func (s *Source) addResume(t txMark) {
	if r := s.resume; t.commit > r.commit || t.commit == r.commit && t.skipped > r.skipped {
		s.resume = t
	}
}

// beginTx starts decoding the transaction committed at commit: it becomes
// the transaction being handed out, and the session skips its changes
// when an earlier run delivered them: all of them when it commits before
// the transaction an earlier run stopped in, the first ones of that one.
// Its changes are numbered from 1 (the n of their tokens, token.go).
func (ss *session) beginTx(commit pglogrepl.LSN) {
	s := ss.s
	ss.skip, ss.n = 0, 0
	r, skipped := s.resume, uint64(0)
	switch {
	case commit == 0 || r.commit == 0:
	case commit < r.commit:
		ss.skip = math.MaxUint64
		if s.once("resume\x00before") {
			s.logger().Info("skipping the transactions the last run delivered before the one it stopped in",
				"slot", s.cfg.SlotName, "commit_lsn", commit.String(), "stopped_in", r.commit.String())
		}
	case commit == r.commit:
		ss.skip, skipped = r.skipped, r.skipped
		if s.once("resume\x00" + commit.String()) {
			s.logger().Info("resuming the transaction the last stop was in: skipping the changes it delivered",
				"slot", s.cfg.SlotName, "commit_lsn", commit.String(), "skipped", ss.skip)
		}
	}
	s.mu.Lock()
	s.handing = txMark{commit: commit, first: s.seq.Load(), skipped: skipped}
	s.mu.Unlock()
}

// ordinal numbers the next change of the transaction being decoded (n, from
// 1) and reports whether it is to be skipped: an earlier run delivered it.
func (ss *session) ordinal() (n uint64, skip bool) {
	ss.n++
	return ss.n, ss.n <= ss.skip
}

// partialLocked returns the transaction acknowledged in part (its first
// changes, but not all of them), or nil; s.mu is held.
func (s *Source) partialLocked() *partialTx {
	tx, last := s.handing, uint64(0)
	if len(s.commits) > 0 {
		tx, last = s.commits[0].tx, s.commits[0].last
	}
	if tx.commit == 0 || tx.commit < s.flush {
		return nil
	}
	if len(s.commits) > 0 && s.acked >= last {
		return nil // fully acknowledged (advanceLocked pops these)
	}
	n := tx.skipped
	if s.acked > tx.first {
		n += s.acked - tx.first
	}
	if n == 0 {
		return nil
	}
	return &partialTx{Commit: tx.commit.String(), Delivered: n, Selection: s.selectionKey()}
}

// recordPartial writes, at a graceful stop, how much of the transaction it
// stopped in was acknowledged. The stream goroutine has ended.
func (s *Source) recordPartial() error {
	s.mu.Lock()
	p := s.partialLocked()
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	s.markMu.Lock()
	defer s.markMu.Unlock()
	s.partial = p
	return s.writeMarkerLocked(s.markSnap, s.recorded)
}
