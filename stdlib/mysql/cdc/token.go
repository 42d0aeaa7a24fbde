package cdc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Positions: a record's Position.Offset numbers the records of one run;
// its Token names the record's place in the binlog (or in the snapshot),
// the same in every run that reads it, so a replay after a crash gives
// the records it delivers again the tokens they had (a sink that names
// its output by position writes the same names). A token is one of
//
//	FILE:POS[ gtid=SET]                the position between two transactions
//	FILE:POS[ gtid=SET] #E.R           change R of rows event E of the
//	                                   transaction that starts there
//	snapshot `db`.`table` #N           row N of the table's snapshot
//	FILE:POS[ gtid=SET] re-snapshot `db`.`table` #N
//	                                   row N of the table's re-snapshot,
//	                                   delivered between two transactions
//	snapshot FILE:POS[ gtid=SET]       (earlier versions' snapshot records)
//
// FILE:POS is a binlog position and SET the GTID position there
// (MariaDB: "domain-server-seq,…", one GTID per domain in domain order;
// absent on MySQL, which resumes by file:position).
//
//   - The last record of a transaction carries the position right after
//     its commit: resuming there goes on with the next transaction.
//   - Every other record of a transaction carries the position where the
//     transaction starts (its GTID event, with the GTID position before
//     it) and its change: E counts the transaction's rows events, of
//     every table (captured or not: the coordinate does not depend on the
//     selection), 1, 2, …, and R the row changes in that event (an update
//     is one change), 1, 2, …. Resuming there reads the transaction again
//     and skips its changes up to and including E.R (stream.go).
//   - A snapshot record but the last carries its table (as SQL writes it)
//     and its ordinal in the table's snapshot, which reads each table in
//     primary-key order: a snapshot of unchanged data gives the same
//     tokens every time. Resuming there takes the snapshot again. The last
//     snapshot record carries the snapshot's binlog position, where the
//     stream starts: once it is acknowledged the snapshot is done.
//   - A re-snapshot record (resnap.go: a table added to the selection,
//     read in chunks between the stream's transactions) carries the
//     position between the two transactions it is delivered between, its
//     table and its ordinal in the table's re-snapshot. Resuming there
//     goes on with the next transaction; the re-snapshot goes on from the
//     progress in the source's state blob (at or before the record).
//
// Tokens written by earlier versions have no change and no snapshot
// ordinal: "FILE:POS[ gtid=SET]" inside a transaction was the position
// before it (the transaction is delivered again from its start), and
// "snapshot FILE:POS[ gtid=SET]" a snapshot that started there.
type token struct {
	// snapshot marks a record of a snapshot that was not finished.
	snapshot bool
	// table and row name a snapshot record: the table as SQL writes it,
	// and the row's ordinal in the table's snapshot (from 1). Both are
	// unset in a stream token and in an earlier version's snapshot token.
	table string
	row   uint64
	file  string
	pos   uint32
	gtid  string
	// change is set in the token of a record inside a transaction: the
	// transaction starts at file:pos.
	change change
	// resnap marks a record of a re-snapshot, delivered at file:pos
	// (table and row name it).
	resnap bool
}

// change is a row change's place in its transaction: the 1-based
// ordinal of its rows event among the transaction's rows events, and of
// the change among the event's changes. The zero change is none.
type change struct{ ev, row uint32 }

// after reports whether c comes after d in the transaction.
func (c change) after(d change) bool {
	return c.ev > d.ev || c.ev == d.ev && c.row > d.row
}

// changeMark separates a token's position from its change, and a
// snapshot token's table from its ordinal.
const changeMark = " #"

// resnapMark separates a re-snapshot token's position from its table.
const resnapMark = " re-snapshot "

func (t token) String() string {
	var b strings.Builder
	if t.snapshot {
		b.WriteString("snapshot ")
		if t.table != "" {
			b.WriteString(t.table)
			b.WriteString(changeMark)
			b.WriteString(strconv.FormatUint(t.row, 10))
			return b.String()
		}
	}
	b.WriteString(t.position())
	if t.resnap {
		b.WriteString(resnapMark)
		b.WriteString(t.table)
		b.WriteString(changeMark)
		b.WriteString(strconv.FormatUint(t.row, 10))
		return b.String()
	}
	if t.change != (change{}) {
		b.WriteString(changeMark)
		b.WriteString(t.change.String())
	}
	return b.String()
}

// position returns the token's binlog position as text: FILE:POS[ gtid=SET].
func (t token) position() string {
	var b strings.Builder
	b.WriteString(t.file)
	b.WriteByte(':')
	b.WriteString(strconv.FormatUint(uint64(t.pos), 10))
	if t.gtid != "" {
		b.WriteString(" gtid=")
		b.WriteString(t.gtid)
	}
	return b.String()
}

func (c change) String() string {
	return strconv.FormatUint(uint64(c.ev), 10) + "." + strconv.FormatUint(uint64(c.row), 10)
}

// at returns the token's binlog position alone (no change, not a
// snapshot).
func (t token) at() token { return token{file: t.file, pos: t.pos, gtid: t.gtid} }

// tokenForms lists the forms a token may take, for errors.
const tokenForms = "FILE:POS[ gtid=SET][ #E.R], FILE:POS[ gtid=SET] re-snapshot `db`.`table` #N, or snapshot `db`.`table` #N"

func parseToken(s string) (token, error) {
	// The mark right before the table's first backquote (a quoted table
	// name may hold anything, the mark too).
	if b := strings.IndexByte(s, '`'); b >= 0 && !strings.HasPrefix(s, "snapshot ") && strings.HasSuffix(s[:b], resnapMark) {
		t, err := parseToken(s[:b-len(resnapMark)])
		rest := s[b:]
		i := strings.LastIndex(rest, changeMark)
		if err != nil || t.change != (change{}) || i < 0 {
			return token{}, fmt.Errorf("position token %q is not %s", s, tokenForms)
		}
		n, err := strconv.ParseUint(rest[i+len(changeMark):], 10, 64)
		if err != nil || n == 0 {
			return token{}, fmt.Errorf("position token %q is not %s", s, tokenForms)
		}
		t.resnap, t.table, t.row = true, rest[:i], n
		return t, nil
	}
	var t token
	rest, ok := strings.CutPrefix(s, "snapshot ")
	t.snapshot = ok
	if i := strings.LastIndex(rest, changeMark); i >= 0 {
		tail := rest[i+len(changeMark):]
		if t.snapshot {
			n, err := strconv.ParseUint(tail, 10, 64)
			if err != nil || n == 0 || !strings.HasPrefix(rest, "`") {
				return t, fmt.Errorf("position token %q is not %s", s, tokenForms)
			}
			t.table, t.row = rest[:i], n
			return t, nil
		}
		ev, row, ok := strings.Cut(tail, ".")
		e, err1 := strconv.ParseUint(ev, 10, 32)
		r, err2 := strconv.ParseUint(row, 10, 32)
		if !ok || err1 != nil || err2 != nil || e == 0 || r == 0 {
			return t, fmt.Errorf("position token %q is not %s", s, tokenForms)
		}
		t.change = change{ev: uint32(e), row: uint32(r)}
		rest = rest[:i]
	}
	rest, t.gtid, _ = strings.Cut(rest, " gtid=")
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return t, fmt.Errorf("position token %q is not %s", s, tokenForms)
	}
	p, err := strconv.ParseUint(rest[i+1:], 10, 32)
	if err != nil || p < 4 {
		return t, fmt.Errorf("position token %q has no valid binlog position", s)
	}
	t.file, t.pos = rest[:i], uint32(p)
	return t, nil
}

// gtidSet is a MariaDB GTID position: the last GTID of each domain.
type gtidSet map[uint32]string

func parseGTIDSet(s string) gtidSet {
	g := gtidSet{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, _, ok := strings.Cut(part, "-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(d, 10, 32)
		if err == nil {
			g[uint32(n)] = part
		}
	}
	return g
}

func (g gtidSet) String() string {
	ds := make([]uint32, 0, len(g))
	for d := range g {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = g[d]
	}
	return strings.Join(parts, ",")
}
