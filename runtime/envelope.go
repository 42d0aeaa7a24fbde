package runtime

import (
	"strconv"
	"time"
)

// AppendTimestamp appends t in UTC as RFC 3339 with milliseconds
// ("2006-01-02T15:04:05.000Z"), the form every envelope uses.
func AppendTimestamp(buf []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(buf, "2006-01-02T15:04:05.000Z07:00")
	}
	// Years 0–9999 by hand: a quarter of AppendFormat's time, on every
	// record of every envelope.
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(buf, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// AppendData appends the "data" of the SourceEvent envelope: the row, or for
// an update {"before":…,"after":…}, or for a delete the old row.
func AppendData(buf []byte, r *Record, indent string, depth int) []byte {
	switch {
	case r.Op == OpUpdate && r.Before != nil:
		buf = append(buf, '{')
		buf = newline(buf, indent, depth+1)
		buf = append(buf, `"before":`...)
		if indent != "" {
			buf = append(buf, ' ')
		}
		buf = AppendJSONRow(buf, r.Schema, r.Before, indent, depth+1)
		buf = append(buf, ',')
		buf = newline(buf, indent, depth+1)
		buf = append(buf, `"after":`...)
		if indent != "" {
			buf = append(buf, ' ')
		}
		buf = AppendJSONRow(buf, r.Schema, r.After, indent, depth+1)
		buf = newline(buf, indent, depth)
		return append(buf, '}')
	default:
		return AppendJSONRow(buf, r.Schema, r.Row(), indent, depth)
	}
}

// AppendMetadata appends the "metadata" object of the SourceEvent envelope:
// position (a string: the source's token, or the decimal offset — see
// Position.String), sequence (the offset, a number), then the record's free
// keys.
func AppendMetadata(buf []byte, r *Record) []byte {
	buf = append(buf, `{"position":`...)
	buf = r.Position.appendQuoted(buf)
	buf = append(buf, `,"sequence":`...)
	buf = strconv.AppendUint(buf, r.Position.Offset, 10)
	if r.Meta != nil {
		for i, k := range r.Meta.Keys {
			if r.Meta.Values[i].k == KindAbsent {
				continue
			}
			buf = append(buf, ',')
			buf = AppendJSONString(buf, k)
			buf = append(buf, ':')
			buf = AppendJSON(buf, r.Meta.Values[i])
		}
	}
	return append(buf, '}')
}

// AppendSourceEvent appends r as one compact SourceEvent JSON object, the
// envelope the original rivven-connect publishes:
//
//	{"event_type":…,"stream":…,"namespace":…|null,"timestamp":…,"data":…,"metadata":…}
//
// metadata is included only when withMeta is set, timestamp only when
// withTime is.
func AppendSourceEvent(buf []byte, r *Record, withMeta, withTime bool) []byte {
	buf = append(buf, `{"event_type":"`...)
	buf = append(buf, r.Op.String()...)
	buf = append(buf, `","stream":`...)
	buf = AppendJSONString(buf, r.Stream)
	buf = append(buf, `,"namespace":`...)
	if r.Namespace == "" {
		buf = append(buf, "null"...)
	} else {
		buf = AppendJSONString(buf, r.Namespace)
	}
	if withTime {
		buf = append(buf, `,"timestamp":"`...)
		buf = AppendTimestamp(buf, r.Time)
		buf = append(buf, '"')
	}
	buf = append(buf, `,"data":`...)
	buf = AppendData(buf, r, "", 0)
	if withMeta {
		buf = append(buf, `,"metadata":`...)
		buf = AppendMetadata(buf, r)
	}
	return append(buf, '}')
}
