package bind

import (
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// pathMiss says where a field path leaves the schema: at is the path up
// to the value that lacks key. kind is KindObject when that value is an
// object without key (names: its fields), else the kind of the value that
// is not an object.
type pathMiss struct {
	at, key string
	kind    runtime.Kind
	names   []string
}

// nestedType follows parts[1:] from t, the type of the top-level field
// parts[0], through object fields, and returns the type reached: any past
// an open object or an untyped value. A path that leaves the schema
// returns where (a nil *pathMiss otherwise). Field-mask paths and enrich
// keys share it.
func nestedType(t runtime.Type, parts []string) (runtime.Type, *pathMiss) {
	for i, key := range parts[1:] {
		switch t.Kind {
		case runtime.KindObject:
			found := false
			for _, f := range t.Fields {
				if f.Name == key {
					t, found = f.Type, true
					break
				}
			}
			if !found && !t.Open {
				names := make([]string, 0, len(t.Fields))
				for _, f := range t.Fields {
					names = append(names, f.Name)
				}
				return t, &pathMiss{at: strings.Join(parts[:i+1], "."), key: key, kind: runtime.KindObject, names: names}
			}
			if !found {
				t = runtime.Any
			}
		case runtime.KindNull: // untyped: anything goes
		default:
			return t, &pathMiss{at: strings.Join(parts[:i+1], "."), key: key, kind: t.Kind}
		}
	}
	return t, nil
}
