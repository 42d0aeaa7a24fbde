package runtime

import "time"

// Op is what a record says happened to its row.
type Op uint8

// The record operations. OpRecord is a plain event with no change semantics
// (datagen outside CDC mode); the others are change events.
const (
	OpRecord Op = iota
	OpInsert
	OpUpdate
	OpDelete
	OpSnapshot
	OpTruncate
)

var opNames = [...]string{"record", "insert", "update", "delete", "snapshot", "truncate"}

// String returns the event_type name of op as the SourceEvent envelope
// spells it ("record", "insert", …).
func (op Op) String() string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return "unknown"
}

// Record is one event flowing through a pipeline.
//
// Ownership: a source fills records that the driver owns; a Program mutates
// the record in place (replacing Values, never mutating shared ones); a sink
// must not keep a Record or its slices after Write returns, because the
// driver reuses them for later batches.
type Record struct {
	Stream    string
	Namespace string
	Op        Op
	// Schema names the positions of After and Before. Records of one stream
	// share one *Schema.
	Schema *Schema
	// After is the row after the change (insert, update, record, snapshot);
	// nil for deletes.
	After []Value
	// Before is the row before the change (update, delete); nil otherwise.
	Before []Value
	// Time is the event time (when the source observed the change).
	Time     time.Time
	Position Position
	// Meta holds free metadata keys rendered under "metadata"; may be nil.
	Meta *Object
}

// Row returns the values that conditions and transforms read: After, or
// Before for a delete.
func (r *Record) Row() []Value {
	if r.After != nil {
		return r.After
	}
	return r.Before
}
