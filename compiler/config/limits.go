package config

import (
	"fmt"

	"github.com/rivven/rivven-connect/compiler/source"
)

// The limits of a config file. A config with a hundred pipelines holds
// about 3,000 values; the limits exist so that every file, however
// malformed, is checked in well under two seconds and a few tens of
// megabytes. A file over a limit gets one yaml-syntax error naming the
// limit, at the place the limit is passed (the file's first character for
// its size); one over MaxFileSize or MaxValues (or MaxAliased) is not
// checked further.
const (
	// MaxFileSize is the largest config file, in bytes (10 MiB).
	MaxFileSize = 10 << 20
	// MaxValues bounds the values of a document: every key, list item
	// and scalar (and the document itself), counting each value an alias
	// expands to. Checking costs up to about 100 µs a value (each
	// component config is unified with its CUE definition).
	MaxValues = 10_000
	// MaxDepth bounds the nesting of maps and lists (the top-level map's
	// keys are at depth 1).
	MaxDepth = 100
	// MaxAliased bounds the values all aliases of a document expand to
	// (each alias copies its anchor's whole tree).
	MaxAliased = 5_000
	// MaxScalarLength bounds one scalar value, in bytes (64 KiB; a
	// condition is at most 4 KiB).
	MaxScalarLength = 64 << 10
	// MaxKeyLength bounds one key, in bytes (YAML's own limit for a key
	// written as `key: value`).
	MaxKeyLength = 1024
)

// sizeLimit reports a file over MaxFileSize.
func (p *parser) sizeLimit(data []byte) bool {
	if len(data) <= MaxFileSize {
		return false
	}
	p.errs.Add(source.Pos{File: p.file, Line: 1, Column: 1}, source.CodeYAMLSyntax, "",
		"the file is %d bytes; a config file is at most %d bytes (10 MiB)", len(data), MaxFileSize)
	return true
}

// scanLimits reads the raw text before the YAML library does, which
// builds every value of a document before anything can be counted (about
// a microsecond and a kilobyte each): a file that would hold more than
// MaxValues values, or nest flow collections ([ and {) deeper than
// scanDepth, is refused at the character where it crosses the limit
// (MaxDepth for the nesting). The count follows the YAML indicators outside quotes, comments and block
// scalars (`key:`, `- `, `,`, `[`, `{`), which is what makes a value;
// parser.node counts exactly afterwards.
func (p *parser) scanLimits(src []byte) bool {
	off, msg, _, openers := scan(src, MaxValues)
	if off < 0 {
		return false
	}
	pos := source.Pos{File: p.file}
	if openers != nil {
		// Too deep: the collections nest in a block value whose depth is
		// the number of block keys and items around the outermost one; the
		// error is at the first opener deeper than MaxDepth.
		line, col := lineCol(src, openers[0])
		depth := len(pathAt(src, line, col)) // of the outermost collection's value
		if src[openers[0]] == '-' {
			depth-- // the path at an item indicator is the item's
		}
		if d := MaxDepth + 1 - depth; d >= 0 && d < len(openers) {
			off = openers[d]
		}
	}
	pos.Line, pos.Column = lineCol(src, off)
	p.errs.Add(pos, source.CodeYAMLSyntax, JoinPath(pathAt(src, pos.Line, pos.Column)), "%s", msg)
	return true
}

// scanDepth is the flow nesting at which scan stops a file: the YAML
// library builds deeper documents slowly, and refuses those over 10,000
// levels without saying where; parser.node reports the shallower ones
// that are over MaxDepth, and goes on.
const scanDepth = 1000

// tooManyValues is the message of a document over MaxValues.
func tooManyValues() string {
	return fmt.Sprintf("the document holds more than %d values (keys, list items and scalars, counting what aliases expand to); that is the limit of a config file", MaxValues)
}

// tooDeep is the message of a value nested deeper than MaxDepth.
func tooDeep() string { return fmt.Sprintf("nesting deeper than %d levels", MaxDepth) }

// scan returns the offset in src where the values counted pass limit or
// flow collections nest deeper than MaxDepth, and why (-1 when neither
// happens), the values counted, and, when the nesting is too deep, the
// offsets of the open flow collections (or of the items of one line, "- -
// - x"), outermost first. See scanLimits.
func scan(src []byte, limit int) (int, string, int, []int) {
	values := 1 // the document's root
	var flow []byte
	var openers []int // where each collection of flow opens
	var dashes []int  // the item indicators of the current line
	block := -1       // in a block scalar: the indentation its lines exceed
	indent := 0       // of the current line
	lineStart, tokenStart := true, true
	// pending: a block key or item indicator counted the value that
	// follows it, which a flow collection must not count again.
	pending := false
	word := 0 // where the current token starts
	count := func(n int) bool {
		values += n
		return values > limit
	}
	for i := 0; i < len(src); {
		c := src[i]
		if c == '\n' || c == '\r' {
			i++
			lineStart, tokenStart, pending, dashes = true, true, false, dashes[:0]
			continue
		}
		if lineStart {
			j := i
			for j < len(src) && src[j] == ' ' {
				j++
			}
			blank := j == len(src) || src[j] == '\n' || src[j] == '\r'
			if block >= 0 && (blank || j-i > block) {
				for i < len(src) && src[i] != '\n' && src[i] != '\r' {
					i++
				}
				continue
			}
			block = -1
			indent, i, lineStart = j-i, j, false
			continue
		}
		if tokenStart && c != ' ' && c != '\t' {
			word = i
		}
		switch {
		case c == ' ' || c == '\t':
			i++
			tokenStart = true
			continue
		case c == '#' && tokenStart:
			for i < len(src) && src[i] != '\n' && src[i] != '\r' {
				i++
			}
			continue
		case (c == '\'' || c == '"') && tokenStart:
			i = skipQuoted(src, i)
			tokenStart = false
			continue
		case (c == '[' || c == '{') && (tokenStart || len(flow) > 0):
			flow, openers = append(flow, c), append(openers, i)
			if len(flow) > scanDepth {
				return i, tooDeep(), values, openers
			}
			n := 2 // the collection and its first item
			if c == '{' {
				n = 3 // and its first entry's key and value
			}
			if pending {
				n--
			}
			pending = c == '['
			if count(n) {
				return i, tooManyValues(), values, nil
			}
			i++
			tokenStart = true
			continue
		case (c == ']' || c == '}') && len(flow) > 0:
			flow, openers = flow[:len(flow)-1], openers[:len(openers)-1]
		case c == ',' && len(flow) > 0:
			n := 1
			if flow[len(flow)-1] == '{' {
				n = 2
			}
			pending = n == 1 // an item follows; in a map, a key
			if count(n) {
				return i, tooManyValues(), values, nil
			}
			i++
			tokenStart = true
			continue
		case c == ':' && len(flow) > 0 && flow[len(flow)-1] == '{':
			// The value that follows was counted with its key.
			i++
			tokenStart, pending = true, true
			continue
		case c == '-' && tokenStart && len(flow) == 0 && (i+1 == len(src) || isSpace(src[i+1])):
			if count(1) {
				return i, tooManyValues(), values, nil
			}
			// "- - - x": each item of one line is a list inside the last.
			if dashes = append(dashes, i); len(dashes) > scanDepth {
				return i, tooDeep(), values, dashes
			}
		case c == ':' && len(flow) == 0 && (i+1 == len(src) || isSpace(src[i+1])):
			if count(2) { // the key and its value
				return word, tooManyValues(), values, nil
			}
		case (c == '|' || c == '>') && tokenStart && len(flow) == 0:
			block = indent
			for i < len(src) && src[i] != '\n' && src[i] != '\r' {
				i++
			}
			continue
		}
		i++
		tokenStart = false
		pending = false
		if c == '-' || c == ':' || c == '?' {
			tokenStart = i < len(src) && isSpace(src[i])
			pending = tokenStart && len(flow) == 0 && c != '?'
		}
	}
	return -1, "", values, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipQuoted returns the offset after the quoted scalar opening at i (the
// end of src when it is not closed).
func skipQuoted(src []byte, i int) int {
	q := src[i]
	for i++; i < len(src); i++ {
		switch {
		case q == '"' && src[i] == '\\':
			i++
		case src[i] == q && q == '\'' && i+1 < len(src) && src[i+1] == '\'':
			i++
		case src[i] == q:
			return i + 1
		}
	}
	return len(src)
}
