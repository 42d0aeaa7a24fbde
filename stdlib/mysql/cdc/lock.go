package cdc

import (
	"context"
	"fmt"
	"strings"
)

// LockedTable is one table of a schema lock: exact names (database and
// table, as information_schema holds them) and its columns in record
// order.
type LockedTable struct {
	Database, Table string
	Columns         []LockedColumn
}

// LockedColumn is one column of a LockedTable.
type LockedColumn struct {
	Name string
	// Type is the column's type as information_schema.COLUMNS.COLUMN_TYPE
	// names it ("varchar(20)", "bigint(20) unsigned"); shown in messages
	// only.
	Type string
	// Kind is the record type its values decode to, as runtime.Type's
	// String prints it: "int", "float" or "string". Drift is judged on Kind
	// (and names and order).
	Kind string
	// NotNull: the column refuses nulls (for information: records treat
	// every field as nullable, and drift does not consider it).
	NotNull bool
}

// DefaultLockCommand is the command drift errors suggest when
// Config.LockCommand is empty.
const DefaultLockCommand = "rivven-connect discover -c FILE SOURCE --lock"

// lockedTable returns the lock's table t, or nil.
func (cfg *Config) lockedTable(t table) *LockedTable {
	for i := range cfg.Locked {
		if cfg.Locked[i].Database == t.db && cfg.Locked[i].Table == t.name {
			return &cfg.Locked[i]
		}
	}
	return nil
}

// lockCommand is the command that rewrites the lock.
func (cfg *Config) lockCommand() string {
	if cfg.LockCommand != "" {
		return cfg.LockCommand
	}
	return DefaultLockCommand
}

// recordKind is the record type of c's values, the form of
// LockedColumn.Kind.
func (c *column) recordKind() string { return c.kind.runtimeType().String() }

// typeText is c's type for messages: its COLUMN_TYPE when read from the
// catalog, else its record type (a binlog table map's column).
func (c *column) typeText() string {
	if c.display != "" {
		return c.display
	}
	return c.recordKind()
}

// lockDrift describes how cols, a table's live columns in order, differ
// from lt: columns dropped, added, moved or of another record type; empty
// when they have the same names in the same order with the same record
// types.
func lockDrift(lt *LockedTable, cols []column) []string {
	lockedAt := map[string]int{}
	for i, l := range lt.Columns {
		lockedAt[l.Name] = i
	}
	liveAt := map[string]int{}
	for i, c := range cols {
		liveAt[c.name] = i
	}
	var dropped, added, moved, retyped []string
	for _, l := range lt.Columns {
		if _, ok := liveAt[l.Name]; !ok {
			dropped = append(dropped, fmt.Sprintf("column %s (%s) was dropped", quoteIdent(l.Name), l.Type))
		}
	}
	// Moved: the common columns whose rank among the common columns
	// changed (a column added or dropped before another does not move it).
	var common []string
	for _, l := range lt.Columns {
		if _, ok := liveAt[l.Name]; ok {
			common = append(common, l.Name)
		}
	}
	rank := 0
	for i := range cols {
		c := &cols[i]
		j, ok := lockedAt[c.name]
		if !ok {
			added = append(added, fmt.Sprintf("column %s (%s, %s) was added at position %d", quoteIdent(c.name), c.typeText(), c.recordKind(), i+1))
			continue
		}
		if common[rank] != c.name {
			moved = append(moved, fmt.Sprintf("column %s moved from position %d to %d", quoteIdent(c.name), j+1, i+1))
		}
		rank++
		if l := lt.Columns[j]; l.Kind != c.recordKind() {
			retyped = append(retyped, fmt.Sprintf("column %s changed type from %s (%s) to %s (%s)", quoteIdent(c.name), l.Type, l.Kind, c.typeText(), c.recordKind()))
		}
	}
	return append(append(append(dropped, added...), moved...), retyped...)
}

// checkLock judges rel, a table the source reads (from the catalog at
// Open, or from a binlog table map while streaming), against the schema
// lock; without one it does nothing. A table the lock does not hold, or
// whose columns differ from it, is a fatalError naming the table, the
// columns and the command that rewrites the lock.
func (s *Source) checkLock(rel *relation) error {
	if s.cfg.Locked == nil {
		return nil
	}
	lt := s.cfg.lockedTable(rel.t)
	if lt == nil {
		return fatalError{fmt.Errorf("mysql-cdc: table %s is not in the schema lock, which holds %s: run %s to lock it",
			rel.t, lockedNames(s.cfg.Locked), s.cfg.lockCommand())}
	}
	d := lockDrift(lt, rel.cols)
	if len(d) == 0 {
		return nil
	}
	if added := appendedColumns(lt, rel.cols); added != nil && s.cfg.SchemaDrift == SchemaDriftWarn {
		key := rel.t.String() + "\x00" + strings.Join(added, "\x00")
		if _, warned := s.drifted.LoadOrStore(key, true); !warned {
			s.logger().Warn("columns were added to a table after its locked ones (schema_drift: warn): records carry them, code compiled for the schema lock does not read them; "+
				"rewrite the lock to use them", "table", rel.t.String(), "columns", strings.Join(added, ", "), "lock", s.cfg.lockCommand())
		}
		return nil
	}
	policy := ""
	if s.cfg.SchemaDrift == SchemaDriftWarn {
		policy = " (schema_drift: warn lets through only columns added after the locked ones)"
	}
	return fatalError{fmt.Errorf("mysql-cdc: the columns of table %s no longer match the schema lock: %s%s; run %s to accept the new schema",
		rel.t, strings.Join(d, "; "), policy, s.cfg.lockCommand())}
}

// appendedColumns returns the names of the columns of cols after the
// locked ones when the others are the lock's (the same names, order and
// record types), the only drift schema_drift: warn lets through; nil
// otherwise.
func appendedColumns(lt *LockedTable, cols []column) []string {
	if len(cols) <= len(lt.Columns) {
		return nil
	}
	for i, l := range lt.Columns {
		if cols[i].name != l.Name || cols[i].recordKind() != l.Kind {
			return nil
		}
	}
	var out []string
	for _, c := range cols[len(lt.Columns):] {
		out = append(out, c.name)
	}
	return out
}

// checkLockAtOpen checks each configured table's columns, as the catalog
// holds them now, against the schema lock.
func (s *Source) checkLockAtOpen(ctx context.Context) error {
	if s.cfg.Locked == nil {
		return nil
	}
	for _, t := range s.tables {
		rel, err := describe(ctx, s.db, t)
		if err != nil {
			return err
		}
		if err := s.checkLock(rel); err != nil {
			return err
		}
	}
	return nil
}

// lockedNames lists the lock's tables for messages.
func lockedNames(ls []LockedTable) string {
	if len(ls) == 0 {
		return "no table"
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = table{l.Database, l.Table}.String()
	}
	return strings.Join(names, ", ")
}
