// Package envsubst expands ${NAME} and ${NAME:-default} references in a
// config value. The config parser uses it at compile time and generated
// binaries at start-up, so both read the environment the same way.
package envsubst

import (
	"fmt"
	"strings"
)

// Ref is one reference found in a text.
type Ref struct {
	Name       string
	Default    string
	HasDefault bool
	Offset     int // byte offset of the "${" in the text
}

// Error is a problem with one reference.
type Error struct {
	Offset int // byte offset of the "${" in the text
	// Unset is true for an unset variable without a default; false for a
	// malformed reference.
	Unset   bool
	Name    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Expand replaces every reference in text with the variable's value from
// lookup: the default applies when the variable is unset or empty; $${ is a
// literal ${. It returns the expanded text, the references in order, and
// the errors (an unset variable without default, a malformed reference);
// after a malformed reference the rest of the text is not expanded.
// Whole reports whether text is exactly one reference.
func Expand(text string, lookup func(string) (string, bool)) (out string, refs []Ref, whole bool, errs []*Error) {
	var b strings.Builder
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '$')
		if j < 0 {
			b.WriteString(text[i:])
			break
		}
		b.WriteString(text[i : i+j])
		i += j
		switch {
		case strings.HasPrefix(text[i:], "$${"):
			b.WriteString("${")
			i += 3
			continue
		case !strings.HasPrefix(text[i:], "${"):
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			errs = append(errs, &Error{Offset: i, Message: fmt.Sprintf("unterminated variable reference %q: expected ${NAME} or ${NAME:-default}", text[i:])})
			return b.String(), refs, false, errs
		}
		spec := text[i+2 : i+end]
		r := Ref{Name: spec, Offset: i}
		if k := strings.Index(spec, ":-"); k >= 0 {
			r = Ref{Name: spec[:k], Default: spec[k+2:], HasDefault: true, Offset: i}
		}
		if !ValidName(r.Name) {
			errs = append(errs, &Error{Offset: i, Name: r.Name, Message: fmt.Sprintf("bad variable reference ${%s}: a name is letters, digits and _, not starting with a digit", spec)})
			return b.String(), refs, false, errs
		}
		if i == 0 && end == len(text)-1 {
			whole = true
		}
		refs = append(refs, r)
		val, ok := lookup(r.Name)
		switch {
		case ok && (val != "" || !r.HasDefault):
		case r.HasDefault:
			val = r.Default
		default:
			errs = append(errs, &Error{Offset: i, Unset: true, Name: r.Name,
				Message: fmt.Sprintf("environment variable %s is not set and has no default (write ${%s:-default} to give one)", r.Name, r.Name)})
		}
		b.WriteString(val)
		i += end + 1
	}
	return b.String(), refs, whole, errs
}

// ValidName reports whether s is a variable name: letters, digits and _,
// not starting with a digit.
func ValidName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
