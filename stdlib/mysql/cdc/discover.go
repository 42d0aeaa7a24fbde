package cdc

import (
	"context"

	"github.com/rivven/rivven-connect/runtime"
)

// Discover implements runtime.Discoverer: the configured tables
// (Config.Tables, in config order) with their record schemas as snapshot
// and stream produce them (field order, record types, and Schema.Key the
// primary key), each column's type as information_schema.COLUMNS names it
// (COLUMN_TYPE: "int(11)", "decimal(10,2) unsigned", "enum('a','b')") in
// NativeTypes, the primary key (PrimaryKey) and the NOT NULL columns
// (NotNull): what a schema lock holds. A table that does not exist (or
// that the user may not read) is an error naming it. It only reads
// information_schema.
func (s *Source) Discover(ctx context.Context) ([]runtime.DiscoveredStream, error) {
	db, err := s.openDB(ctx)
	if err != nil {
		return nil, s.redact(err)
	}
	defer db.Close()
	out := []runtime.DiscoveredStream{}
	for _, t := range s.tables {
		rel, err := describe(ctx, db, t)
		if err != nil {
			return nil, s.redact(err)
		}
		out = append(out, discovered(rel))
	}
	return out, nil
}

// discovered is the stream of a relation read from the catalog.
func discovered(rel *relation) runtime.DiscoveredStream {
	native := make(map[string]string, len(rel.cols))
	notNull := map[string]bool{}
	for _, c := range rel.cols {
		native[c.name] = c.display
		if c.notNull {
			notNull[c.name] = true
		}
	}
	var pk []string
	for _, k := range rel.pk {
		pk = append(pk, rel.cols[k].name)
	}
	return runtime.DiscoveredStream{Name: rel.t.name, Namespace: rel.t.db, Schema: rel.rs, NativeTypes: native,
		PrimaryKey: pk, NotNull: notNull, SyncModes: []string{"full_refresh", "incremental"}}
}
