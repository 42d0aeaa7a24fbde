package runtime

import (
	"errors"
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
// strings becomes U+FFFD. A number beyond the float64 range is an error
// (a Value cannot hold it), as is nesting deeper than 1000. So for any JSON
// text that AppendJSON wrote, AppendJSON(ParseJSON(text)) == text.
func ParseJSON(data []byte) (Value, error) {
	p := jsonParser{b: data}
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

// JSONSyntaxError is a ParseJSON failure at byte Offset.
type JSONSyntaxError struct {
	Offset int
	Msg    string
}

func (e *JSONSyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

type jsonParser struct {
	b []byte
	i int
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
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
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
		s, err := p.str()
		return String(s), err
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

func (p *jsonParser) object(depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Value{}, p.errorf("nesting deeper than %d", maxJSONDepth)
	}
	p.i++ // {
	o := &Object{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return ObjectValue(o), nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return Value{}, p.errorf("expected a string key")
		}
		k, err := p.str()
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
			return ObjectValue(o), nil
		default:
			return Value{}, p.errorf("expected ',' or '}' in an object")
		}
	}
}

func (p *jsonParser) array(depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Value{}, p.errorf("nesting deeper than %d", maxJSONDepth)
	}
	p.i++ // [
	a := []Value{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return ArrayValue(a), nil
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
			return ArrayValue(a), nil
		default:
			return Value{}, p.errorf("expected ',' or ']' in an array")
		}
	}
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
	text := string(p.b[start:p.i])
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			if n == 0 && text[0] == '-' {
				return Float(math.Copysign(0, -1)), nil // "-0" is what AppendJSON writes for -0.0
			}
			return Int(n), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return Value{}, p.errorf("invalid number %q", text)
	}
	if math.IsInf(f, 0) {
		return Value{}, p.errorf("number %q is out of range", text)
	}
	return Float(f), nil
}

// str reads a string literal at p.i.
func (p *jsonParser) str() (string, error) {
	p.i++ // "
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := validUTF8(p.b[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errorf("control character in a string")
		}
		p.i++
	}
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return validUTF8(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in a string")
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
				return "", p.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					var ok2 bool
					if r2, ok2 = p.hex4(); !ok2 {
						return "", p.errorf("invalid \\u escape")
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
			return "", p.errorf("invalid escape \\%c", e)
		}
	}
	return "", p.errorf("unterminated string")
}

// validUTF8 returns b as a string with each byte of an invalid UTF-8
// sequence replaced by U+FFFD, as encoding/json does.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
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
