package runtime

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting ParseJSON accepts.
const maxJSONDepth = 1000

// ParseJSON decodes one JSON value (surrounding white space allowed) into a
// Value, keeping the key order of objects; a repeated key keeps its first
// position and its last value. A number without fraction or exponent that
// fits in 64 bits is an int, any other number a float; the strings that
// AppendJSON writes for NaN and infinities stay strings; invalid UTF-8 in
// strings becomes U+FFFD. Nesting deeper than 1000 is an error.
//
// The value keeps its JSON text exactly (Value.JSONText): each object and
// array its text as written, with the white space between tokens removed
// (so repeated keys, key order, number spellings and string escapes
// survive), each number that is not an int64 and whose text is not the
// shortest form of its float64 its decimal text (so
// "123456789012345678901234567890.5", "0.1000000000000000000001", "1.0",
// "1E+2" and "1e400" are written back as they came, while their float64
// — ±Inf beyond its range — is what conditions compare), and each string
// whose literal AppendJSONString would not reproduce ("\ud800") its
// literal. Inside strings, <, >, &, U+2028, U+2029 and invalid UTF-8 are
// escaped as AppendJSONString escapes them. So AppendJSON(ParseJSON(text))
// is text without its white space, and for any text AppendJSON wrote it is
// text itself.
func ParseJSON(data []byte) (Value, error) {
	text := compactJSON(data)
	v, err := parseJSON(text, true)
	if err != nil && text != string(data) {
		// Report the error where it is in data, not in the compacted text.
		if _, err2 := parseJSON(string(data), false); err2 != nil {
			err = err2
		}
	}
	return v, err
}

func parseJSON(text string, keep bool) (Value, error) {
	p := jsonParser{b: text, keep: keep}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.i != len(p.b) {
		return Value{}, p.errorf("unexpected %q after the value", p.b[p.i])
	}
	return v, nil
}

// compactJSON returns data without the white space between JSON tokens,
// with <, >, &, U+2028, U+2029 and invalid UTF-8 inside strings escaped as
// AppendJSONString writes them. It does not validate; it keeps one space
// between two bytes that would otherwise join into one token ("1 2"), so
// the result is valid JSON exactly when data is.
func compactJSON(data []byte) string {
	var out []byte // nil until the first change
	changed := func(i int) {
		if out == nil {
			out = make([]byte, i, len(data)+16)
			copy(out, data[:i])
		}
	}
	inString := false
	for i := 0; i < len(data); {
		c := data[i]
		if !inString {
			switch c {
			case ' ', '\t', '\n', '\r':
				j := i
				for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
					j++
				}
				changed(i)
				if i > 0 && j < len(data) && jsonWordByte(data[i-1]) && jsonWordByte(data[j]) {
					out = append(out, ' ')
				}
				i = j
				continue
			case '"':
				inString = true
			}
			if out != nil {
				out = append(out, c)
			}
			i++
			continue
		}
		switch {
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(data):
			// The escaped byte is copied as it is, whatever it is.
			if out != nil {
				out = append(out, c, data[i+1])
			}
			i += 2
			continue
		case c == '<' || c == '>' || c == '&':
			changed(i)
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				changed(i)
				out = append(out, `\ufffd`...)
			case r == '\u2028' || r == '\u2029':
				changed(i)
				out = append(out, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			default:
				if out != nil {
					out = append(out, data[i:i+size]...)
				}
			}
			i += size
			continue
		}
		if out != nil {
			out = append(out, c)
		}
		i++
	}
	if out == nil {
		return string(data)
	}
	return string(out)
}

// jsonWordByte reports whether c can be part of a literal or a number
// (anything but structure, quotes and white space).
func jsonWordByte(c byte) bool {
	switch c {
	case '{', '}', '[', ']', ',', ':', '"', ' ', '\t', '\n', '\r':
		return false
	}
	return true
}

// JSONSyntaxError is a ParseJSON failure at byte Offset.
type JSONSyntaxError struct {
	Offset int
	Msg    string
}

func (e *JSONSyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// jsonParser parses b. With keep, b is compact (compactJSON) and values
// keep their text (ParseJSON).
type jsonParser struct {
	b       string
	i       int
	keep    bool
	scratch []byte
}

func (p *jsonParser) errorf(format string, a ...any) error {
	return &JSONSyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, a...)}
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(word string, v Value) (Value, error) {
	if len(p.b)-p.i < len(word) || p.b[p.i:p.i+len(word)] != word {
		return Value{}, p.errorf("invalid literal")
	}
	p.i += len(word)
	return v, nil
}

func (p *jsonParser) value(depth int) (Value, error) {
	if p.i >= len(p.b) {
		return Value{}, p.errorf("unexpected end of input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.stringValue()
	case c == 't':
		return p.literal("true", Bool(true))
	case c == 'f':
		return p.literal("false", Bool(false))
	case c == 'n':
		return p.literal("null", Null())
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		return Value{}, p.errorf("unexpected %q", c)
	}
}

// withText returns v carrying b[start:p.i] as its JSON text (when keeping
// text).
func (p *jsonParser) withText(v Value, start int) Value {
	if p.keep {
		v.s = p.b[start:p.i]
	}
	return v
}

func (p *jsonParser) object(depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Value{}, p.errorf("nesting deeper than %d", maxJSONDepth)
	}
	start := p.i
	p.i++ // {
	o := &Object{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return p.withText(ObjectValue(o), start), nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return Value{}, p.errorf("expected a string key")
		}
		k, _, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return Value{}, p.errorf("expected ':' after an object key")
		}
		p.i++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		o.Set(k, v)
		p.space()
		if p.i >= len(p.b) {
			return Value{}, p.errorf("unexpected end of input in an object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return p.withText(ObjectValue(o), start), nil
		default:
			return Value{}, p.errorf("expected ',' or '}' in an object")
		}
	}
}

func (p *jsonParser) array(depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Value{}, p.errorf("nesting deeper than %d", maxJSONDepth)
	}
	start := p.i
	p.i++ // [
	a := []Value{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return p.withText(ArrayValue(a), start), nil
	}
	for {
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		a = append(a, v)
		p.space()
		if p.i >= len(p.b) {
			return Value{}, p.errorf("unexpected end of input in an array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return p.withText(ArrayValue(a), start), nil
		default:
			return Value{}, p.errorf("expected ',' or ']' in an array")
		}
	}
}

// stringValue reads a string literal at p.i; it keeps the literal when
// AppendJSONString would write the string differently.
func (p *jsonParser) stringValue() (Value, error) {
	start := p.i
	s, escaped, err := p.str()
	if err != nil {
		return Value{}, err
	}
	v := String(s)
	// Without escapes the compact literal is what AppendJSONString writes.
	if p.keep && escaped {
		lit := p.b[start:p.i]
		p.scratch = AppendJSONString(p.scratch[:0], s)
		if string(p.scratch) != lit {
			v.x = jsonLiteral(lit)
		}
	}
	return v, nil
}

func (p *jsonParser) number() (Value, error) {
	start := p.i
	isFloat := false
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if digits() == 0 {
		return Value{}, p.errorf("invalid number")
	}
	if p.b[intStart] == '0' && p.i-intStart > 1 {
		return Value{}, p.errorf("invalid number: leading zero")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		isFloat = true
		p.i++
		if digits() == 0 {
			return Value{}, p.errorf("invalid number: no digits after '.'")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		isFloat = true
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return Value{}, p.errorf("invalid number: no digits in the exponent")
		}
	}
	text := p.b[start:p.i]
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			if n == 0 && text[0] == '-' {
				return Float(math.Copysign(0, -1)), nil // "-0" is what AppendJSON writes for -0.0
			}
			return Int(n), nil
		}
	}
	// A syntactically valid number only fails with ErrRange: f is then
	// ±Inf (or 0 for an underflow), and the text says what it is.
	f, _ := strconv.ParseFloat(text, 64)
	v := Float(f)
	if p.keep {
		p.scratch = AppendJSONFloat(p.scratch[:0], f)
		if string(p.scratch) != text {
			v.s = text
		}
	}
	return v, nil
}

// str reads a string literal at p.i and returns the string and whether
// the literal holds escapes.
func (p *jsonParser) str() (string, bool, error) {
	p.i++ // "
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := validUTF8(p.b[start:p.i])
			p.i++
			return s, false, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", true, p.errorf("control character in a string")
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return validUTF8(string(buf)), true, nil
		case c < 0x20:
			return "", true, p.errorf("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", true, p.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					var ok2 bool
					if r2, ok2 = p.hex4(); !ok2 {
						return "", true, p.errorf("invalid \\u escape")
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
					} else {
						p.i = save // not a pair: decode the second escape on its own
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", true, p.errorf("invalid escape \\%c", e)
		}
	}
	return "", true, p.errorf("unterminated string")
}

// validUTF8 returns b with each byte of an invalid UTF-8 sequence replaced
// by U+FFFD, as encoding/json does.
func validUTF8(b string) string {
	if utf8.ValidString(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRuneInString(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
