// Package source holds positions in config files and the positioned,
// coded errors every compiler stage reports.
package source

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a position in a config file. Line and Column are 1-based; a zero
// Line means "no position known" (the error concerns the file as a whole).
type Pos struct {
	File   string
	Line   int
	Column int
}

// String renders "file:line:col", "file" when the line is unknown.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Before orders positions by file, line, column.
func (p Pos) Before(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Column < q.Column
}

// Error is one diagnostic: where, a stable code (see codes.go), the config
// path it concerns ("sources.demo.config.pattern") and a message.
type Error struct {
	Pos     Pos
	Code    Code
	Path    string
	Message string
}

// Error renders "file:line:col: code: path: message".
func (e *Error) Error() string {
	path := e.Path
	if path == "" {
		path = "."
	}
	return fmt.Sprintf("%s: %s: %s: %s", e.Pos, e.Code, path, e.Message)
}

// Errors is a list of diagnostics. The zero value is an empty list.
type Errors []*Error

// Add appends an error built from its parts.
func (l *Errors) Add(pos Pos, code Code, path, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Code: code, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns the sorted, de-duplicated list as an error, or nil if empty.
func (l Errors) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l.Sorted()
}

// Sorted returns the list sorted by position, code and message, with exact
// duplicates removed. The receiver is not modified.
func (l Errors) Sorted() Errors {
	out := append(Errors(nil), l...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pos != b.Pos {
			return a.Pos.Before(b.Pos)
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
	w := 0
	for i, e := range out {
		if i > 0 && *e == *out[w-1] {
			continue
		}
		out[w] = e
		w++
	}
	return out[:w]
}

// Error renders one error per line.
func (l Errors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

type jsonError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Code    Code   `json:"code"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// JSON renders the list as a JSON array of objects with the keys file,
// line, column, code, path and message ([] when empty).
func (l Errors) JSON() []byte {
	out := make([]jsonError, len(l))
	for i, e := range l {
		out[i] = jsonError{e.Pos.File, e.Pos.Line, e.Pos.Column, e.Code, e.Path, e.Message}
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return append(b, '\n')
}

// maxSuggestLength is the longest word Suggest looks for a typo of: a
// longer one is not a typo of a name.
const maxSuggestLength = 64

// Suggest returns the candidate closest to word by edit distance, or "" if
// none is close enough to be a plausible typo. Its work is linear in the
// candidates: a word or candidate over maxSuggestLength characters, or one
// whose length rules a plausible typo out, is passed over unmeasured.
func Suggest(word string, candidates []string) string {
	n := utf8.RuneCountInString(word)
	if n > maxSuggestLength {
		return ""
	}
	lower := strings.ToLower(word)
	best, bestD := "", len(word)/2+2
	for _, c := range candidates {
		m := utf8.RuneCountInString(c)
		if m > maxSuggestLength || abs(n-m) > max(1, (min(n, m)+1)/3) {
			continue // at least |n-m| edits apart: too many
		}
		if d := distance(lower, strings.ToLower(c)); d < bestD || (d == bestD && best != "" && c < best) {
			best, bestD = c, d
		}
	}
	// A plausible typo changes at most about a third of the word (and at
	// least one character of any word).
	if best == "" || bestD > max(1, (min(len([]rune(word)), len([]rune(best)))+1)/3) {
		return ""
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// distance is the Levenshtein distance with transpositions counted as one.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
