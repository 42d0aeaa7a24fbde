package lock_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/runtime"
)

// schemaWith gives s the fields (keeping its key).
func schemaWith(s *runtime.Schema, fields ...runtime.Field) *runtime.Schema {
	s.Fields = fields
	return s
}

func sample() *lock.Lock {
	arr := runtime.Type{Kind: runtime.KindInt}
	l := &lock.Lock{}
	db := &runtime.Schema{Key: []int{0}}
	l.Put(lock.FromDiscovered("db", "postgres-cdc", []runtime.DiscoveredStream{{
		Name: "Order Items", Namespace: "public",
		Schema: schemaWith(db,
			runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}, Nullable: true},
			runtime.Field{Name: "price", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
			runtime.Field{Name: "tags", Type: runtime.Type{Kind: runtime.KindArray, Elem: &arr}, Nullable: true},
			runtime.Field{Name: "doc", Type: runtime.Any, Nullable: true},
			runtime.Field{Name: "null", Type: runtime.Type{Kind: runtime.KindBool}, Nullable: true},
			runtime.Field{Name: "${HOME}", Type: runtime.Type{Kind: runtime.KindFloat}, Nullable: true},
		),
		NativeTypes: map[string]string{"id": "integer", "price": "numeric(10,2)", "tags": "integer[]", "doc": "jsonb", "null": "boolean", "${HOME}": "double precision"},
		PrimaryKey:  []string{"id"},
		NotNull:     map[string]bool{"id": true},
	}}))
	l.Put(lock.FromDiscovered("a-first", "postgres-cdc", []runtime.DiscoveredStream{{
		Name: "t", Schema: runtime.NewSchema(runtime.Field{Name: "x", Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{{Name: "k", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true}}, Open: true}}),
	}}))
	return l
}

// Write then Parse gives the lock back, whatever its names and types.
func TestWriteParseRoundTrip(t *testing.T) {
	want := sample()
	text := lock.Write(want, "connect.yaml")
	got, errs := lock.Parse("connect.lock.yaml", text)
	if len(errs) > 0 {
		t.Fatalf("%v\n%s", errs, text)
	}
	if got.Sources[0].Name != "a-first" || len(got.Sources) != 2 {
		t.Fatalf("sources out of name order:\n%s", text)
	}
	for i, s := range got.Sources {
		w := want.Sources[i]
		if s.Name != w.Name || s.Connector != w.Connector || len(s.Streams) != len(w.Streams) {
			t.Fatalf("source %d: %+v, want %+v", i, s, w)
		}
		for j, st := range s.Streams {
			ws := w.Streams[j]
			if st.Name != ws.Name || st.Namespace != ws.Namespace || !reflect.DeepEqual(st.Key, ws.Key) || len(st.Columns) != len(ws.Columns) {
				t.Fatalf("stream %+v, want %+v", st, ws)
			}
			for k, c := range st.Columns {
				wc := ws.Columns[k]
				if c.Name != wc.Name || c.Type != wc.Type || c.Kind.String() != wc.Kind.String() || c.NotNull != wc.NotNull {
					t.Errorf("column %+v, want %+v", c, wc)
				}
			}
			if got, want := st.Schema().Key, []int(nil); len(ws.Key) == 0 && !reflect.DeepEqual(got, want) {
				t.Errorf("key %v", got)
			}
		}
	}
	if again := lock.Write(got, "connect.yaml"); string(again) != string(text) {
		t.Errorf("not deterministic:\n%s\nthen\n%s", text, again)
	}
	if s := got.Source("db").Streams[0].Schema(); s.KeyNames()[0] != "id" || s.Fields[2].Type.String() != "array<int>" {
		t.Errorf("schema %+v", s)
	}
}

// Every problem of a lock file is an error at its position, with a path.
func TestParseErrorsArePositioned(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"not a map", "- 1\n", "x.lock.yaml:1:1: type-mismatch"},
		{"version", "version: 2\nsources: {}\n", "x.lock.yaml:1:10: invalid-value: version: lock file version 2: this build reads version 1"},
		{"no version", "sources: {}\n", "missing-key: version"},
		{"unknown key", "version: 1\nsourcez: {}\n", `x.lock.yaml:2:1: unknown-key: sourcez: unknown key "sourcez" in the lock file (did you mean "sources"?)`},
		{"bad kind", "version: 1\nsources:\n  db:\n    connector: postgres-cdc\n    streams:\n      - name: t\n        columns:\n          - {name: a, kind: money}\n",
			`x.lock.yaml:8:29: invalid-value: sources.db.streams[0].columns[0].kind: column "a": record type "money": unknown type "money"`},
		{"duplicate column", "version: 1\nsources:\n  db:\n    connector: c\n    streams:\n      - name: t\n        columns:\n          - {name: a, kind: int}\n          - {name: a, kind: int}\n",
			`x.lock.yaml:9:13: duplicate-key: sources.db.streams[0].columns[1]: column "a" of stream t is locked twice`},
		{"bad key column", "version: 1\nsources:\n  db:\n    connector: c\n    streams:\n      - name: t\n        key: [b]\n        columns:\n          - {name: a, kind: int}\n",
			`x.lock.yaml:7:15: invalid-value: sources.db.streams[0].key[0]: key column "b" is not a column of stream t`},
		{"variable", "version: 1\nsources:\n  db:\n    connector: ${X}\n    streams: []\n", "x.lock.yaml:4:16: unset-variable"},
		{"yaml", "version: 1\nsources: [\n", "x.lock.yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, errs := lock.Parse("x.lock.yaml", []byte(tc.text))
			if l != nil || len(errs) == 0 {
				t.Fatalf("no error")
			}
			all := errs.Error()
			if !strings.Contains(all, tc.want) {
				t.Errorf("errors:\n%s\nwant %q", all, tc.want)
			}
			for _, e := range errs {
				if e.Pos.Line == 0 {
					t.Errorf("unpositioned: %v", e)
				}
			}
		})
	}
}

func TestPath(t *testing.T) {
	for in, want := range map[string]string{"connect.yaml": "connect.lock.yaml", "dir/p.yml": "dir/p.lock.yaml", "noext": "noext.lock.yaml", "-": ""} {
		if got := lock.Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}
