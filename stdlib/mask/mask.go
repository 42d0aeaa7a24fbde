// Package mask implements the field-mask strategies. Each strategy is a
// pure function from a value to its masked value; Apply masks one field path
// of a record row. Null values stay null under every strategy except fixed
// and remove (there is nothing to leak). All functions are safe for
// concurrent use.
package mask

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
)

// Strategy names a masking method.
type Strategy uint8

// The strategies of field-mask's `strategy` key.
const (
	Redact  Strategy = iota // every character becomes '*'
	Hash                    // hex SHA-256 of salt + text
	Partial                 // keep KeepFirst and KeepLast characters, '*' between
	Fixed                   // replace with Value
	Null                    // replace with null
	Remove                  // drop the field from the record
)

var strategyNames = [...]string{"redact", "hash", "partial", "fixed", "null", "remove"}

// String returns the config spelling of s.
func (s Strategy) String() string { return strategyNames[s] }

// ParseStrategy returns the strategy spelt name, and false if none is.
func ParseStrategy(name string) (Strategy, bool) {
	for i, n := range strategyNames {
		if n == name {
			return Strategy(i), true
		}
	}
	return 0, false
}

// Spec is one field-mask transform's settings: plain data.
// Each field other than Strategy is read by one strategy only (the config
// check refuses its key with another strategy).
type Spec struct {
	Strategy Strategy
	// Salt is prepended to the text before hashing (Hash).
	Salt string
	// KeepFirst and KeepLast are the characters kept at each end (Partial).
	KeepFirst int
	KeepLast  int
	// Value replaces the field (Fixed).
	Value runtime.Value
}

// Mask returns v masked per spec. A removed field (the absent marker) stays
// removed under every strategy: masking must not bring it back.
func (s *Spec) Mask(v runtime.Value) runtime.Value {
	if v.Kind() == runtime.KindAbsent {
		return v
	}
	switch s.Strategy {
	case Fixed:
		return s.Value
	case Null:
		return runtime.Null()
	case Remove:
		return runtime.Absent()
	}
	if v.IsNull() {
		return v
	}
	switch s.Strategy {
	case Redact:
		return RedactValue(v)
	case Hash:
		return HashValue(v, s.Salt)
	case Partial:
		return PartialValue(v, s.KeepFirst, s.KeepLast)
	}
	return v
}

const stars = "****************************************************************" +
	"****************************************************************"

// Asterisks returns n asterisks; up to 128 without allocating.
func Asterisks(n int) string {
	if n <= len(stars) {
		return stars[:n]
	}
	return manyAsterisks(n)
}

// manyAsterisks is Asterisks beyond the constant, out of line so that
// Asterisks and Redacted inline.
func manyAsterisks(n int) string { return strings.Repeat("*", n) }

// text is the string a strategy works on: the string itself, or the
// compact JSON of any other value as the sinks write it — for a value
// parsed from JSON (a json/jsonb column) its exact text
// (runtime.Value.JSONText), so numbers are hashed as their decimal text.
func text(v runtime.Value) string {
	if v.Kind() == runtime.KindString {
		return v.AsString()
	}
	return string(runtime.AppendJSON(nil, v))
}

// RedactValue replaces every character of v's text with '*'.
func RedactValue(v runtime.Value) runtime.Value {
	if v.Kind() == runtime.KindString { // the common case
		return runtime.String(Redacted(v.AsString()))
	}
	return runtime.String(Redacted(text(v)))
}

// Redacted is the redaction of the string s: one '*' per character.
// RedactValue uses it; generated code calls it for string values (it is
// small enough to inline).
func Redacted(s string) string { return Asterisks(utf8.RuneCountInString(s)) }

// HashValue returns the lower-case hex SHA-256 of salt followed by v's text.
func HashValue(v runtime.Value, salt string) runtime.Value {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte(text(v)))
	var sum [sha256.Size]byte
	return runtime.String(hex.EncodeToString(h.Sum(sum[:0])))
}

// PartialValue keeps the first and last characters of v's text and stars
// the rest. When nothing would be hidden (the text is no longer than
// first+last), every character is starred, so a short value never leaks
// whole.
func PartialValue(v runtime.Value, first, last int) runtime.Value {
	s := text(v)
	n := utf8.RuneCountInString(s)
	if first+last >= n {
		return runtime.String(Asterisks(n))
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for _, r := range s {
		if i < first || i >= n-last {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		i++
	}
	return runtime.String(b.String())
}

// Apply masks the value at field index (and, below it, the nested object
// keys) in row. Objects on the way are copied, never mutated, because
// records may share them. A missing nested key is left alone.
func (s *Spec) Apply(row []runtime.Value, index int, keys []string) {
	if row == nil {
		return
	}
	row[index] = s.applyNested(row[index], keys)
}

// ApplyNamed masks the field called name (and the object keys below it) in
// both rows of r, finding its position in r.Schema: for streams whose schema
// is known only at run time. A record without that field is left alone.
func (s *Spec) ApplyNamed(r *runtime.Record, name string, keys []string) {
	if r.Schema == nil {
		return
	}
	i := r.Schema.Index(name)
	if i < 0 {
		return
	}
	if i < len(r.After) {
		s.Apply(r.After, i, keys)
	}
	if i < len(r.Before) {
		s.Apply(r.Before, i, keys)
	}
}

func (s *Spec) applyNested(v runtime.Value, keys []string) runtime.Value {
	if len(keys) == 0 {
		return s.Mask(v)
	}
	o := v.AsObject()
	if o == nil {
		return v
	}
	i := o.Index(keys[0])
	if i < 0 {
		return v
	}
	return runtime.ObjectValue(o.With(keys[0], s.applyNested(o.Values[i], keys[1:])))
}
