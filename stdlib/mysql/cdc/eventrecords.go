package cdc

import (
	"fmt"

	"github.com/rivven/rivven-connect/runtime"
)

// rowChunk is the most row images whose values are allocated at once.
const rowChunk = 64

// eventRecords builds the rows and the metadata of the records of one
// binlog rows event: rel's changes at the event at, decoded with the
// table map bt. The row images come decoded (im, rowimage.go), or as
// go-mysql's values (vals), which row converts: the values of up to
// rowChunk row images are allocated at once. The metadata objects of up
// to metaChunk records are allocated at once. A record keeps its chunks
// alive (sinks keep no records).
type eventRecords struct {
	eventMetaBlock
	rel *relation
	bt  *binlogTable
	im  *imageRows
	raw [][]any
	// vals is the rest of the current chunk of row values, left how
	// many row images are still to come (the size of the next chunk).
	vals []runtime.Value
	left int
}

// newEventRecords returns the builder of the records of a rows event
// whose row images are im, or go-mysql's raw when im is nil, in the
// transaction gtid ("" for none); step is the images per record (two per
// update).
func newEventRecords(rel *relation, bt *binlogTable, at token, gtid string, raw [][]any, im *imageRows, step int) *eventRecords {
	e := &eventRecords{rel: rel, bt: bt, im: im, raw: raw}
	e.left = e.images()
	e.init(rel, at, gtid, false)
	e.em.left = e.left / step
	return e
}

// images is the number of row images of the event.
func (e *eventRecords) images() int {
	if e.im != nil {
		return len(e.im.images)
	}
	return len(e.raw)
}

// meta builds a record's metadata (eventMeta.meta).
func (e *eventRecords) meta(row, before []runtime.Value) *runtime.Object {
	return e.em.meta(row, before)
}

// row returns row image i of the event, converted (binlogRow) when it
// came from go-mysql. The row has len == cap: appending to it copies it.
func (e *eventRecords) row(i int) ([]runtime.Value, error) {
	n := len(e.rel.cols)
	if e.im != nil {
		row := e.im.images[i]
		if len(row) != n {
			return nil, fmt.Errorf("mysql-cdc: table %s: a binlog row of %d values for %d columns", e.rel.t, len(row), n)
		}
		return row, nil
	}
	if len(e.vals) < n {
		k := min(max(e.left, 1), rowChunk)
		e.vals, e.left = make([]runtime.Value, k*n), e.left-k
	}
	row := e.vals[:n:n]
	e.vals = e.vals[n:]
	if err := e.rel.binlogRow(e.bt, e.raw[i], row); err != nil {
		return nil, err
	}
	return row, nil
}
