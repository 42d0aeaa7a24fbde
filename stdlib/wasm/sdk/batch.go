package sdk

import (
	"iter"
	"slices"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Batch is the records of one call. Edit records through Record; every
// edit that changes a record's field list (Set of a new field, Rename,
// Delete, a value of another type) gives the record a schema of the batch
// with that list, shared by the records edited the same way.
//
// A Batch the SDK passes to a TransformFunc or SinkFunc, its records and
// their rows are valid during that call only: the next call reuses their
// memory. Strings read from it stay valid (see the package doc, "What
// outlives a call").
type Batch struct {
	raw     *abi.Batch
	index   map[string]int  // a schema's encoding → its first index
	indexed bool            // index holds raw's schemas
	edits   map[editKey]int // (schema, edit) → the edited schema's index
	last    editKey         // the last edit derived, and its schema
	lastTo  int
	hasLast bool
	added   bool   // schemas were appended: compact before encoding
	sig     []byte // scratch: a schema's encoding
	to      []int  // scratch: compact's old index → new
}

// NewBatch wraps raw for editing (the SDK does it for each call; plugin
// tests use it to drive a TransformFunc or SinkFunc natively). Edits
// change raw in place and may append schemas to it.
func NewBatch(raw *abi.Batch) *Batch { return &Batch{raw: raw} }

// reset makes b a new wrapper of raw, keeping its memory.
func (b *Batch) reset(raw *abi.Batch) {
	clear(b.index)
	clear(b.edits)
	*b = Batch{raw: raw, index: b.index, edits: b.edits, sig: b.sig, to: b.to}
}

// Raw is the batch as the ABI models it, for what the helpers do not
// cover (adding or reordering records, editing Meta). Keep every
// record's values one per field of its schema.
func (b *Batch) Raw() *abi.Batch { return b.raw }

// Len is the number of records.
func (b *Batch) Len() int { return len(b.raw.Records) }

// Record is the i-th record, 0 <= i < Len().
func (b *Batch) Record(i int) Record { return Record{b, &b.raw.Records[i]} }

// All yields every record with its index, in order.
func (b *Batch) All() iter.Seq2[int, Record] {
	return func(yield func(int, Record) bool) {
		for i := range b.raw.Records {
			if !yield(i, Record{b, &b.raw.Records[i]}) {
				return
			}
		}
	}
}

// Record is one record of a Batch: a view whose edits change the batch.
// After and Before rows share the record's schema, so a field exists in
// both or in neither.
type Record struct {
	b *Batch
	r *abi.Record
}

// Raw is the record as the ABI models it.
func (r Record) Raw() *abi.Record { return r.r }

// Stream is the name of the record's stream.
func (r Record) Stream() string { return r.r.Stream }

// Op is what the record says happened.
func (r Record) Op() abi.Op { return r.r.Op }

// Position is the record's position bytes (set by the host on records a
// sink receives; empty for transforms). Valid during the call only.
func (r Record) Position() []byte { return r.r.Position }

// Fields is the record's schema's fields, in order. Do not modify it.
func (r Record) Fields() []abi.Field { return r.b.raw.Schemas[r.r.Schema].Fields }

// Get returns the after row's value of field name; false when the record
// has no such field, no after row, or the field is absent.
func (r Record) Get(name string) (Value, bool) { return r.get(r.r.After, name) }

// GetBefore is Get on the before row.
func (r Record) GetBefore(name string) (Value, bool) { return r.get(r.r.Before, name) }

func (r Record) get(row []Value, name string) (Value, bool) {
	if row == nil { // before looking for the field: GetBefore of an insert is common
		return Value{}, false
	}
	i := r.field(name)
	if i < 0 || row[i].Kind == abi.KindAbsent {
		return Value{}, false
	}
	return row[i], true
}

// field is the position of field name in the record's schema, or -1.
func (r Record) field(name string) int {
	for i, f := range r.Fields() {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// After is the after row as members in field order, absent fields left
// out; nil when the record has none (a delete).
func (r Record) After() []Member { return r.members(r.r.After) }

// Before is After for the before row (nil for an insert).
func (r Record) Before() []Member { return r.members(r.r.Before) }

func (r Record) members(row []Value) []Member {
	if row == nil {
		return nil
	}
	fs := r.Fields()
	out := make([]Member, 0, len(row))
	for i, v := range row {
		if v.Kind != abi.KindAbsent {
			out = append(out, Member{Key: fs[i].Name, Value: v})
		}
	}
	return out
}

// Set sets field name of the after row to v, appending the field when the
// record has none (the before row, if any, gets null there). A record
// without an after row (a delete) is left as it is. When v's type is not
// the one the schema gives the field, the record's schema types the field
// as "any" (or nullable for a null): the schema never contradicts a
// value.
func (r Record) Set(name string, v Value) { r.set(false, name, v) }

// SetBefore is Set on the before row (the after row, if any, gets null
// in a new field); a record without a before row is left as it is.
func (r Record) SetBefore(name string, v Value) { r.set(true, name, v) }

func (r Record) set(before bool, name string, v Value) {
	row, other := &r.r.After, &r.r.Before
	if before {
		row, other = other, row
	}
	if *row == nil {
		return
	}
	i := r.field(name)
	if i < 0 {
		f := abi.Field{Name: name, Kind: v.Kind, Nullable: v.Kind == abi.KindNull || *other != nil}
		if v.Kind == abi.KindAbsent {
			f.Kind, f.Nullable = abi.KindNull, true
		}
		r.r.Schema = r.b.derive(r.r.Schema, edit{op: editAppend, field: f})
		*row = append(*row, v)
		if *other != nil {
			*other = append(*other, Value{})
		}
		return
	}
	old := r.Fields()[i]
	if f, changed := retype(old, v); changed {
		r.r.Schema = r.b.derive(r.r.Schema, edit{op: editRetype, at: i, field: f})
	}
	(*row)[i] = v
}

// retype is the field old becomes when it holds v, and whether it
// changed.
func retype(old abi.Field, v Value) (abi.Field, bool) {
	switch {
	case v.Kind == abi.KindAbsent, old.Kind == abi.KindNull && old.Nullable:
		return old, false
	case v.Kind == abi.KindNull:
		if old.Nullable {
			return old, false
		}
		old.Nullable = true
		return old, true
	case old.Kind == abi.KindNull, old.Kind == v.Kind:
		return old, false
	}
	return abi.Field{Name: old.Name, Kind: abi.KindNull, Nullable: true}, true
}

// Rename renames field from to to, keeping its position and values; a
// field already named to is deleted first. It reports whether the record
// has a field from.
func (r Record) Rename(from, to string) bool {
	i := r.field(from)
	if i < 0 {
		return false
	}
	if from == to {
		return true
	}
	if r.field(to) >= 0 {
		r.Delete(to)
		i = r.field(from)
	}
	r.r.Schema = r.b.derive(r.r.Schema, edit{op: editRename, at: i, name: to})
	return true
}

// Delete removes field name from the record (both rows, and the schema's
// key if the field is part of it). It reports whether the record had it.
func (r Record) Delete(name string) bool {
	i := r.field(name)
	if i < 0 {
		return false
	}
	r.r.Schema = r.b.derive(r.r.Schema, edit{op: editDelete, at: i})
	if r.r.After != nil {
		r.r.After = slices.Delete(r.r.After, i, i+1)
	}
	if r.r.Before != nil {
		r.r.Before = slices.Delete(r.r.Before, i, i+1)
	}
	return true
}

// Drop drops the record (abi.RecordDrop): it goes no further.
func (r Record) Drop() { r.r.Status, r.r.Error = abi.RecordDrop, "" }

// Fail fails the record alone (abi.RecordError) with msg as the reason;
// the pipeline's on_error decides what happens to it.
func (r Record) Fail(msg string) { r.r.Status, r.r.Error = abi.RecordError, msg }

type editOp uint8

const (
	editAppend editOp = iota // add field at the end
	editRetype               // replace field at with field
	editRename               // rename field at to name
	editDelete               // remove field at
)

// edit is one change to a schema's field list.
type edit struct {
	op    editOp
	at    int
	name  string
	field abi.Field
}

type editKey struct {
	si int
	e  edit
}

// derive returns the index of schema si changed by e, appending the
// schema when the batch has none like it.
func (b *Batch) derive(si int, e edit) int {
	k := editKey{si, e}
	if b.hasLast && b.last == k { // records in a row edited alike
		return b.lastTo
	}
	i, ok := b.edits[k]
	if !ok {
		i = b.edit(si, e)
		if b.edits == nil {
			b.edits = map[editKey]int{}
		}
		b.edits[k] = i
	}
	b.last, b.lastTo, b.hasLast = k, i, true
	return i
}

// edit appends (or finds) the schema si changed by e.
func (b *Batch) edit(si int, e edit) int {
	old := b.raw.Schemas[si]
	s := abi.Schema{Fields: slices.Clone(old.Fields), Key: slices.Clone(old.Key)}
	switch e.op {
	case editAppend:
		s.Fields = append(s.Fields, e.field)
	case editRetype:
		s.Fields[e.at] = e.field
	case editRename:
		s.Fields[e.at].Name = e.name
	case editDelete:
		s.Fields = slices.Delete(s.Fields, e.at, e.at+1)
		s.Key = slices.DeleteFunc(s.Key, func(k int) bool { return k == e.at })
		for j, k := range s.Key {
			if k > e.at {
				s.Key[j] = k - 1
			}
		}
	}
	return b.intern(s)
}

// intern returns the index of a schema equal to s, appending s if none.
func (b *Batch) intern(s abi.Schema) int {
	if !b.indexed {
		if b.index == nil {
			b.index = make(map[string]int, len(b.raw.Schemas))
		}
		for i := range b.raw.Schemas {
			b.sig = abi.AppendSchema(b.sig[:0], &b.raw.Schemas[i])
			if _, ok := b.index[string(b.sig)]; !ok {
				b.index[string(b.sig)] = i
			}
		}
		b.indexed = true
	}
	b.sig = abi.AppendSchema(b.sig[:0], &s)
	if i, ok := b.index[string(b.sig)]; ok {
		return i
	}
	i := len(b.raw.Schemas)
	b.raw.Schemas = append(b.raw.Schemas, s)
	b.index[string(b.sig)] = i
	b.added = true
	return i
}

// unused marks a schema no record uses in compact.
const unused = -1

// compact removes the schemas no record uses, once edits added some.
func (b *Batch) compact() {
	if !b.added {
		return
	}
	to := b.to[:0] // old index → new, or unused
	for range b.raw.Schemas {
		to = append(to, unused)
	}
	b.to = to
	for i := range b.raw.Records {
		to[b.raw.Records[i].Schema] = 0
	}
	n := 0
	for i, t := range to {
		if t != unused {
			b.raw.Schemas[n] = b.raw.Schemas[i]
			to[i] = n
			n++
		}
	}
	if n == len(b.raw.Schemas) {
		return
	}
	clear(b.raw.Schemas[n:])
	b.raw.Schemas = b.raw.Schemas[:n]
	for i := range b.raw.Records {
		b.raw.Records[i].Schema = to[b.raw.Records[i].Schema]
	}
	clear(b.index)
	clear(b.edits)
	b.indexed, b.hasLast, b.added = false, false, false
}
