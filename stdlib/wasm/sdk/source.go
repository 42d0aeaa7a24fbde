package sdk

import (
	"fmt"
	"slices"
	"time"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// SourceRecord is a record a source's Poll returns.
type SourceRecord struct {
	// Stream (and Namespace) name one of the manifest's Streams.
	Stream, Namespace string
	// Op is what happened (the zero value is abi.OpRecord, a plain
	// record; a change-data source says OpInsert, OpUpdate, ...).
	Op abi.Op
	// Time is the event time; the zero Time means none.
	Time time.Time
	// Position is the record's resume point: the host hands it back to
	// Ack once the record is delivered, and to Init (as Resume) on a
	// restart. Keep it small and self-contained (an offset, a cursor).
	Position []byte
	// After and Before are the rows, fields in order (Field builds one);
	// nil for none. When both are set they have the same field names.
	// Records whose field names are their stream's declared fields, in
	// order, are typed as declared: a value of another type is an error.
	After, Before []Member
	// Meta is free metadata; nil for none.
	Meta []Member
}

// sourceBatch turns Poll's records into a batch, one schema per distinct
// field list.
func (p *plugin) sourceBatch(recs []SourceRecord) (*Batch, error) {
	b := NewBatch(&abi.Batch{Records: make([]abi.Record, len(recs))})
	var names []string
	for i := range recs {
		sr := &recs[i]
		r := &b.raw.Records[i]
		*r = abi.Record{Stream: sr.Stream, Namespace: sr.Namespace, Op: sr.Op, Position: sr.Position, Meta: sr.Meta}
		if !sr.Time.IsZero() {
			r.TimeNanos, r.HasTime = sr.Time.UnixNano(), true
		}
		row := sr.After
		if row == nil {
			row = sr.Before
		}
		names = names[:0]
		for _, m := range row {
			names = append(names, m.Key)
		}
		if sr.After != nil && sr.Before != nil && !sameKeys(sr.After, sr.Before) {
			return nil, fmt.Errorf("record %d of Poll (stream %q): its before row has other fields than its after row", i, sr.Stream)
		}
		d := p.streams[streamKey{sr.Namespace, sr.Stream}]
		var s abi.Schema
		if d != nil && slices.Equal(names, d.names) {
			s = d.schema
			for _, row := range [][]Member{sr.After, sr.Before} {
				for j, m := range row {
					if f := s.Fields[j]; !fits(f, m.Value) {
						return nil, fmt.Errorf("record %d of Poll (stream %q): field %q holds a %s; the manifest declares %s", i, sr.Stream, f.Name, m.Value.Kind, declaredType(f))
					}
				}
			}
		} else {
			s.Fields = make([]abi.Field, len(names))
			for j, n := range names {
				s.Fields[j] = abi.Field{Name: n, Kind: abi.KindNull, Nullable: true}
			}
			if d != nil {
				for _, k := range d.key {
					if j := slices.Index(names, k); j >= 0 {
						s.Key = append(s.Key, j)
					}
				}
			}
		}
		r.Schema = b.intern(s)
		r.After = values(sr.After)
		r.Before = values(sr.Before)
	}
	return b, nil
}

func sameKeys(a, b []Member) bool {
	return slices.EqualFunc(a, b, func(x, y Member) bool { return x.Key == y.Key })
}

func values(row []Member) []Value {
	if row == nil {
		return nil
	}
	out := make([]Value, len(row))
	for i, m := range row {
		out[i] = m.Value
	}
	return out
}

// fits reports whether v may be a value of field f.
func fits(f abi.Field, v Value) bool {
	switch v.Kind {
	case abi.KindNull:
		return f.Nullable || f.Kind == abi.KindNull
	case abi.KindAbsent:
		return true
	}
	return f.Kind == abi.KindNull || f.Kind == v.Kind
}

func declaredType(f abi.Field) string {
	t := f.Kind.String()
	if f.Kind == abi.KindNull {
		t = "any"
	}
	if f.Nullable {
		return "a nullable " + t
	}
	return t
}
