package cdc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/jackc/pglogrepl"
)

// spill keeps the changes of one streamed, still uncommitted transaction
// (pgoutput v2 with streaming on) in a temporary file until the server
// sends its StreamCommit or StreamAbort, so a transaction of any size
// costs a bounded amount of memory.
//
// The file holds the pgoutput messages as the server sent them, one entry
// each: a 16-byte header (message length, the xid the message carries —
// the transaction's or one of its subtransactions' —, the WAL position of
// the XLogData it came in) and the message bytes. Relation messages are
// entries too, so at the commit every change decodes against the relation
// as it was when the change was sent. The file is removed as soon as it is
// created (where the OS allows), so nothing is left behind by a crash.
//
// A subtransaction abort (StreamAbort with a subxid) drops the changes
// from the subtransaction's first entry to the abort: after a savepoint,
// until it is rolled back, every change belongs to it or to its children.
// Relation messages in that span are kept (a later change may rely on
// them).
type spill struct {
	dir   string
	top   uint32 // the transaction's xid
	f     *os.File
	name  string // set when the file could not be removed while open
	w     *bufio.Writer
	n     uint64            // entries written
	first map[uint32]uint64 // subtransaction xid → index of its first entry
	skip  []span            // entries of aborted subtransactions
	bytes uint64
}

// span is the entries [lo, hi).
type span struct{ lo, hi uint64 }

const spillHeader = 16

// newSpill returns an empty spill of transaction top whose file, once
// needed, is created in dir ("" is the OS temporary directory).
func newSpill(dir string, top uint32) *spill {
	return &spill{dir: dir, top: top, first: map[uint32]uint64{}}
}

// add appends one message of (sub)transaction xid.
func (sp *spill) add(xid uint32, lsn pglogrepl.LSN, data []byte) error {
	if sp.f == nil {
		f, err := os.CreateTemp(sp.dir, "rivven-pgcdc-*.spill")
		if err != nil {
			return fmt.Errorf("postgres-cdc: spill file for a streamed transaction: %w", err)
		}
		if os.Remove(f.Name()) != nil {
			sp.name = f.Name()
		}
		sp.f, sp.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	if _, ok := sp.first[xid]; !ok && xid != sp.top {
		sp.first[xid] = sp.n
	}
	var h [spillHeader]byte
	binary.BigEndian.PutUint32(h[0:], uint32(len(data)))
	binary.BigEndian.PutUint32(h[4:], xid)
	binary.BigEndian.PutUint64(h[8:], uint64(lsn))
	if _, err := sp.w.Write(h[:]); err != nil {
		return fmt.Errorf("postgres-cdc: write spill file: %w", err)
	}
	if _, err := sp.w.Write(data); err != nil {
		return fmt.Errorf("postgres-cdc: write spill file: %w", err)
	}
	sp.n++
	sp.bytes += uint64(spillHeader + len(data))
	return nil
}

// abortSub drops the changes of the aborted subtransaction subxid (and of
// its children, which follow its first entry).
func (sp *spill) abortSub(subxid uint32) {
	if i, ok := sp.first[subxid]; ok {
		sp.skip = append(sp.skip, span{i, sp.n})
	}
}

// replay calls fn with every kept message, in order. data is only valid
// during the call.
func (sp *spill) replay(fn func(lsn pglogrepl.LSN, data []byte) error) error {
	if sp.f == nil {
		return nil
	}
	if err := sp.w.Flush(); err != nil {
		return fmt.Errorf("postgres-cdc: write spill file: %w", err)
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("postgres-cdc: read spill file: %w", err)
	}
	skip := mergeSpans(sp.skip)
	r := bufio.NewReaderSize(sp.f, 256<<10)
	var h [spillHeader]byte
	var buf []byte
	for i := uint64(0); i < sp.n; i++ {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return fmt.Errorf("postgres-cdc: read spill file: %w", err)
		}
		n := int(binary.BigEndian.Uint32(h[0:]))
		if n == 0 {
			return errors.New("postgres-cdc: read spill file: empty entry")
		}
		buf = slices.Grow(buf[:0], n)[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("postgres-cdc: read spill file: %w", err)
		}
		for len(skip) > 0 && skip[0].hi <= i {
			skip = skip[1:]
		}
		if len(skip) > 0 && skip[0].lo <= i && pglogrepl.MessageType(buf[0]) != pglogrepl.MessageTypeRelation {
			continue
		}
		if err := fn(pglogrepl.LSN(binary.BigEndian.Uint64(h[8:])), buf); err != nil {
			return err
		}
	}
	return nil
}

// mergeSpans sorts spans and merges the overlapping ones.
func mergeSpans(in []span) []span {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	var m []span
	for _, s := range out {
		if len(m) > 0 && s.lo <= m[len(m)-1].hi {
			m[len(m)-1].hi = max(m[len(m)-1].hi, s.hi)
			continue
		}
		m = append(m, s)
	}
	return m
}

// close releases the file.
func (sp *spill) close() error {
	if sp.f == nil {
		return nil
	}
	err := sp.f.Close()
	if sp.name != "" {
		err = errors.Join(err, os.Remove(sp.name))
	}
	sp.f, sp.w = nil, nil
	return err
}
