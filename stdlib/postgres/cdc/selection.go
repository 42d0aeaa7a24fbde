package cdc

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// The selection: the tables a source reads and streams are those of
// config.tables (or the streams list), else every table of config.schemas,
// else every table of the publication. A publication may cover more (one
// created by the user for several pipelines): the other tables' changes
// still arrive from the server, and are dropped undecoded.

// selected reports whether the table schema.name is in the selection.
func (s *Source) selected(schema, name string) bool {
	if len(s.tables) > 0 {
		for _, t := range s.tables {
			if t.schema == schema && t.name == name {
				return true
			}
		}
		return false
	}
	if len(s.schemas) > 0 {
		for _, n := range s.schemas {
			if n == schema {
				return true
			}
		}
		return false
	}
	return true
}

// ignoring logs, once per table and run, that a published table is not
// selected.
func (s *Source) ignoring(schema, name string) {
	key := table{schema, name}.String()
	if !s.once(key) {
		return
	}
	s.logger().Info("publication covers a table this source does not select: its changes are dropped",
		"publication", s.pub, "table", key)
}

// once reports whether key is seen for the first time in this run: what is
// logged once per run is logged when it reports true. Keys are table names
// (ignoring), or start with a word and a NUL (other uses: no table name
// holds a NUL).
func (s *Source) once(key string) bool {
	s.ignoredMu.Lock()
	defer s.ignoredMu.Unlock()
	if s.ignored[key] {
		return false
	}
	if s.ignored == nil {
		s.ignored = map[string]bool{}
	}
	s.ignored[key] = true
	return true
}

// captured lists the tables the source captures, by name: the selected
// tables of the publication when it exists; else the configured tables;
// else the user tables of the configured schemas, or every user table
// (those a publication this source creates would cover). It only reads
// catalogs.
func (s *Source) captured(ctx context.Context, c *pgx.Conn) ([]table, error) {
	var exists bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)`, s.pub).Scan(&exists); err != nil {
		return nil, err
	}
	switch {
	case exists:
		pub, err := tablesOf(ctx, c, `SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2`, s.pub)
		if err != nil {
			return nil, err
		}
		var out []table
		for _, t := range pub {
			if s.selected(t.schema, t.name) {
				out = append(out, t)
			}
		}
		return out, nil
	case len(s.tables) > 0:
		return s.tables, nil
	}
	var schemas []string
	if len(s.schemas) > 0 {
		schemas = s.schemas
	}
	return tablesOf(ctx, c, `
SELECT n.nspname::text, c.relname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND ($1::text[] IS NULL OR n.nspname = ANY($1))
ORDER BY 1, 2`, schemas)
}

// tablesOf runs sql, which selects schema and table names.
func tablesOf(ctx context.Context, c *pgx.Conn, sql string, args ...any) ([]table, error) {
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.schema, &t.name)
	})
}
