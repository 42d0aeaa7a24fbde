package cdc

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// The messages every row brings — Begin, Insert, Update, Delete, Commit —
// are decoded here straight from their bytes into the record's values:
// pglogrepl allocates a message, a tuple, a column and a copy of the bytes
// per value, which cost more than the rest of a row's work. The other
// messages (relations, truncates, types, origins, the v2 stream messages)
// are rare and go through pglogrepl.

// sharedTextLimit is the largest message whose text values share one
// string (see change): a small value must not keep a large message alive.
const sharedTextLimit = 4096

// wire reads the fields of a pgoutput message; reading past its end sets
// short (and reads zeros).
type wire struct {
	b     []byte
	off   int
	short bool
}

func (w *wire) u8() byte {
	if w.off+1 > len(w.b) {
		w.short = true
		return 0
	}
	w.off++
	return w.b[w.off-1]
}

func (w *wire) u16() uint16 {
	if w.off+2 > len(w.b) {
		w.short = true
		return 0
	}
	w.off += 2
	return binary.BigEndian.Uint16(w.b[w.off-2:])
}

func (w *wire) u32() uint32 {
	if w.off+4 > len(w.b) {
		w.short = true
		return 0
	}
	w.off += 4
	return binary.BigEndian.Uint32(w.b[w.off-4:])
}

func (w *wire) u64() uint64 {
	if w.off+8 > len(w.b) {
		w.short = true
		return 0
	}
	w.off += 8
	return binary.BigEndian.Uint64(w.b[w.off-8:])
}

// skip passes n bytes and returns their offset.
func (w *wire) skip(n int) int {
	at := w.off
	if n < 0 || n > len(w.b)-w.off {
		w.short = true
		w.off = len(w.b)
		return at
	}
	w.off += n
	return at
}

// malformed is the error of a message that does not parse.
func malformed(what string, data []byte) error {
	return fatalError{fmt.Errorf("postgres-cdc: decode pgoutput message: malformed %s message (%d bytes)", what, len(data))}
}

// pgEpochMicros is 2000-01-01 (PostgreSQL's epoch) in µs since 1970.
const pgEpochMicros = 946684800 * 1000000

func pgTime(us uint64) time.Time { return time.Unix(0, (pgEpochMicros+int64(us))*1000) }

// applyData decodes one pgoutput message of a transaction: data as the
// server sent it, lsn the WAL position of the XLogData that carried it;
// streamed marks a message of a v2 stream block, whose changes carry their
// xid.
func (ss *session) applyData(ctx context.Context, data []byte, lsn pglogrepl.LSN, streamed bool) error {
	switch pglogrepl.MessageType(data[0]) {
	case pglogrepl.MessageTypeBegin:
		if !streamed {
			return ss.begin(data)
		}
	case pglogrepl.MessageTypeCommit:
		if !streamed {
			w := wire{b: data, off: 1}
			w.u8()  // flags
			w.u64() // the commit's LSN
			end := w.u64()
			w.u64() // commit time
			if w.short {
				return malformed("commit", data)
			}
			ss.commit(pglogrepl.LSN(end))
			return nil
		}
	case pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate, pglogrepl.MessageTypeDelete:
		return ss.change(ctx, data, lsn, streamed)
	}
	msg, err := parseMessage(data, ss.s.proto, streamed)
	if err != nil {
		return err
	}
	return ss.apply(ctx, v1Message(msg), lsn)
}

// parseMessage decodes a message the decoder here leaves to pglogrepl.
// pglogrepl indexes some messages by lengths they carry without checking
// them (FuzzPgoutput found a logical decoding message that panics it): a
// malformed message is a fatal error, never a panic.
func parseMessage(data []byte, proto int, streamed bool) (msg pglogrepl.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fatalError{fmt.Errorf("postgres-cdc: decode pgoutput message: malformed %s message of %d bytes", pglogrepl.MessageType(data[0]), len(data))}
		}
	}()
	if pglogrepl.MessageType(data[0]) == pglogrepl.MessageTypeTruncate {
		// pglogrepl allocates the relation ids a truncate declares before
		// reading them: check that they are there.
		w := wire{b: data, off: 1}
		if streamed {
			w.u32() // xid
		}
		if n := uint64(w.u32()); w.short || n*4+uint64(w.off)+1 > uint64(len(data)) {
			return nil, malformed("truncate", data)
		}
	}
	if proto >= 2 {
		msg, err = pglogrepl.ParseV2(data, streamed)
	} else {
		msg, err = pglogrepl.Parse(data)
	}
	if err != nil {
		return nil, fatalError{fmt.Errorf("postgres-cdc: decode pgoutput message: %w", err)}
	}
	return msg, nil
}

// begin starts a transaction. Its commit LSN and time are kept as the
// text every record of it carries (one allocation for both).
func (ss *session) begin(data []byte) error {
	w := wire{b: data, off: 1}
	final := w.u64()
	at := pgTime(w.u64())
	xid := w.u32()
	if w.short {
		return malformed("begin", data)
	}
	ss.inTx, ss.xid = true, xid
	ss.beginTx(pglogrepl.LSN(final))
	ss.commitAt = at
	b := appendLSN(ss.buf[:0], pglogrepl.LSN(final))
	n := len(b)
	b = appendCommitTime(b, at)
	text := string(b)
	ss.buf = b[:0]
	ss.commitLSN, ss.commitTime = text[:n], text[n:]
	return nil
}

// change decodes an insert, update or delete into a record. The text
// values of a small message share one string with the record's LSN and
// token.
func (ss *session) change(ctx context.Context, data []byte, lsn pglogrepl.LSN, streamed bool) error {
	kind := pglogrepl.MessageType(data[0])
	w := wire{b: data, off: 1}
	if streamed {
		w.u32() // the (sub)transaction's xid
	}
	relid := w.u32()
	tag := w.u8()
	if w.short {
		return malformed(kind.String(), data)
	}
	rel, err := ss.rel(relid)
	if err != nil {
		return err
	}
	if rel.ignored {
		return nil
	}
	n, skip := ss.ordinal()
	if skip {
		return nil // delivered by an earlier run (resume.go)
	}
	// The message (when small), the LSN and the token in one string.
	b, shared := ss.buf[:0], len(data) <= sharedTextLimit
	if shared {
		b = append(b, data...)
	}
	at := len(b)
	b = appendLSN(b, lsn)
	mid := len(b)
	b = appendStreamToken(b, ss.commitLSN, n)
	all := string(b)
	ss.buf = b[:0]
	var text string
	if shared {
		text = all
	}
	lsnText, token := all[at:mid], all[mid:]
	switch kind {
	case pglogrepl.MessageTypeInsert:
		if tag != 'N' {
			return malformed(kind.String(), data)
		}
		after, toast, err := ss.decodeTuple(rel, &w, text, nil)
		if err != nil {
			return err
		}
		return ss.emit(ctx, rel, runtime.OpInsert, nil, after, toast, lsnText, token)
	case pglogrepl.MessageTypeUpdate:
		var before, old []runtime.Value
		if tag == 'K' || tag == 'O' {
			if before, _, err = ss.decodeTuple(rel, &w, text, nil); err != nil {
				return err
			}
			if tag == 'K' {
				keyOnly(rel, before)
			} else {
				old = before
			}
			tag = w.u8()
		}
		if tag != 'N' {
			return malformed(kind.String(), data)
		}
		after, toast, err := ss.decodeTuple(rel, &w, text, old)
		if err != nil {
			return err
		}
		return ss.emit(ctx, rel, runtime.OpUpdate, before, after, toast, lsnText, token)
	default: // delete
		if tag != 'K' && tag != 'O' {
			return malformed(kind.String(), data)
		}
		before, _, err := ss.decodeTuple(rel, &w, text, nil)
		if err != nil {
			return err
		}
		if tag == 'K' {
			keyOnly(rel, before)
		}
		return ss.emit(ctx, rel, runtime.OpDelete, before, nil, nil, lsnText, token)
	}
}

// decodeTuple decodes a tuple (TupleData) at w into a row of rel. text is
// the message as a string ("" when its values do not share one). An
// unchanged TOAST value takes the value from old (REPLICA IDENTITY FULL)
// or else the UnchangedToast marker, and its column is listed in toast.
// Columns beyond the relation's are skipped.
func (ss *session) decodeTuple(rel *relation, w *wire, text string, old []runtime.Value) (row, toast []runtime.Value, err error) {
	n := int(w.u16())
	if n != len(rel.cols) && !w.short {
		// pgoutput sends every column its relation message listed: a row
		// of another width would be read into the wrong columns.
		return nil, nil, fatalError{fmt.Errorf("postgres-cdc: decode pgoutput message: a %s of %s carries %d columns; its relation message listed %d",
			pglogrepl.MessageType(w.b[0]), table{rel.schema, rel.table}, n, len(rel.cols))}
	}
	row = make([]runtime.Value, len(rel.cols))
	for i := 0; i < n && !w.short; i++ {
		switch w.u8() {
		case pglogrepl.TupleDataTypeNull:
		case pglogrepl.TupleDataTypeToast:
			if i >= len(rel.cols) {
				continue
			}
			if i < len(old) && old[i].Kind() != runtime.KindAbsent {
				row[i] = old[i]
			} else {
				row[i] = runtime.String(UnchangedToast)
				toast = append(toast, runtime.String(rel.cols[i].name))
			}
		case pglogrepl.TupleDataTypeText:
			l := int(int32(w.u32()))
			at := w.skip(l)
			if w.short || i >= len(rel.cols) {
				continue
			}
			var v runtime.Value
			if t := rel.cols[i].typ; text != "" && (t.kind == kString || t.kind == kNumeric) {
				v = runtime.String(text[at : at+l])
			} else if v, err = decodeText(t, w.b[at:at+l]); err != nil {
				return nil, nil, fatalError{fmt.Errorf("%w (column %s of %s)", err, QuoteName(rel.cols[i].name), table{rel.schema, rel.table})}
			}
			row[i] = v
		case pglogrepl.TupleDataTypeBinary:
			if i < len(rel.cols) {
				return nil, nil, fatalError{fmt.Errorf("postgres-cdc: unexpected binary column %s", rel.cols[i].name)}
			}
			w.skip(int(int32(w.u32())))
		default:
			return nil, nil, malformed("tuple in a "+pglogrepl.MessageType(w.b[0]).String(), w.b)
		}
	}
	if w.short {
		return nil, nil, malformed(pglogrepl.MessageType(w.b[0]).String(), w.b)
	}
	return row, toast, nil
}

// keyOnly marks the non-key columns of a key-only old tuple Absent (and
// so left out of the JSON), not null: they are unknown.
func keyOnly(rel *relation, row []runtime.Value) {
	for i, c := range rel.cols {
		if !c.ident {
			row[i] = runtime.Absent()
		}
	}
}

// commitTimeLayout is how records carry their commit time.
const commitTimeLayout = "2006-01-02T15:04:05.000000Z"

// appendCommitTime appends t in UTC as commitTimeLayout formats it,
// without the general formatter for the years 0–9999.
func appendCommitTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, commitTimeLayout)
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// appendDigits appends v (≥ 0) in width decimal digits, zero-padded.
func appendDigits(b []byte, v, width int) []byte {
	var tmp [8]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:width]...)
}

// appendLSN appends lsn as PostgreSQL writes it (pglogrepl.LSN.String:
// "16/B374D848").
func appendLSN(b []byte, lsn pglogrepl.LSN) []byte {
	b = appendHex(b, uint32(lsn>>32))
	b = append(b, '/')
	return appendHex(b, uint32(lsn))
}

func appendHex(b []byte, v uint32) []byte {
	const digits = "0123456789ABCDEF"
	var tmp [8]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[v&0xF]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// metaBlock holds a streamed record's metadata objects in one allocation
// (less than a kilobyte: the metadata is most of what a row allocates,
// and so what sets how often the garbage collector runs). The keys are
// shared, read-only arrays: an Object's Set only appends to its keys,
// and these are full, so an append copies them.
type metaBlock struct {
	m, src, key runtime.Object
	mVals       [4]runtime.Value
	srcVals     [8]runtime.Value
	keyVals     [2]runtime.Value
}

var (
	metaKeys   = [4]string{"transaction_id", "key", "source", "unchanged_toast"}
	sourceKeys = [8]string{"connector", "database", "schema", "table", "lsn", "commit_lsn", "commit_time", "snapshot"}
)

// keyColumns are the columns of a relation that make up metadata.key, in
// column order (as Source.meta lists them): their names and positions.
type keyColumns struct {
	names []string // read-only, full (see metaBlock)
	at    []int
}

func newKeyColumns(rel *relation) *keyColumns {
	k := &keyColumns{}
	for i, c := range rel.cols {
		if c.key {
			k.names = append(k.names, c.name)
			k.at = append(k.at, i)
		}
	}
	k.names = slices.Clip(k.names)
	return k
}

// keyColumns returns rel's key columns, worked out once per relation.
func (ss *session) keyColumns(rel *relation) *keyColumns {
	k := ss.keys[rel]
	if k == nil {
		if ss.keys == nil {
			ss.keys = map[*relation]*keyColumns{}
		}
		k = newKeyColumns(rel)
		ss.keys[rel] = k
	}
	return k
}

// streamMeta is Source.meta(rel, row, xid, lsn, commitLSN, commitTime,
// false, toast), the metadata of a streamed change, built in one
// allocation (two with more than two key columns); keys are rel's key
// columns.
func (s *Source) streamMeta(rel *relation, keys *keyColumns, row []runtime.Value, xid uint32, lsn, commitLSN, commitTime string, toast []runtime.Value) *runtime.Object {
	b := new(metaBlock)
	key := runtime.Null()
	if n := len(keys.at); n > 0 && keys.at[n-1] < len(row) {
		b.key.Keys = keys.names
		b.key.Values = b.keyVals[:0]
		for _, i := range keys.at {
			b.key.Values = append(b.key.Values, row[i])
		}
		key = runtime.ObjectValue(&b.key)
	} else if n > 0 {
		// A row shorter than the relation: the key columns it has.
		o := runtime.NewObject(n)
		for j, i := range keys.at {
			if i < len(row) {
				o.Set(keys.names[j], row[i])
			}
		}
		if len(o.Keys) > 0 {
			key = runtime.ObjectValue(o)
		}
	}
	b.srcVals = [8]runtime.Value{
		runtime.String("postgres-cdc"), runtime.String(s.cfg.Database), runtime.String(rel.schema), runtime.String(rel.table),
		strOrNull(lsn), strOrNull(commitLSN), strOrNull(commitTime), runtime.Bool(false)}
	b.src.Keys, b.src.Values = sourceKeys[:], b.srcVals[:]
	b.mVals = [4]runtime.Value{runtime.Int(int64(xid)), key, runtime.ObjectValue(&b.src)}
	n := 3
	if len(toast) > 0 {
		b.mVals[3] = runtime.ArrayValue(toast)
		n = 4
	}
	b.m.Keys, b.m.Values = metaKeys[:n:n], b.mVals[:n]
	return &b.m
}
