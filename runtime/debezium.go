package runtime

import "strconv"

// DebeziumOp returns the Debezium operation code of op: "c" (insert, and
// plain records, which are new facts), "u" (update), "d" (delete), "r"
// (snapshot read) or "t" (truncate).
func DebeziumOp(op Op) string {
	switch op {
	case OpUpdate:
		return "u"
	case OpDelete:
		return "d"
	case OpSnapshot:
		return "r"
	case OpTruncate:
		return "t"
	}
	return "c"
}

// AppendDebezium appends r as one compact Debezium-style change event:
//
//	{"before":…|null,"after":…|null,"source":{…},"op":"c|u|d|r|t","ts_ms":…}
//
// before is the old row (updates that carry it, deletes), after the new
// row (null for deletes and truncates). source describes where the event
// comes from: "connector" ("rivven-connect"), "name" (the stream),
// "schema" (the namespace, or null), "table" (the stream after its last
// '.'), "ts_ms" (event time), "sequence" (the position, a decimal string),
// "event_type" (the SourceEvent event_type, so that a plain record survives
// the round trip), then the record's metadata keys (except those that
// would repeat one of these). The top-level ts_ms is
// the event time too (not the time of encoding), so the same record always
// encodes to the same bytes.
func AppendDebezium(buf []byte, r *Record) []byte {
	buf = append(buf, `{"before":`...)
	if r.Before != nil && (r.Op == OpUpdate || r.Op == OpDelete) {
		buf = AppendJSONRow(buf, r.Schema, r.Before, "", 0)
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"after":`...)
	if r.After != nil && r.Op != OpDelete && r.Op != OpTruncate {
		buf = AppendJSONRow(buf, r.Schema, r.After, "", 0)
	} else {
		buf = append(buf, "null"...)
	}
	ms := r.Time.UnixMilli()
	buf = append(buf, `,"source":{"connector":"rivven-connect","name":`...)
	buf = AppendJSONString(buf, r.Stream)
	buf = append(buf, `,"schema":`...)
	if r.Namespace == "" {
		buf = append(buf, "null"...)
	} else {
		buf = AppendJSONString(buf, r.Namespace)
	}
	table := r.Stream
	for i := len(table) - 1; i >= 0; i-- {
		if table[i] == '.' {
			table = table[i+1:]
			break
		}
	}
	buf = append(buf, `,"table":`...)
	buf = AppendJSONString(buf, table)
	buf = append(buf, `,"ts_ms":`...)
	buf = strconv.AppendInt(buf, ms, 10)
	buf = append(buf, `,"sequence":"`...)
	buf = strconv.AppendUint(buf, r.Position.Offset, 10)
	buf = append(buf, `","event_type":"`...)
	buf = append(buf, r.Op.String()...)
	buf = append(buf, '"')
	if r.Meta != nil {
		for i, k := range r.Meta.Keys {
			if r.Meta.Values[i].k == KindAbsent || debeziumSourceKey(k) {
				continue
			}
			buf = append(buf, ',')
			buf = AppendJSONString(buf, k)
			buf = append(buf, ':')
			buf = AppendJSON(buf, r.Meta.Values[i])
		}
	}
	buf = append(buf, `},"op":"`...)
	buf = append(buf, DebeziumOp(r.Op)...)
	buf = append(buf, `","ts_ms":`...)
	buf = strconv.AppendInt(buf, ms, 10)
	return append(buf, '}')
}

func debeziumSourceKey(k string) bool {
	switch k {
	case "connector", "name", "schema", "table", "ts_ms", "sequence", "event_type":
		return true
	}
	return false
}
