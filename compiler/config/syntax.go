package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/rivven/rivven-connect/compiler/source"
)

// syntaxError reports err, an error of the YAML library, as a yaml-syntax
// error at the character at fault: never without a line and column (the
// start of the file when nothing better is known), a tab used for
// indentation called a tab, an unclosed quote or bracket placed at its
// opening, and with the config path of the keys enclosing that position.
func (p *parser) syntaxError(err error) {
	pos, msg := p.locate(err)
	p.errs.Add(pos, source.CodeYAMLSyntax, JoinPath(pathAt(p.src, pos.Line, pos.Column)), "%s", msg)
}

// Context messages of the YAML library whose position is the opening of an
// unclosed construct when the problem is the end of the input.
var openers = map[string]bool{
	"while scanning a quoted scalar": true,
	"while parsing a flow sequence":  true,
	"while parsing a flow mapping":   true,
}

func (p *parser) locate(err error) (source.Pos, string) {
	pos := source.Pos{File: p.file, Line: 1, Column: 1}
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		var les *yaml.LoadErrors
		if !errors.As(err, &les) || len(les.Errors) == 0 {
			return pos, strings.TrimPrefix(err.Error(), "yaml: ")
		}
		le = les.Errors[0]
	}
	msg := le.Message
	if le.Mark.Line < 1 {
		// The reader's errors (bad UTF-8, control characters) carry no
		// position: find the character ourselves.
		if off, m := badChar(p.src); off >= 0 {
			pos.Line, pos.Column = lineCol(p.src, off)
			return pos, m
		}
		return pos, msg
	}
	pos.Line, pos.Column = le.Mark.Line, max(1, le.Mark.Column)
	off := offsetOf(p.src, pos.Line, pos.Column)
	if strings.Contains(msg, "tab character") || off < len(p.src) && p.src[off] == '\t' {
		return pos, "tab characters are not allowed for indentation"
	}
	if atEnd(p.src, off) {
		// The end of the input is no character to show: point at the last
		// one, which is where whatever is unfinished was left.
		if last := lastChar(p.src); last >= 0 && last < off {
			pos.Line, pos.Column = lineCol(p.src, last)
			msg += " at the end of the file"
		}
	}
	ctx := le.ContextMark
	if ctx.Line < 1 || le.ContextMsg == "" || ctx.Line == le.Mark.Line && ctx.Column == le.Mark.Column {
		return pos, msg
	}
	ctxPos := source.Pos{File: p.file, Line: ctx.Line, Column: max(1, ctx.Column)}
	if atEnd(p.src, off) && openers[le.ContextMsg] {
		// Nothing follows: the construct opened at ctx is never closed.
		co := offsetOf(p.src, ctxPos.Line, ctxPos.Column)
		if co < len(p.src) {
			switch open := p.src[co]; open {
			case '\'', '"':
				return ctxPos, fmt.Sprintf("unclosed quote: the string that starts here has no closing %c", open)
			case '[', '{':
				return ctxPos, fmt.Sprintf("unclosed '%c': no matching '%c' before the end of the file", open, map[byte]byte{'[': ']', '{': '}'}[open])
			}
		}
	}
	if le.ContextMsg != "while scanning a quoted scalar" && openers[le.ContextMsg] && ctx.Line < le.Mark.Line &&
		indentOf(p.src, le.Mark.Line) <= indentOf(p.src, ctx.Line) {
		// A flow collection's lines are indented more than the line it
		// opens on: one that is not starts something new, after a bracket
		// that was left open.
		if co := offsetOf(p.src, ctxPos.Line, ctxPos.Column); co < len(p.src) && (p.src[co] == '[' || p.src[co] == '{') {
			open := p.src[co]
			return ctxPos, fmt.Sprintf("unclosed '%c': no matching '%c' before line %d", open, map[byte]byte{'[': ']', '{': '}'}[open], le.Mark.Line)
		}
	}
	if le.ContextMsg == "while parsing a block mapping" && msg == "did not find expected key" && lineStart(p.src, off) && ctx.Column != le.Mark.Column {
		return pos, fmt.Sprintf("bad indentation: this line starts at column %d, but the keys of the mapping at line %d are at column %d", le.Mark.Column, ctx.Line, ctx.Column)
	}
	return pos, fmt.Sprintf("%s (%s that starts at line %d, column %d)", msg, le.ContextMsg, ctx.Line, ctx.Column)
}

// isBreak reports whether r is a YAML line break (CR LF counts once).
func isBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029'
}

// lineCol returns the position of byte offset off in src, counting lines
// and columns (in characters) as the YAML library does.
func lineCol(src []byte, off int) (line, col int) {
	line, col = 1, 1
	i := bomLen(src)
	for i < off && i < len(src) {
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == '\r' && i+1 < len(src) && src[i+1] == '\n':
			size = 2
			fallthrough
		case isBreak(r):
			line, col = line+1, 1
		default:
			col++
		}
		i += size
	}
	return line, col
}

// offsetOf is the inverse of lineCol: the byte offset of line:col in src,
// len(src) when it is past the end.
func offsetOf(src []byte, line, col int) int {
	l, c := 1, 1
	i := bomLen(src)
	for i < len(src) {
		if l == line && c == col || l > line {
			return i
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == '\r' && i+1 < len(src) && src[i+1] == '\n':
			size = 2
			fallthrough
		case isBreak(r):
			if l == line {
				return i // col is past the end of its line
			}
			l, c = l+1, 1
		default:
			c++
		}
		i += size
	}
	return len(src)
}

func bomLen(src []byte) int {
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		return 3
	}
	return 0
}

// atEnd reports whether only white space follows offset off in src.
func atEnd(src []byte, off int) bool {
	return off >= len(src) || len(strings.TrimSpace(string(src[off:]))) == 0
}

// indentOf counts the spaces that start line (1-based) of src.
func indentOf(src []byte, line int) int {
	if line < 1 {
		return 0
	}
	n := 0
	for i := offsetOf(src, line, 1); i < len(src) && src[i] == ' '; i++ {
		n++
	}
	return n
}

// lastChar returns the offset of the last character of src that is not
// white space, -1 when there is none.
func lastChar(src []byte) int {
	i := len(strings.TrimRight(string(src), " \t\r\n"))
	if i == 0 {
		return -1
	}
	_, size := utf8.DecodeLastRune(src[:i])
	return i - size
}

// lineStart reports whether only spaces precede offset off on its line.
func lineStart(src []byte, off int) bool {
	for i := off - 1; i >= 0; i-- {
		switch src[i] {
		case ' ':
		case '\n', '\r':
			return true
		default:
			return false
		}
	}
	return true
}

// badChar finds the first byte of src that is not UTF-8, or the first
// character YAML does not allow in a document, and describes it; the offset
// is -1 when there is none.
func badChar(src []byte) (int, string) {
	for i := bomLen(src); i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size <= 1 {
			return i, fmt.Sprintf("invalid UTF-8 (byte 0x%02x): a config file must be UTF-8 text", src[i])
		}
		if !printable(r) {
			return i, fmt.Sprintf("control character %U is not allowed in YAML", r)
		}
		i += size
	}
	return -1, ""
}

// printable reports whether YAML allows r in a document (c-printable).
func printable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\u0085':
		return true
	case r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// pathAt gives the config path of the block mapping keys and sequence
// items that enclose line:col, read from the indentation of the lines up to
// there, for a document the YAML library could not parse. It follows block
// style only (a key inside a flow collection on an earlier line is not
// seen), so it may stop short of the full path, but each element it gives
// is a key or index of the document as written.
func pathAt(src []byte, line, col int) []string {
	type entry struct {
		col   int // column of the key or of the sequence item's dash
		seg   string
		index int // for an item: its index; -1 for a key
	}
	var stack []entry
	pop := func(col int) { // closes what starts right of col
		for len(stack) > 0 && stack[len(stack)-1].col > col {
			stack = stack[:len(stack)-1]
		}
	}
	block := -1 // the column a block scalar's lines must be right of
	// Line by line up to line's, blank lines and comments without a copy
	// (a file may hold millions of them).
	off := bomLen(src)
	for ln := 1; ln <= line && off <= len(src); ln++ {
		raw, next := nextLine(src, off)
		off = next
		if t := bytes.TrimLeft(raw, " \t"); ln < line && (len(t) == 0 || t[0] == '#') {
			continue
		}
		text := string(raw)
		limit := len(text) + 1 // columns processed on this line
		if ln == line {
			limit = col
		}
		indent := 0
		for indent < len(text) && text[indent] == ' ' {
			indent++
		}
		rest := strings.TrimLeft(text[indent:], " \t")
		c := utf8.RuneCountInString(text[:len(text)-len(rest)]) + 1
		if ln == line && c > col {
			// The position is in the indentation, inside what is
			// indented less.
			pop(col - 1)
			break
		}
		if rest == "" || rest[0] == '#' {
			continue
		}
		if block >= 0 {
			if c > block {
				continue
			}
			block = -1
		}
		if indent == 0 && (strings.HasPrefix(rest, "---") || strings.HasPrefix(rest, "...") || rest[0] == '%') {
			stack = stack[:0]
			continue
		}
		owner := -1 // column of the node a block scalar on this line belongs to
		for c <= limit && rest != "" {
			if rest == "-" || strings.HasPrefix(rest, "- ") || strings.HasPrefix(rest, "-\t") {
				pop(c)
				if n := len(stack); n > 0 && stack[n-1].col == c && stack[n-1].index >= 0 {
					stack[n-1].index++
					stack[n-1].seg = fmt.Sprint(stack[n-1].index)
				} else {
					stack = append(stack, entry{col: c, seg: "0", index: 0})
				}
				owner = c
				trimmed := strings.TrimLeft(rest[1:], " \t")
				c += len(rest) - len(trimmed)
				rest = trimmed
				continue
			}
			if rest[0] == '|' || rest[0] == '>' {
				block = owner
				break
			}
			key, value, ok := splitKey(rest)
			if !ok {
				break
			}
			pop(c)
			if n := len(stack); n > 0 && stack[n-1].col == c {
				if stack[n-1].index >= 0 {
					stack = stack[:n-1] // a key after the items of a list at its column
				}
			}
			if n := len(stack); n > 0 && stack[n-1].col == c {
				stack[n-1].seg = key
			} else {
				stack = append(stack, entry{col: c, seg: key, index: -1})
			}
			owner = c
			if v := strings.TrimSpace(value); v != "" && (v[0] == '|' || v[0] == '>') {
				block = owner
			}
			break
		}
		if ln == line {
			pop(col)
		}
	}
	pop(col)
	path := make([]string, len(stack))
	for i, e := range stack {
		path[i] = e.seg
	}
	return path
}

// nextLine returns the line of src starting at off, without its break,
// and where the next one starts (past the end of src after the last).
func nextLine(src []byte, off int) ([]byte, int) {
	for i := off; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if isBreak(r) {
			if r == '\r' && i+1 < len(src) && src[i+1] == '\n' {
				size = 2
			}
			return src[off:i], i + size
		}
		i += size
	}
	return src[off:], len(src) + 1
}

// splitLines splits src at YAML line breaks.
func splitLines(src []byte) []string {
	var lines []string
	start := bomLen(src)
	for i := start; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if isBreak(r) {
			lines = append(lines, string(src[start:i]))
			if r == '\r' && i+1 < len(src) && src[i+1] == '\n' {
				size = 2
			}
			start = i + size
		}
		i += size
	}
	return append(lines, string(src[start:]))
}

// splitKey reads an implicit block mapping key ("key: value", "'k': v",
// "\"k\": v") at the start of s.
func splitKey(s string) (key, value string, ok bool) {
	switch s[0] {
	case '\'':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '\'' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return keyEnd(b.String(), s[i+1:])
		}
		return "", "", false
	case '"':
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				k, err := unquoteDouble(s[:i+1])
				if err != nil {
					return "", "", false
				}
				return keyEnd(k, s[i+1:])
			}
		}
		return "", "", false
	case '[', '{', ']', '}', ',', '#', '&', '*', '!', '|', '>', '%', '@', '`', '?', ':':
		return "", "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
			key = strings.TrimRight(s[:i], " \t")
			if strings.Contains(key, " #") || strings.Contains(key, "\t#") {
				return "", "", false
			}
			return key, s[i+1:], true
		}
	}
	return "", "", false
}

// keyEnd checks that a quoted key is followed by ':' and returns the value.
func keyEnd(key, after string) (string, string, bool) {
	after = strings.TrimLeft(after, " \t")
	if after == ":" || strings.HasPrefix(after, ": ") || strings.HasPrefix(after, ":\t") {
		return key, after[1:], true
	}
	return "", "", false
}

// unquoteDouble decodes a double-quoted YAML scalar written on one line.
func unquoteDouble(q string) (string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(q), &n); err != nil || len(n.Content) != 1 {
		return "", errors.New("not a scalar")
	}
	return n.Content[0].Value, nil
}
