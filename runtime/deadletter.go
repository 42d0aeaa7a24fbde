package runtime

import (
	"strings"
	"time"
)

// DeadLetterInfo is what a dead letter says about a failure.
type DeadLetterInfo struct {
	Pipeline string
	// Stage is the transform that failed; "" when the sink failed.
	Stage string
	// Error is the failure's text, secrets already redacted.
	Error string
	// Time is when the record failed.
	Time time.Time
	// Mask lists field paths to replace by null (Settings.DeadLetterMask,
	// for records that failed inside the program).
	Mask []string
}

// DeadLetterSchema is the schema of every dead-letter record:
//
//	pipeline   string  the pipeline the record failed in
//	stage      string  the transform that failed; null when the sink failed
//	error      string  why (secrets redacted)
//	position   string  the record's source position as metadata.position
//	                   shows it (Position.String: the source's token, or
//	                   the decimal offset)
//	failed_at  string  when it failed (RFC 3339, milliseconds, UTC)
//	record     object  the record as a SourceEvent: event_type, stream,
//	                   namespace, timestamp, data (and metadata when it has any)
var DeadLetterSchema = NewSchema(
	Field{Name: "pipeline", Type: Type{Kind: KindString}},
	Field{Name: "stage", Type: Type{Kind: KindString}, Nullable: true},
	Field{Name: "error", Type: Type{Kind: KindString}},
	Field{Name: "position", Type: Type{Kind: KindString}},
	Field{Name: "failed_at", Type: Type{Kind: KindString}},
	Field{Name: "record", Type: Type{Kind: KindObject, Open: true}},
)

var sourceEventKeys = []string{"event_type", "stream", "namespace", "timestamp", "data", "metadata"}

// DeadLetterRecord returns the dead letter of r: a new record (sharing no
// mutable state with r) on r's stream and position, whose row follows
// DeadLetterSchema. Fields named by info.Mask are null in the embedded
// record.
func DeadLetterRecord(r *Record, info DeadLetterInfo) Record {
	after, before := r.After, r.Before
	if len(info.Mask) > 0 && r.Schema != nil {
		after, before = maskedCopy(r.Schema, after, info.Mask), maskedCopy(r.Schema, before, info.Mask)
	}
	ns := Null()
	if r.Namespace != "" {
		ns = String(r.Namespace)
	}
	var data Value
	switch {
	case r.Op == OpUpdate && before != nil:
		data = ObjectValue(&Object{Keys: []string{"before", "after"}, Values: []Value{rowValue(r.Schema, before), rowValue(r.Schema, after)}})
	case after != nil:
		data = rowValue(r.Schema, after)
	default:
		data = rowValue(r.Schema, before)
	}
	vals := []Value{String(r.Op.String()), String(r.Stream), ns, String(string(AppendTimestamp(nil, r.Time))), data, Absent()}
	if r.Meta != nil && len(r.Meta.Keys) > 0 {
		vals[5] = ObjectValue(&Object{Keys: append([]string(nil), r.Meta.Keys...), Values: append([]Value(nil), r.Meta.Values...)})
	}
	event := &Object{Keys: sourceEventKeys, Values: vals}
	stage := Null()
	if info.Stage != "" {
		stage = String(info.Stage)
	}
	return Record{
		Stream:    r.Stream,
		Namespace: r.Namespace,
		Op:        OpRecord,
		Schema:    DeadLetterSchema,
		After: []Value{
			String(info.Pipeline), stage, String(info.Error),
			String(r.Position.String()),
			String(string(AppendTimestamp(nil, info.Time))),
			ObjectValue(event),
		},
		Time:     info.Time,
		Position: r.Position,
	}
}

// rowValue turns a row into an object value, skipping absent fields.
func rowValue(s *Schema, row []Value) Value {
	if row == nil || s == nil {
		return Null()
	}
	o := NewObject(len(row))
	for i, v := range row {
		if v.Kind() == KindAbsent || i >= len(s.Fields) {
			continue
		}
		o.Keys = append(o.Keys, s.Fields[i].Name)
		o.Values = append(o.Values, v)
	}
	return ObjectValue(o)
}

// maskedCopy returns a copy of row with every path in mask set to null.
// A path is a top-level field name, or a field name and object keys
// joined by dots; a path that does not resolve leaves the row as it is.
func maskedCopy(s *Schema, row []Value, mask []string) []Value {
	if row == nil {
		return nil
	}
	out := append([]Value(nil), row...)
	for _, path := range mask {
		if i := s.Index(path); i >= 0 && i < len(out) {
			out[i] = nullValue(out[i])
			continue
		}
		parts := strings.Split(path, ".")
		if i := s.Index(parts[0]); i >= 0 && i < len(out) {
			out[i] = nullIn(out[i], parts[1:])
		}
	}
	return out
}

func nullValue(v Value) Value {
	if v.Kind() == KindAbsent {
		return v
	}
	return Null()
}

func nullIn(v Value, keys []string) Value {
	if len(keys) == 0 {
		return nullValue(v)
	}
	o := v.AsObject()
	j := o.Index(keys[0])
	if j < 0 {
		return v
	}
	return ObjectValue(o.With(keys[0], nullIn(o.Values[j], keys[1:])))
}
