package schemas

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"
)

// Compatibility is a schema registry compatibility level, spelled as
// Confluent's registry spells it.
type Compatibility string

// The compatibility levels. Backward: the new schema can read data written
// with the previous one; forward: the previous schema can read data written
// with the new one; full: both. The transitive forms check against every
// previous version instead of only the latest.
const (
	CompatNone               Compatibility = "NONE"
	CompatBackward           Compatibility = "BACKWARD"
	CompatBackwardTransitive Compatibility = "BACKWARD_TRANSITIVE"
	CompatForward            Compatibility = "FORWARD"
	CompatForwardTransitive  Compatibility = "FORWARD_TRANSITIVE"
	CompatFull               Compatibility = "FULL"
	CompatFullTransitive     Compatibility = "FULL_TRANSITIVE"
)

var compatLevels = []Compatibility{CompatNone, CompatBackward, CompatBackwardTransitive,
	CompatForward, CompatForwardTransitive, CompatFull, CompatFullTransitive}

// ParseCompatibility parses a level, ignoring case ("backward_transitive"
// as used in configs, or "BACKWARD_TRANSITIVE" as in the REST API).
func ParseCompatibility(s string) (Compatibility, error) {
	c := Compatibility(strings.ToUpper(s))
	if slices.Contains(compatLevels, c) {
		return c, nil
	}
	return "", fmt.Errorf("unknown compatibility level %q", s)
}

func (c Compatibility) transitive() bool { return strings.HasSuffix(string(c), "_TRANSITIVE") }

func (c Compatibility) backward() bool { return strings.HasPrefix(string(c), "BACKWARD") || c.full() }

func (c Compatibility) forward() bool { return strings.HasPrefix(string(c), "FORWARD") || c.full() }

func (c Compatibility) full() bool { return strings.HasPrefix(string(c), "FULL") }

// Incompatibility is one change that stops a reader schema from reading
// data written with a writer schema.
type Incompatibility struct {
	// Path locates the change: the record name and field names, dotted.
	Path string
	// Reason says what is incompatible.
	Reason string
}

// String renders "path: reason".
func (i Incompatibility) String() string { return i.Path + ": " + i.Reason }

// CompatError reports that a candidate schema breaks a compatibility level.
type CompatError struct {
	// Level is the level checked.
	Level Compatibility
	// Version is the 1-based position, in the list of previous versions, of
	// the version the candidate is incompatible with.
	Version int
	// Direction is "backward" (the candidate cannot read that version's
	// data) or "forward" (that version cannot read the candidate's data).
	Direction string
	// Changes lists the incompatible changes, at least one.
	Changes []Incompatibility
}

// Error implements error.
func (e *CompatError) Error() string {
	parts := make([]string, len(e.Changes))
	for i, c := range e.Changes {
		parts[i] = c.String()
	}
	return fmt.Sprintf("schema is not %s compatible with version %d (%s): %s",
		strings.ToLower(string(e.Level)), e.Version, e.Direction, strings.Join(parts, "; "))
}

// CheckAvro reports whether candidate may follow the previous versions
// (oldest first) under level, using Avro's schema resolution rules as
// Confluent's registry does. It returns nil when compatible, a
// *CompatError naming the changes otherwise. Non-transitive levels check
// against the latest version only; with no previous version everything is
// compatible.
func CheckAvro(level Compatibility, candidate avro.Schema, previous []avro.Schema) error {
	if _, err := ParseCompatibility(string(level)); err != nil {
		return err
	}
	return checkLevels(level, len(previous), func(v int, backward bool) []Incompatibility {
		if backward {
			return AvroCanRead(candidate, previous[v])
		}
		return AvroCanRead(previous[v], candidate)
	})
}

// checkLevels runs canRead over the versions level asks for, newest first:
// canRead(v, true) checks that the candidate reads version v's data,
// canRead(v, false) the reverse.
func checkLevels(level Compatibility, n int, canRead func(v int, backward bool) []Incompatibility) error {
	if level == CompatNone || n == 0 {
		return nil
	}
	from := n - 1
	if level.transitive() {
		from = 0
	}
	for v := n - 1; v >= from; v-- {
		if level.backward() {
			if ch := canRead(v, true); len(ch) > 0 {
				return &CompatError{Level: level, Version: v + 1, Direction: "backward", Changes: ch}
			}
		}
		if level.forward() {
			if ch := canRead(v, false); len(ch) > 0 {
				return &CompatError{Level: level, Version: v + 1, Direction: "forward", Changes: ch}
			}
		}
	}
	return nil
}

// AvroCanRead returns the changes that stop reader from reading data
// written with writer under Avro schema resolution; none when it can.
// Allowed: fields removed, fields added with a default, the promotions
// int → long → float → double, string ↔ bytes, widening a type into a union
// that holds it, and enum symbols added.
func AvroCanRead(reader, writer avro.Schema) []Incompatibility {
	c := canRead{seen: map[[2]string]bool{}}
	c.check(rootPath(reader, writer), reader, writer)
	return c.out
}

type canRead struct {
	out  []Incompatibility
	seen map[[2]string]bool
}

func rootPath(r, w avro.Schema) string {
	if n, ok := deref(r).(avro.NamedSchema); ok {
		return n.Name()
	}
	if n, ok := deref(w).(avro.NamedSchema); ok {
		return n.Name()
	}
	return string(r.Type())
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

func (c *canRead) add(path, format string, args ...any) {
	c.out = append(c.out, Incompatibility{Path: path, Reason: fmt.Sprintf(format, args...)})
}

var promotions = map[avro.Type][]avro.Type{
	avro.Int:    {avro.Long, avro.Float, avro.Double},
	avro.Long:   {avro.Float, avro.Double},
	avro.Float:  {avro.Double},
	avro.String: {avro.Bytes},
	avro.Bytes:  {avro.String},
}

// matches reports whether reader and writer have resolvable top-level
// types (without looking inside records, arrays, …).
func matches(r, w avro.Schema) bool {
	r, w = deref(r), deref(w)
	rt, wt := r.Type(), w.Type()
	if rt == wt {
		if rn, ok := r.(avro.NamedSchema); ok {
			return rn.Name() == w.(avro.NamedSchema).Name()
		}
		return true
	}
	return slices.Contains(promotions[wt], rt)
}

func (c *canRead) check(path string, r, w avro.Schema) {
	r, w = deref(r), deref(w)
	if wu, ok := w.(*avro.UnionSchema); ok {
		for _, b := range wu.Types() {
			c.check(path, r, b)
		}
		return
	}
	if ru, ok := r.(*avro.UnionSchema); ok {
		for _, b := range ru.Types() {
			if matches(b, w) {
				c.check(path, b, w)
				return
			}
		}
		c.add(path, "writer type %s is not in the reader union %s", typeName(w), typeName(r))
		return
	}
	if !matches(r, w) {
		c.add(path, "type changed from %s to %s, which is not a promotion", typeName(w), typeName(r))
		return
	}
	switch rs := r.(type) {
	case *avro.RecordSchema:
		key := [2]string{rs.FullName(), w.(*avro.RecordSchema).FullName()}
		if c.seen[key] {
			return
		}
		c.seen[key] = true
		wf := map[string]*avro.Field{}
		for _, f := range w.(*avro.RecordSchema).Fields() {
			wf[f.Name()] = f
		}
		for _, f := range rs.Fields() {
			if o, ok := wf[f.Name()]; ok {
				c.check(path+"."+f.Name(), f.Type(), o.Type())
			} else if !f.HasDefault() {
				c.add(path+"."+f.Name(), "field is read without a default but the writer schema lacks it")
			}
		}
	case *avro.EnumSchema:
		if !rs.HasDefault() {
			for _, s := range w.(*avro.EnumSchema).Symbols() {
				if !slices.Contains(rs.Symbols(), s) {
					c.add(path, "enum symbol %s is missing from the reader and it has no default", s)
				}
			}
		}
	case *avro.FixedSchema:
		if ws := w.(*avro.FixedSchema); rs.Size() != ws.Size() {
			c.add(path, "fixed size changed from %d to %d", ws.Size(), rs.Size())
		}
	case *avro.ArraySchema:
		c.check(path+"[]", rs.Items(), w.(*avro.ArraySchema).Items())
	case *avro.MapSchema:
		c.check(path+"{}", rs.Values(), w.(*avro.MapSchema).Values())
	}
}

func typeName(s avro.Schema) string {
	if n, ok := s.(avro.NamedSchema); ok {
		return string(s.Type()) + " " + n.FullName()
	}
	if u, ok := s.(*avro.UnionSchema); ok {
		names := make([]string, len(u.Types()))
		for i, b := range u.Types() {
			names[i] = typeName(deref(b))
		}
		return "[" + strings.Join(names, ", ") + "]"
	}
	return string(s.Type())
}
