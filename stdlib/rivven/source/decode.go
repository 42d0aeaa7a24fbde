package source

import (
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// decoder turns broker messages back into records. It recognises the
// three formats the rivven sink writes, by their shape:
//
//   - SourceEvent (an object with "event_type" and "data"): stream,
//     namespace, operation, timestamp, the row (or {"before","after"} of an
//     update, the old row of a delete) and metadata (without "position" and
//     "sequence", which the record's new position replaces);
//   - Debezium (an object with "op", "source" and "before"/"after"): the
//     rows, the operation (source.event_type when present, else op),
//     stream (source.name), namespace (source.schema), time (ts_ms) and the
//     other source keys as metadata;
//   - anything else: a JSON object is the row of a plain record of stream
//     <topic>; any other value becomes the row {"value": …} (the JSON value,
//     or the bytes as a string when they are not JSON).
//
// Field order is kept. Values are decoded by runtime.ParseJSON, so they
// keep their JSON text: a number that an int64 or a float64 does not carry
// exactly (18446744073709551616, 0.1000000000000000000001, 1.0) and a json
// value (repeated keys and all) are written again as they were read. Each
// distinct list of field names of a stream gets one shared *runtime.Schema
// whose fields have type any.
type decoder struct {
	schemas map[string][]*runtime.Schema // by stream
}

func (d *decoder) decode(r *runtime.Record, topic string, m *wire.MessageData) {
	*r = runtime.Record{Stream: topic, Op: runtime.OpRecord, Time: time.UnixMilli(m.Timestamp).UTC()}
	v, err := runtime.ParseJSON(m.Value)
	if err != nil {
		d.setRow(r, nil, valueRow(runtime.String(string(m.Value))))
		return
	}
	o := v.AsObject()
	switch {
	case o == nil:
		d.setRow(r, nil, valueRow(v))
	case has(o, "event_type") && has(o, "data"):
		d.sourceEvent(r, o)
	case has(o, "op") && has(o, "source") && (has(o, "after") || has(o, "before")):
		d.debezium(r, o)
	default:
		d.setRow(r, nil, o)
	}
}

func has(o *runtime.Object, k string) bool { return o.Index(k) >= 0 }

func valueRow(v runtime.Value) *runtime.Object {
	return &runtime.Object{Keys: []string{"value"}, Values: []runtime.Value{v}}
}

var opsByName = map[string]runtime.Op{
	"record": runtime.OpRecord, "insert": runtime.OpInsert, "update": runtime.OpUpdate,
	"delete": runtime.OpDelete, "snapshot": runtime.OpSnapshot, "truncate": runtime.OpTruncate,
}

func (d *decoder) sourceEvent(r *runtime.Record, o *runtime.Object) {
	if v, _ := o.Get("event_type"); v.Kind() == runtime.KindString {
		r.Op = opsByName[v.AsString()] // state, log, schema, unknown: plain records
	}
	if v, _ := o.Get("stream"); v.Kind() == runtime.KindString {
		r.Stream = v.AsString()
	}
	if v, _ := o.Get("namespace"); v.Kind() == runtime.KindString {
		r.Namespace = v.AsString()
	}
	if v, _ := o.Get("timestamp"); v.Kind() == runtime.KindString {
		if t, err := time.Parse(time.RFC3339Nano, v.AsString()); err == nil {
			r.Time = t.UTC()
		}
	}
	if v, _ := o.Get("metadata"); v.Kind() == runtime.KindObject {
		r.Meta = without(v.AsObject(), "position", "sequence")
	}
	data, _ := o.Get("data")
	row := data.AsObject()
	if data.Kind() != runtime.KindObject && !data.IsNull() {
		row = valueRow(data)
	}
	switch r.Op {
	case runtime.OpUpdate:
		if row != nil && len(row.Keys) == 2 && row.Keys[0] == "before" && row.Keys[1] == "after" &&
			isRow(row.Values[0]) && isRow(row.Values[1]) {
			d.setRow(r, row.Values[0].AsObject(), row.Values[1].AsObject())
			return
		}
		d.setRow(r, nil, row)
	case runtime.OpDelete:
		d.setRow(r, row, nil)
	default:
		d.setRow(r, nil, row)
	}
}

func isRow(v runtime.Value) bool { return v.Kind() == runtime.KindObject || v.IsNull() }

var debeziumOps = map[string]runtime.Op{
	"c": runtime.OpInsert, "u": runtime.OpUpdate, "d": runtime.OpDelete, "r": runtime.OpSnapshot, "t": runtime.OpTruncate,
}

func (d *decoder) debezium(r *runtime.Record, o *runtime.Object) {
	if v, _ := o.Get("op"); v.Kind() == runtime.KindString {
		r.Op = debeziumOps[v.AsString()]
	}
	src, _ := o.Get("source")
	so := src.AsObject()
	if v, _ := so.Get("event_type"); v.Kind() == runtime.KindString {
		if op, ok := opsByName[v.AsString()]; ok {
			r.Op = op
		}
	}
	if v, _ := so.Get("name"); v.Kind() == runtime.KindString {
		r.Stream = v.AsString()
	}
	if v, _ := so.Get("schema"); v.Kind() == runtime.KindString {
		r.Namespace = v.AsString()
	}
	ts, ok := so.Get("ts_ms")
	if !ok {
		ts, _ = o.Get("ts_ms")
	}
	if ts.Kind() == runtime.KindInt {
		r.Time = time.UnixMilli(ts.AsInt()).UTC()
	}
	if so != nil {
		r.Meta = without(so, "connector", "name", "schema", "table", "ts_ms", "sequence", "event_type")
	}
	before, _ := o.Get("before")
	after, _ := o.Get("after")
	b, a := before.AsObject(), after.AsObject()
	if r.Op != runtime.OpUpdate && r.Op != runtime.OpDelete {
		b = nil
	}
	d.setRow(r, b, a)
}

// without copies o without keys; nil when nothing is left.
func without(o *runtime.Object, keys ...string) *runtime.Object {
	var out *runtime.Object
	for i, k := range o.Keys {
		skip := false
		for _, x := range keys {
			skip = skip || k == x
		}
		if skip {
			continue
		}
		if out == nil {
			out = runtime.NewObject(len(o.Keys) - i)
		}
		out.Keys = append(out.Keys, k)
		out.Values = append(out.Values, o.Values[i])
	}
	return out
}

// setRow sets r's schema and rows from the objects before and after
// (either may be nil). Fields are after's keys, then before's other keys;
// a field one row lacks is absent in it (encoders skip it).
func (d *decoder) setRow(r *runtime.Record, before, after *runtime.Object) {
	main := after
	if main == nil {
		main = before
	}
	if main == nil {
		r.Schema = d.schema(r.Stream, nil, nil)
		return
	}
	var extra []string
	if before != nil && after != nil {
		for _, k := range before.Keys {
			if after.Index(k) < 0 {
				extra = append(extra, k)
			}
		}
	}
	s := d.schema(r.Stream, main.Keys, extra)
	if after != nil {
		r.After = rowOf(s, after)
	}
	if before != nil {
		r.Before = rowOf(s, before)
	}
	r.Schema = s
}

func rowOf(s *runtime.Schema, o *runtime.Object) []runtime.Value {
	row := make([]runtime.Value, len(s.Fields))
	if len(o.Keys) == len(row) {
		same := true
		for i, k := range o.Keys {
			if s.Fields[i].Name != k {
				same = false
				break
			}
		}
		if same {
			copy(row, o.Values)
			return row
		}
	}
	for i, f := range s.Fields {
		if v, ok := o.Get(f.Name); ok {
			row[i] = v
		} else {
			row[i] = runtime.Absent()
		}
	}
	return row
}

// schema returns the shared schema of stream with fields names then extra.
func (d *decoder) schema(stream string, names, extra []string) *runtime.Schema {
	if d.schemas == nil {
		d.schemas = map[string][]*runtime.Schema{}
	}
	list := d.schemas[stream]
next:
	for _, s := range list {
		if len(s.Fields) != len(names)+len(extra) {
			continue
		}
		for i, n := range names {
			if s.Fields[i].Name != n {
				continue next
			}
		}
		for i, n := range extra {
			if s.Fields[len(names)+i].Name != n {
				continue next
			}
		}
		return s
	}
	fields := make([]runtime.Field, 0, len(names)+len(extra))
	for _, n := range names {
		fields = append(fields, runtime.Field{Name: n, Type: runtime.Any, Nullable: true})
	}
	for _, n := range extra {
		fields = append(fields, runtime.Field{Name: n, Type: runtime.Any, Nullable: true})
	}
	s := runtime.NewSchema(fields...)
	if len(list) < 64 { // a stream whose shape keeps changing is not cached forever
		d.schemas[stream] = append(list, s)
	}
	return s
}
