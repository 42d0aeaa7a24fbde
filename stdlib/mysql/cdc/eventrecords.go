package cdc

import "github.com/rivven/rivven-connect/runtime"

// rowChunk is the most row images whose values are allocated at once.
const rowChunk = 64

// eventRecords builds the rows and the metadata of the records of one
// binlog rows event: rel's changes at the event at, decoded with the
// table map bt. The values of up to rowChunk row images, and the
// metadata objects of up to metaChunk records, are allocated at once; a
// record keeps its chunks alive (sinks keep no records).
type eventRecords struct {
	eventMetaBlock
	rel *relation
	bt  *binlogTable
	// vals is the rest of the current chunk of row values, images how
	// many row images are still to come (the size of the next chunk).
	vals   []runtime.Value
	images int
}

// newEventRecords returns the builder of the records of a rows event of
// images row images (two per update) for records records, in the
// transaction gtid ("" for none).
func newEventRecords(rel *relation, bt *binlogTable, at token, gtid string, images, records int) *eventRecords {
	e := &eventRecords{rel: rel, bt: bt, images: images}
	e.init(rel, at, gtid, false)
	e.em.left = records
	return e
}

// meta builds a record's metadata (eventMeta.meta).
func (e *eventRecords) meta(row, before []runtime.Value) *runtime.Object {
	return e.em.meta(row, before)
}

// row converts a row image of the event (binlogRow). The row has
// len == cap: appending to it copies it.
func (e *eventRecords) row(vals []any) ([]runtime.Value, error) {
	n := len(e.rel.cols)
	if len(e.vals) < n {
		k := min(max(e.images, 1), rowChunk)
		e.vals, e.images = make([]runtime.Value, k*n), e.images-k
	}
	row := e.vals[:n:n]
	e.vals = e.vals[n:]
	if err := e.rel.binlogRow(e.bt, vals, row); err != nil {
		return nil, err
	}
	return row, nil
}
