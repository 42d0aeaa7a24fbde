package cdc

import "github.com/rivven/rivven-connect/runtime"

// A record's metadata: transaction_id (the GTID; null in the snapshot),
// key (the primary key's columns and values; null without one), and
// source {connector, database, table, file, pos, gtid, snapshot}.
//
// Records share what does not depend on their row: the key names, the
// source object (one per rows event, or per snapshot chunk). That is
// safe because a runtime.Value, and the Object it wraps, is immutable
// once built (runtime/value.go); the Keys slices have len == cap, so an
// Object.Set of a new key copies them.
var (
	metaKeys   = [...]string{"transaction_id", "key", "source"}
	sourceKeys = [...]string{"connector", "database", "table", "file", "pos", "gtid", "snapshot"}
)

// metaInline is the most key columns eventMeta holds the names of
// without an allocation of their own.
const metaInline = 2

// metaChunk is the most records' metadata objects allocated at once.
const metaChunk = 64

// eventMeta builds the metadata of the records of one rows event (or of
// one snapshot chunk): rel's changes at the event at, in one
// transaction, from the snapshot or not.
type eventMeta struct {
	rel   *relation
	txid  runtime.Value
	src   runtime.Value
	names []string // the key's columns (len == cap)
	// recs is the rest of the current chunk of metadata objects, left
	// how many records are still to come (the size of the next chunk).
	recs []recordMeta
	left int
}

// eventMetaBlock is an eventMeta and what it shares, allocated at once.
type eventMetaBlock struct {
	em      eventMeta
	src     runtime.Object
	srcVals [len(sourceKeys)]runtime.Value
	names   [metaInline]string
}

// recordMeta is a record's metadata object and its key object (of one
// column: longer keys take an allocation of their own).
type recordMeta struct {
	m     runtime.Object
	mVals [len(metaKeys)]runtime.Value
	key   runtime.Object
	key1  [1]runtime.Value
}

// newEventMeta returns the metadata builder of n records (the size of
// its allocations; more may follow) of rel's changes at the event at, in
// the transaction gtid ("" for none), from the snapshot or not.
func newEventMeta(rel *relation, at token, gtid string, snap bool, n int) *eventMeta {
	b := new(eventMetaBlock)
	b.init(rel, at, gtid, snap)
	b.em.left = n
	return &b.em
}

func (b *eventMetaBlock) init(rel *relation, at token, gtid string, snap bool) {
	b.srcVals = [len(sourceKeys)]runtime.Value{
		runtime.String("mysql-cdc"),
		runtime.String(rel.t.db),
		runtime.String(rel.t.name),
		runtime.String(at.file),
		runtime.Int(int64(at.pos)),
		stringOrNull(gtid),
		runtime.Bool(snap),
	}
	b.src = runtime.Object{Keys: sourceKeys[:], Values: b.srcVals[:]}
	names := b.names[:0]
	if len(rel.pk) > metaInline {
		names = make([]string, 0, len(rel.pk))
	}
	for _, k := range rel.pk {
		names = append(names, rel.cols[k].name)
	}
	b.em = eventMeta{rel: rel, txid: stringOrNull(gtid), src: runtime.ObjectValue(&b.src), names: names[:len(names):len(names)]}
}

// meta builds a record's metadata: its key is taken from row, or from
// before when row is nil. The objects of up to metaChunk records are
// allocated at once (the key's values too with a key of more than one
// column).
func (em *eventMeta) meta(row, before []runtime.Value) *runtime.Object {
	if len(em.recs) == 0 {
		n := min(max(em.left, 1), metaChunk)
		em.recs, em.left = make([]recordMeta, n), em.left-n
	}
	b := &em.recs[0]
	em.recs = em.recs[1:]
	return em.fill(b, row, before)
}

func (em *eventMeta) fill(b *recordMeta, row, before []runtime.Value) *runtime.Object {
	kr := row
	if kr == nil {
		kr = before
	}
	key := runtime.Null()
	if n := len(em.names); n > 0 {
		vals := b.key1[:0]
		if n > 1 {
			vals = make([]runtime.Value, 0, n)
		}
		for _, k := range em.rel.pk {
			vals = append(vals, kr[k])
		}
		b.key = runtime.Object{Keys: em.names, Values: vals[:n:n]}
		key = runtime.ObjectValue(&b.key)
	}
	b.mVals = [len(metaKeys)]runtime.Value{em.txid, key, em.src}
	b.m = runtime.Object{Keys: metaKeys[:], Values: b.mVals[:]}
	return &b.m
}

// meta builds the metadata of one record of rel's change at at, in the
// transaction gtid ("" for none), from the snapshot or not, in one
// allocation (more with a key of more than one column). The key
// is taken from row, or from before when row is nil. The records of one
// event (or snapshot chunk) take less with newEventMeta.
func (s *Source) meta(rel *relation, row []runtime.Value, before []runtime.Value, at token, gtid string, snap bool) *runtime.Object {
	b := new(struct {
		ev  eventMetaBlock
		rec recordMeta
	})
	b.ev.init(rel, at, gtid, snap)
	return b.ev.em.fill(&b.rec, row, before)
}

// stringOrNull is s, or null when s is empty.
func stringOrNull(s string) runtime.Value {
	if s == "" {
		return runtime.Null()
	}
	return runtime.String(s)
}
