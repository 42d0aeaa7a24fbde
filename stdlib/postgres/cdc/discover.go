package cdc

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/runtime"
)

// Discover implements runtime.Discoverer: the tables the source captures —
// those of its publication when it exists, else the configured tables, else
// the tables of the configured schemas, else every user table — with their
// record schemas (as snapshot and stream produce them), PostgreSQL types
// and primary keys. It only reads catalogs.
func (s *Source) Discover(ctx context.Context) ([]runtime.DiscoveredStream, error) {
	c, err := pgx.ConnectConfig(ctx, s.sqlCfg)
	if err != nil {
		return nil, s.redact(s.connectError(err))
	}
	defer c.Close(context.Background())
	out, err := s.discover(ctx, c)
	return out, s.redact(err)
}

func (s *Source) discover(ctx context.Context, c *pgx.Conn) ([]runtime.DiscoveredStream, error) {
	var list []table
	var err error
	var exists bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)`, s.pub).Scan(&exists); err != nil {
		return nil, fmt.Errorf("postgres-cdc: discover: %w", err)
	}
	switch {
	case exists:
		list, err = tablesOf(ctx, c, `SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2`, s.pub)
	case len(s.tables) > 0:
		list = s.tables
	default:
		var schemas []string
		if len(s.schemas) > 0 {
			schemas = s.schemas
		}
		list, err = tablesOf(ctx, c, `
SELECT n.nspname::text, c.relname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND ($1::text[] IS NULL OR n.nspname = ANY($1))
ORDER BY 1, 2`, schemas)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres-cdc: discover: %w", err)
	}
	out := []runtime.DiscoveredStream{}
	for _, t := range list {
		tb, err := s.describe(ctx, c, t.schema, t.name)
		if err != nil {
			return nil, err
		}
		if len(tb.rel.cols) == 0 {
			return nil, fmt.Errorf("postgres-cdc: discover: table %s does not exist or has no columns", t)
		}
		native := map[string]string{}
		rows, err := c.Query(ctx, `
SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`, quote(t.schema, t.name))
		if err != nil {
			return nil, fmt.Errorf("postgres-cdc: discover %s: %w", t, err)
		}
		type nt struct{ name, typ string }
		nts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (nt, error) {
			var x nt
			return x, r.Scan(&x.name, &x.typ)
		})
		if err != nil {
			return nil, fmt.Errorf("postgres-cdc: discover %s: %w", t, err)
		}
		for _, x := range nts {
			native[x.name] = x.typ
		}
		var pk []string
		for _, i := range tb.pk {
			pk = append(pk, tb.rel.cols[i].name)
		}
		out = append(out, runtime.DiscoveredStream{
			Name: t.name, Namespace: t.schema, Schema: tb.rel.rs, NativeTypes: native, PrimaryKey: pk,
			SyncModes: []string{"full_refresh", "incremental"},
		})
	}
	return out, nil
}

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
