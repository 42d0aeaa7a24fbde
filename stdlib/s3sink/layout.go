package s3sink

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Layout: an object's key is Prefix + "/" + the key template rendered for
// the object's first record. The template's variables:
//
//	{stream} {namespace}  the record's stream and namespace
//	{date} {hour}         its event time (UTC) as YYYY-MM-DD and HH
//	{year} {month} {day}  YYYY, MM, DD of the event time
//	{part}                the record's source partition (metadata key
//	                      "partition", an int); 0 for sources without one
//	{position}            the first record's position (its token, else its
//	                      offset)
//	{ext}                 jsonl (jsonl.gz, jsonl.zst), avro or parquet
//
// Values are escaped for keys: bytes outside [A-Za-z0-9._=-] become %XX,
// so a token holding "/" stays one path segment. Records go to the same
// object when the template renders the same for them with {position} left
// out (same stream, time partition, …) and they have the same schema.

// tmplPart is one literal or variable of a parsed template.
type tmplPart struct {
	lit string
	v   string // variable name; "" for a literal
}

var tmplVars = map[string]bool{"stream": true, "namespace": true, "date": true, "hour": true,
	"year": true, "month": true, "day": true, "part": true, "position": true, "ext": true}

// parseTemplate splits t into literals and variables; it must hold
// {position} (keys must differ for every object).
func parseTemplate(t string) ([]tmplPart, error) {
	var out []tmplPart
	hasPos := false
	for t != "" {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			out = append(out, tmplPart{lit: t})
			break
		}
		if i > 0 {
			out = append(out, tmplPart{lit: t[:i]})
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed { in %q", t)
		}
		name := t[i+1 : i+j]
		if !tmplVars[name] {
			return nil, fmt.Errorf("unknown variable {%s}: want one of {stream} {namespace} {date} {hour} {year} {month} {day} {part} {position} {ext}", name)
		}
		hasPos = hasPos || name == "position"
		out = append(out, tmplPart{v: name})
		t = t[i+j+1:]
	}
	if !hasPos {
		return nil, fmt.Errorf("%q lacks {position}: every object needs a key of its own", t)
	}
	return out, nil
}

// render renders the template for r; with pos false it leaves {position}
// out (the object's group), else it writes first's position.
func render(b []byte, parts []tmplPart, r *runtime.Record, ext string, pos bool, first runtime.Position) []byte {
	t := r.Time.UTC()
	y, mo, d := t.Date()
	for _, p := range parts {
		switch p.v {
		case "":
			b = append(b, p.lit...)
		case "stream":
			b = escapeKey(b, r.Stream)
		case "namespace":
			b = escapeKey(b, r.Namespace)
		case "date":
			b = append(appendYear(b, t, y), '-', digit(int(mo)/10), digit(int(mo)%10), '-', digit(d/10), digit(d%10))
		case "hour":
			b = append(b, digit(t.Hour()/10), digit(t.Hour()%10))
		case "year":
			b = appendYear(b, t, y)
		case "month":
			b = append(b, digit(int(mo)/10), digit(int(mo)%10))
		case "day":
			b = append(b, digit(d/10), digit(d%10))
		case "part":
			b = strconv.AppendInt(b, partition(r), 10)
		case "position":
			if pos {
				b = escapeKey(b, first.String())
			} else {
				b = append(b, '\x00')
			}
		case "ext":
			b = append(b, ext...)
		}
	}
	return b
}

// appendYear appends year y of t as time.Format's "2006" writes it:
// four digits, the rare years outside 0…9999 as time writes them.
func appendYear(b []byte, t time.Time, y int) []byte {
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "2006")
	}
	return append(b, digit(y/1000), digit(y/100%10), digit(y/10%10), digit(y%10))
}

func digit(n int) byte { return byte('0' + n) }

// partition is the record's source partition, 0 when it has none.
func partition(r *runtime.Record) int64 {
	if r.Meta != nil {
		if v, ok := r.Meta.Get("partition"); ok && v.Kind() == runtime.KindInt {
			return v.AsInt()
		}
	}
	return 0
}

func escapeKey(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '=' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return b
}

// joinKey joins the prefix and a rendered key.
func joinKey(prefix, key string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return key
	}
	return prefix + "/" + key
}

// groupKeys renders the group keys of records (the template without
// {position}; see render), again only when a variable the template reads
// differs from the last record's: records of one write mostly share
// them, and rendering the template for each cost a tenth of encoding the
// record's JSON line. Records in the same UTC hour have the same {date},
// {hour}, {year}, {month} and {day}.
type groupKeys struct {
	usesPart   bool // the template has {part}
	ok         bool // the fields below are the last record's
	stream, ns string
	part, hour int64
	key        string // its group key
	buf        []byte
}

func newGroupKeys(tmpl []tmplPart) groupKeys {
	k := groupKeys{}
	for _, p := range tmpl {
		k.usesPart = k.usesPart || p.v == "part"
	}
	return k
}

// of returns the group key of r.
func (k *groupKeys) of(tmpl []tmplPart, r *runtime.Record) string {
	hour := r.Time.Unix() / 3600
	if r.Time.Unix()%3600 < 0 {
		hour-- // before 1970: round down too
	}
	var part int64
	if k.usesPart {
		part = partition(r)
	}
	if k.ok && hour == k.hour && part == k.part && r.Stream == k.stream && r.Namespace == k.ns {
		return k.key
	}
	k.buf = render(k.buf[:0], tmpl, r, "", false, runtime.Position{})
	if k.key != string(k.buf) {
		k.key = string(k.buf)
	}
	k.ok, k.stream, k.ns, k.part, k.hour = true, r.Stream, r.Namespace, part, hour
	return k.key
}
