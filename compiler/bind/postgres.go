package bind

import (
	"fmt"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
)

// The postgres-cdc source: config cdc.Config, CUE definition
// #PostgresCDC. Its records' schema is known only at run time (each
// table's columns arrive with the stream), so Schema is nil: conditions on
// its streams are syntax-checked only and run on expr's VM.
func init() {
	connector(&Component{
		Kind:         Source,
		Name:         "postgres-cdc",
		ChangeStream: true,
		Elects:       true,
		// publication_name is an alias of publication (Misfits refuses both).
		Aliases: map[string]string{"publication_name": "Publication"},
		Misfits: func(n *config.Node) []Misfit {
			if n.Get("publication") != nil && n.Get("publication_name") != nil {
				return []Misfit{{Key: []string{"publication_name"},
					Why: "publication_name is an alias of publication; give one (publication)"}}
			}
			return nil
		},
		UseLock: func(cfg any, streams []*lock.Stream, relock string) any {
			c := cfg.(cdc.Config)
			// Non-nil even when empty: a lock of no streams refuses every table.
			c.Locked, c.LockCommand = make([]cdc.LockedTable, 0, len(streams)), relock
			for _, st := range streams {
				t := cdc.LockedTable{Schema: st.Namespace, Table: st.Name}
				for _, col := range st.Columns {
					t.Columns = append(t.Columns, cdc.LockedColumn{Name: col.Name, Type: col.Type, Kind: col.Kind.String(), NotNull: col.NotNull})
				}
				c.Locked = append(c.Locked, t)
			}
			return c
		},
		Streams: func(cfg any) Streams {
			out := Streams{Namespaced: true,
				RowKey: "each table's primary key (its replica identity index when set; none for a table with neither)"}
			for _, t := range cfg.(cdc.Config).SelectedTables() {
				out.Names = append(out.Names, StreamName{Name: t[1], Namespace: t[0]})
			}
			return out
		},
		Go: &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/postgres/cdc", Func: "New", Env: "Now"},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return cdc.New(cfg.(cdc.Config), env.Now)
		},
	}, func(cfg cdc.Config, v cue.Value, _ *config.Node) (any, error) {
		if pn := lookup(v, "publication_name"); pn.Exists() {
			s, err := pn.String()
			if err != nil {
				return nil, fmt.Errorf("decode config: %w", err)
			}
			cfg.Publication = s
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	})
}
