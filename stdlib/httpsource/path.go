package httpsource

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// Path locates a value inside a JSON response: a list of object keys and
// array indexes from the top. The empty Path is the response itself.
type Path []step

type step struct {
	key   string
	index int // when key is "" and isIndex
	isIdx bool
}

// ParsePath reads a path as records_path, cursor_path and total_pages_path
// take it: keys separated by dots (data.items), array indexes in brackets
// (results[0].rows), a key with dots or brackets quoted in brackets
// (["a.b"] or ['a.b']), optionally after a leading $ or $. (JSONPath's
// root). "" and "$" are the response itself.
func ParsePath(s string) (Path, error) {
	in := s
	if strings.HasPrefix(s, "$") {
		s = strings.TrimPrefix(s[1:], ".")
	}
	var p Path
	for s != "" {
		switch s[0] {
		case '[':
			var end int // index of the closing ]
			if len(s) > 1 && (s[1] == '"' || s[1] == '\'') {
				q := strings.IndexByte(s[2:], s[1])
				if q < 0 || 2+q+1 >= len(s) || s[2+q+1] != ']' {
					return nil, fmt.Errorf("path %q: a quoted key needs its closing quote and ]", in)
				}
				p = append(p, step{key: s[2 : 2+q]})
				end = 2 + q + 1
			} else {
				end = strings.IndexByte(s, ']')
				if end < 0 {
					return nil, fmt.Errorf("path %q: [ without ]", in)
				}
				n, err := strconv.Atoi(s[1:end])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("path %q: [%s] is not an array index (use [\"key\"] for a key)", in, s[1:end])
				}
				p = append(p, step{index: n, isIdx: true})
			}
			s = s[end+1:]
			if strings.HasPrefix(s, ".") {
				s = s[1:]
				if s == "" || s[0] == '.' || s[0] == '[' {
					return nil, fmt.Errorf("path %q: empty key", in)
				}
			}
		default:
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return nil, fmt.Errorf("path %q: empty key", in)
			}
			p = append(p, step{key: s[:end]})
			s = s[end:]
			if strings.HasPrefix(s, ".") {
				s = s[1:]
				if s == "" || s[0] == '.' || s[0] == '[' {
					return nil, fmt.Errorf("path %q: empty key", in)
				}
			}
		}
	}
	return p, nil
}

// String writes p as ParsePath reads it ("" for the response itself).
func (p Path) String() string {
	var b strings.Builder
	for i, st := range p {
		switch {
		case st.isIdx:
			fmt.Fprintf(&b, "[%d]", st.index)
		case st.key == "" || strings.ContainsAny(st.key, ".[]'\"") || (i == 0 && strings.HasPrefix(st.key, "$")):
			fmt.Fprintf(&b, "[%q]", st.key)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(st.key)
		}
	}
	return b.String()
}

// Lookup returns the value at p inside v; ok is false when a key or index
// on the way is missing (or reaches into a value of another kind).
func (p Path) Lookup(v runtime.Value) (runtime.Value, bool) {
	for _, st := range p {
		if st.isIdx {
			a := v.AsArray()
			if v.Kind() != runtime.KindArray || st.index >= len(a) {
				return runtime.Value{}, false
			}
			v = a[st.index]
			continue
		}
		o := v.AsObject()
		if o == nil {
			return runtime.Value{}, false
		}
		var ok bool
		if v, ok = o.Get(st.key); !ok {
			return runtime.Value{}, false
		}
	}
	return v, true
}
