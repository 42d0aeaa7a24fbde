package bind

import (
	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mysql/cdc"
)

// The mysql-cdc source: config cdc.Config (stdlib/mysql/cdc), CUE
// definition #MySQLCDC (cue/mysql_cdc.cue). Its records' schema is known
// only at run time (each table map of the binlog names the columns), so
// Schema is nil; with a schema lock (UseLock) check types its streams
// with the locked schemas, and the source stops when a table's columns
// differ from them.
func init() {
	connector(&Component{
		Kind:         Source,
		Name:         "mysql-cdc",
		ChangeStream: true,
		Elects:       true,
		UseLock: func(cfg any, streams []*lock.Stream, relock string) any {
			c := cfg.(cdc.Config)
			// Non-nil even when empty: a lock of no streams refuses every table.
			c.Locked, c.LockCommand = make([]cdc.LockedTable, 0, len(streams)), relock
			for _, st := range streams {
				t := cdc.LockedTable{Database: st.Namespace, Table: st.Name}
				for _, col := range st.Columns {
					t.Columns = append(t.Columns, cdc.LockedColumn{Name: col.Name, Type: col.Type, Kind: col.Kind.String(), NotNull: col.NotNull})
				}
				c.Locked = append(c.Locked, t)
			}
			return c
		},
		Streams: func(cfg any) Streams {
			out := Streams{Namespaced: true, RowKey: "each table's primary key"}
			for _, t := range cfg.(cdc.Config).SelectedTables() {
				out.Names = append(out.Names, StreamName{Name: t[1], Namespace: t[0]})
			}
			return out
		},
		Go: &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/mysql/cdc", Func: "New", Env: "Now"},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return cdc.New(cfg.(cdc.Config), env.Now)
		},
	}, func(cfg cdc.Config, _ cue.Value, _ *config.Node) (any, error) {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	})
}
