package cdc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// Positions: a record's Position.Offset numbers the records of one run
// (1, 2, … from Open); its Token names the same change in every run, so
// that a replay after a crash gives the records it delivers again the
// tokens they had (a sink that names its output by position writes the
// same names):
//
//   - A streamed change — an insert, update or delete, or a truncate of
//     one table (a TRUNCATE of several selected tables is one record per
//     table) — is "<commit LSN>:<n>": the commit LSN of its transaction
//     as PostgreSQL writes an LSN ("16/B374D848", the record's
//     metadata.source.commit_lsn), and n its ordinal among the changes of
//     that transaction the selection takes (1, 2, …), in the order the
//     server decodes them. A transaction decodes to the same changes in
//     the same order every time, streamed (pgoutput v2) or not, so the
//     token is the same in every run with the same selection (resume.go).
//   - A snapshot row is "snapshot:<schema>.<table>:<n>": the table as
//     QuoteName writes its schema and name, and n the row's ordinal in
//     the table's snapshot (1, 2, …). Tables with a primary key are read
//     in key order, the others in their physical order (a sequential
//     scan that starts at the table's first page), so a snapshot of
//     unchanged data gives the same tokens every time; a change to a
//     table may shift the ordinals of its rows after it.
//
// A token is enough to resume after its record (runtime.Position rule 2)
// together with the slot, which holds the durable position: Resume makes
// the next run skip what the server sends again up to that change — the
// transactions committed before it, and the first n changes of its own
// (resume.go) — so it starts with the change after the last acknowledged
// one; a snapshot token changes nothing (the marker says whether the
// snapshot is taken again).

// snapshotTokenPrefix starts every snapshot record's token.
const snapshotTokenPrefix = "snapshot:"

// appendStreamToken appends the token of change n of the transaction
// committed at commit (its text: pglogrepl.LSN.String's).
func appendStreamToken(b []byte, commit string, n uint64) []byte {
	b = append(b, commit...)
	b = append(b, ':')
	return strconv.AppendUint(b, n, 10)
}

// snapshotTokenPrefixOf returns the text before the ordinal of every
// snapshot token of rel.
func snapshotTokenPrefixOf(rel *relation) string {
	return snapshotTokenPrefix + rel.name().String() + ":"
}

// errToken is the error of a token that is no postgres-cdc position.
var errToken = errors.New("not a postgres-cdc position")

// parseToken reads a position token: a snapshot token (snap true), or a
// stream token's commit LSN and n.
func parseToken(tok string) (snap bool, commit pglogrepl.LSN, n uint64, err error) {
	i := strings.LastIndexByte(tok, ':')
	if i < 0 {
		return false, 0, 0, errToken
	}
	n, err = strconv.ParseUint(tok[i+1:], 10, 64)
	if err != nil || n == 0 {
		return false, 0, 0, errToken
	}
	if rest, ok := strings.CutPrefix(tok[:i], snapshotTokenPrefix); ok {
		if rest == "" {
			return false, 0, 0, errToken
		}
		return true, 0, n, nil
	}
	commit, ok := parseLSN(tok[:i])
	if !ok {
		return false, 0, 0, errToken
	}
	return false, commit, n, nil
}

// parseLSN reads an LSN as PostgreSQL writes it: two groups of 1 to 8
// hexadecimal digits separated by a slash (pglogrepl.ParseLSN accepts
// more).
func parseLSN(s string) (pglogrepl.LSN, bool) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || !hexGroup(hi) || !hexGroup(lo) {
		return 0, false
	}
	h, _ := strconv.ParseUint(hi, 16, 32)
	l, _ := strconv.ParseUint(lo, 16, 32)
	return pglogrepl.LSN(h<<32 | l), true
}

func hexGroup(s string) bool {
	if len(s) == 0 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

var _ runtime.Resumable = (*Source)(nil)

// Resume implements runtime.Resumable: pos is the last acknowledged
// position, as the driver kept it (called before Open). A stream token
// "<commit LSN>:<n>" makes the run skip what the server sends again up to
// that change: the transactions committed before it and its first n
// changes (resume.go) — only if Open finds the slot not past it and the
// marker says the token was counted under the same selection on the same
// server (loadResume); else they are delivered again. A snapshot token
// changes nothing, and so does a position without a token (an earlier
// version's: the slot holds the position). A token that does not parse is
// an error (the driver names where it keeps the position).
func (s *Source) Resume(pos runtime.Position) error {
	if pos.Token == "" {
		return nil
	}
	snap, commit, n, err := parseToken(pos.Token)
	if err != nil {
		return fmt.Errorf("postgres-cdc: the saved position %q is not a postgres-cdc position (<commit LSN>:<n>, or snapshot:<table>:<n>): "+
			"it was written by another source, or edited; delete it to go on from the slot's position (the transaction the last run stopped in is then delivered again in full)",
			pos.Token)
	}
	s.resumed = pos.Token
	if !snap {
		s.resumeAt = txMark{commit: commit, skipped: n}
	}
	return nil
}

// loadResume takes the resumed position's transaction (Resume) when it
// still applies: the marker m of the slot says the token was counted on
// this server under this selection, and the slot (confirmed) is not past
// the transaction. When in doubt the transaction is delivered again in
// full (a skip too many loses changes):
//
//   - The token does not say under which selection it was counted. The
//     marker records the selection of the runs since it last changed
//     (Selection), and the position the first of those runs was resumed
//     at (Prior): every other position the driver keeps since was
//     acknowledged by one of those runs. So a token is trusted when the
//     marker's selection is this run's and the token is not Prior.
//   - In a cluster (a lease) the marker is the cluster's (the lease's
//     "source" state). The position is used only when it is the
//     cluster's too, the lease's "position" state (clusterPosition): one
//     kept on a node's disk may predate a selection change another node
//     made, which Prior cannot tell.
func (s *Source) loadResume(m *marker, confirmed pglogrepl.LSN) {
	t := s.resumeAt
	if t.commit == 0 || confirmed > t.commit {
		return // none, or the slot is past it: the server will not send it again
	}
	why := ""
	switch {
	case s.lease != nil && !s.clusterPosition():
		why = "in a cluster, a position not kept in the lease is not used"
	case m == nil:
		why = "nothing is recorded for this slot"
	case m.System == "" || m.System != s.system:
		why = "the slot's record is of another server, or of an earlier version"
	case m.Selection != s.selectionKey() || m.Prior == s.resumed:
		why = "the tables selected changed since that position was acknowledged"
	}
	if why != "" {
		s.logger().Info(why+": the server's changes before the acknowledged position are delivered again",
			"slot", s.cfg.SlotName, "position", s.resumed)
		return
	}
	s.addResume(t)
}

// leasePositionKey is the lease state key under which the runtime keeps a
// cluster run's acknowledged position (its "source" key holds the marker).
const leasePositionKey = "position"

// clusterPosition reports whether the position Resume was given is the
// one the lease keeps, so every node resumes from it: the token of the
// position (runtime.Position's JSON form) in the lease's "position"
// state. A position kept elsewhere (a node's state_dir) is not.
func (s *Source) clusterPosition() bool {
	v, ok, err := s.lease.Blob(leasePositionKey).Get()
	if err != nil || !ok {
		return false
	}
	var p runtime.Position
	return p.UnmarshalJSON(v) == nil && p.Token == s.resumed
}
