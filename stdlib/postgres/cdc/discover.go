package cdc

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/runtime"
)

// Discover implements runtime.Discoverer: the tables the source captures —
// the selected tables of its publication when it exists, else the
// configured tables, else the tables of the configured schemas, else every
// user table — with their record schemas (as snapshot and stream produce
// them: field order, record types, and Schema.Key the row key), each
// column's PostgreSQL type as format_type prints it (NativeTypes), the
// primary key (PrimaryKey) and the NOT NULL columns (NotNull): what a
// schema lock holds. It only reads catalogs.
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
	list, err := s.captured(ctx, c)
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
			return nil, fmt.Errorf("postgres-cdc: discover: table %s has no columns", t)
		}
		native := map[string]string{}
		notNull := map[string]bool{}
		for _, col := range tb.rel.cols {
			native[col.name] = col.native
			if col.notNull {
				notNull[col.name] = true
			}
		}
		var pk []string
		for _, i := range tb.pk {
			pk = append(pk, tb.rel.cols[i].name)
		}
		out = append(out, runtime.DiscoveredStream{
			Name: t.name, Namespace: t.schema, Schema: tb.rel.rs, NativeTypes: native, PrimaryKey: pk,
			NotNull: notNull, SyncModes: []string{"full_refresh", "incremental"},
		})
	}
	return out, nil
}
