package runtime

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the compact JSON encoding of v to buf. Absent values
// encode as null (callers that own the field skip them instead). Floats use
// the shortest representation that round-trips; NaN and ±Inf, which JSON
// cannot express, encode as the strings "NaN", "Infinity" and "-Infinity".
// A value that carries its JSON text (Value.JSONText: parsed JSON) is
// written as that text, byte for byte.
func AppendJSON(buf []byte, v Value) []byte {
	return appendJSON(buf, v, "", 0)
}

// AppendJSONIndent is AppendJSON with nested values on their own lines,
// indented by indent per level, starting at depth. The JSON text a value
// carries is laid out the same way, its tokens unchanged.
func AppendJSONIndent(buf []byte, v Value, indent string, depth int) []byte {
	return appendJSON(buf, v, indent, depth)
}

func appendJSON(buf []byte, v Value, indent string, depth int) []byte {
	switch v.k {
	case KindNull, KindAbsent:
		return append(buf, "null"...)
	case KindBool:
		if v.n != 0 {
			return append(buf, "true"...)
		}
		return append(buf, "false"...)
	case KindInt:
		return strconv.AppendInt(buf, int64(v.n), 10)
	case KindFloat:
		if v.s != "" {
			return append(buf, v.s...)
		}
		return AppendJSONFloat(buf, math.Float64frombits(v.n))
	case KindString:
		if l, ok := v.x.(jsonLiteral); ok {
			return append(buf, l...)
		}
		return AppendJSONString(buf, v.s)
	case KindObject:
		if v.s != "" {
			return appendJSONText(buf, v.s, indent, depth)
		}
		o := v.AsObject()
		return AppendJSONFields(buf, o.Keys, o.Values, indent, depth)
	case KindArray:
		if v.s != "" {
			return appendJSONText(buf, v.s, indent, depth)
		}
		a := v.AsArray()
		if len(a) == 0 {
			return append(buf, "[]"...)
		}
		buf = append(buf, '[')
		for i, e := range a {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = newline(buf, indent, depth+1)
			buf = appendJSON(buf, e, indent, depth+1)
		}
		buf = newline(buf, indent, depth)
		return append(buf, ']')
	}
	return append(buf, "null"...)
}

// AppendJSONFields appends a JSON object built from parallel keys and
// values, skipping absent values.
func AppendJSONFields(buf []byte, keys []string, vals []Value, indent string, depth int) []byte {
	buf = append(buf, '{')
	first := true
	for i, v := range vals {
		if v.k == KindAbsent {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = newline(buf, indent, depth+1)
		buf = AppendJSONString(buf, keys[i])
		buf = append(buf, ':')
		if indent != "" {
			buf = append(buf, ' ')
		}
		buf = appendJSON(buf, v, indent, depth+1)
	}
	if !first {
		buf = newline(buf, indent, depth)
	}
	return append(buf, '}')
}

// AppendJSONRow appends the JSON object of a record row under schema s.
func AppendJSONRow(buf []byte, s *Schema, row []Value, indent string, depth int) []byte {
	if row == nil {
		return append(buf, "null"...)
	}
	buf = append(buf, '{')
	first := true
	for i, v := range row[:min(len(row), len(s.Fields))] { // values past the schema have no name
		if v.k == KindAbsent {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = newline(buf, indent, depth+1)
		buf = AppendJSONString(buf, s.Fields[i].Name)
		buf = append(buf, ':')
		if indent != "" {
			buf = append(buf, ' ')
		}
		buf = appendJSON(buf, v, indent, depth+1)
	}
	if !first {
		buf = newline(buf, indent, depth)
	}
	return append(buf, '}')
}

// appendJSONText appends the compact JSON text t (from ParseJSON); with an
// indent, laid out as appendJSON lays out objects and arrays: each member
// on its own line, ": " after keys, empty ones as {} and [].
func appendJSONText(buf []byte, t string, indent string, depth int) []byte {
	if indent == "" {
		return append(buf, t...)
	}
	start := 0 // of the bytes not yet copied
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch c {
		case '"':
			for i++; i < len(t) && t[i] != '"'; i++ {
				if t[i] == '\\' {
					i++
				}
			}
			continue
		case '{', '[':
			if i+1 < len(t) && (t[i+1] == '}' || t[i+1] == ']') {
				i++
				continue
			}
			buf = append(buf, t[start:i+1]...)
			depth++
			buf = newline(buf, indent, depth)
		case '}', ']':
			buf = append(buf, t[start:i]...)
			depth--
			buf = newline(buf, indent, depth)
			buf = append(buf, c)
		case ',':
			buf = append(buf, t[start:i+1]...)
			buf = newline(buf, indent, depth)
		case ':':
			buf = append(buf, t[start:i+1]...)
			buf = append(buf, ' ')
		default:
			continue
		}
		start = i + 1
	}
	return append(buf, t[start:]...)
}

func newline(buf []byte, indent string, depth int) []byte {
	if indent == "" {
		return buf
	}
	buf = append(buf, '\n')
	for range depth {
		buf = append(buf, indent...)
	}
	return buf
}

// AppendJSONFloat appends f the way encoding/json does (shortest
// round-trip form, exponent outside [1e-6, 1e21)), with NaN and infinities as
// strings.
func AppendJSONFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(buf)
		if n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

const hexDigits = "0123456789abcdef"

// jsonSafe[b] is true when ASCII byte b needs no escaping in a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = i != '"' && i != '\\' && i != '<' && i != '>' && i != '&'
	}
	return t
}()

// AppendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD; <, > and & are escaped as encoding/json does, so output is safe to
// embed in HTML.
func AppendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
