package cdc

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Schema drift. With a schema lock (Config.Locked), code compiled for the
// locked schema reads each table's fields by position, so every table the
// source reads must keep the columns of the lock: the same names, in the
// same order, decoding to the same record types. The snapshot checks each
// table before it reads a row of it; the stream checks each relation
// message (the server sends one before the first change of a table in a
// session, and again once its columns changed), before any change that
// follows it is decoded. A table that differs, or that the lock does not
// hold, stops the source — except, with schema_drift: warn, columns added
// after the locked ones: the records carry them, and compiled code, which
// reads the locked positions only, never sees them (logged once per table
// and set of added columns).

// drift is how a table's columns differ from its lock. Only breaking and
// added count as drift at run time; stale differences do not change the
// records (check --connect reports them so the lock can be refreshed).
type drift struct {
	unlocked bool // the lock does not hold the table
	// breaking describes each dropped, replaced, moved or retyped column.
	breaking []string
	// added are the live columns the lock lacks; appended: they all
	// follow the locked columns, which are unchanged.
	added    []column
	appended bool
	// stale describes type texts that changed with the same record type,
	// and changed nullability (known only from the catalog).
	stale []string
}

// kind is the record type of c's values as runtime.Type's String prints
// it: the form of LockedColumn.Kind.
func (c column) kind() string { return c.typ.runtimeType().String() }

// typeText is c's type for messages: format_type's text when known, else
// the type's catalog name.
func (c column) typeText() string {
	if c.native != "" {
		return c.native
	}
	return c.typ.name
}

// compareLocked compares a table's live columns (in attribute order) with
// lt, its lock (nil: the lock does not hold it), and returns nil when they
// are identical: the same names in the same order with the same record
// types (and, when catalog is set — the columns were read from the catalog
// with their format_type text and nullability —, the same type texts and
// nullability).
func compareLocked(lt *LockedTable, cols []column, catalog bool) *drift {
	if lt == nil {
		return &drift{unlocked: true}
	}
	locked := lt.Columns
	d := &drift{}
	same := func(c column, l LockedColumn) bool { return c.name == l.Name && c.kind() == l.Kind }
	prefix := len(cols) >= len(locked)
	for i := 0; prefix && i < len(locked); i++ {
		prefix = same(cols[i], locked[i])
	}
	if prefix {
		d.added, d.appended = cols[len(locked):], len(cols) > len(locked)
	} else {
		d.compare(locked, cols)
	}
	if catalog {
		liveAt := map[string]int{}
		for i, c := range cols {
			liveAt[c.name] = i
		}
		for _, l := range locked {
			i, ok := liveAt[l.Name]
			if !ok {
				continue
			}
			c := cols[i]
			if c.kind() == l.Kind && c.native != l.Type {
				d.stale = append(d.stale, fmt.Sprintf("column %s changed type from %s to %s (both decode to %s)", QuoteName(l.Name), l.Type, c.native, l.Kind))
			}
			switch {
			case c.notNull && !l.NotNull:
				d.stale = append(d.stale, fmt.Sprintf("column %s became NOT NULL", QuoteName(l.Name)))
			case !c.notNull && l.NotNull:
				d.stale = append(d.stale, fmt.Sprintf("column %s is no longer NOT NULL", QuoteName(l.Name)))
			}
		}
	}
	if len(d.breaking) == 0 && len(d.added) == 0 && len(d.stale) == 0 {
		return nil
	}
	return d
}

// compare fills d.breaking and d.added from columns that do not merely
// extend the locked ones. The columns both have keep their order along a
// longest common subsequence; the others of them moved. A locked column
// the table lacks and a new one between the same kept columns replaced
// it (a rename, or a drop and an add); what is left was dropped or added.
func (d *drift) compare(locked []LockedColumn, cols []column) {
	lockedAt := map[string]int{}
	for i, l := range locked {
		lockedAt[l.Name] = i
	}
	liveAt := map[string]int{}
	for i, c := range cols {
		liveAt[c.name] = i
	}
	// The locked positions of the common columns, in live order.
	var seq []int
	for _, c := range cols {
		if i, ok := lockedAt[c.name]; ok {
			seq = append(seq, i)
		}
	}
	kept := map[int]bool{} // locked positions on the subsequence
	for _, i := range keptOrder(seq) {
		kept[i] = true
	}
	// Slots: the columns of each list between two kept columns.
	var droppedIn, addedIn [][]int
	slot := 0
	for i, l := range locked {
		if kept[i] {
			slot++
			continue
		}
		if _, ok := liveAt[l.Name]; !ok {
			droppedIn = grow(droppedIn, slot)
			droppedIn[slot] = append(droppedIn[slot], i)
		}
	}
	slot = 0
	for j, c := range cols {
		if i, ok := lockedAt[c.name]; ok && kept[i] {
			slot++
			continue
		}
		if _, ok := lockedAt[c.name]; !ok {
			addedIn = grow(addedIn, slot)
			addedIn[slot] = append(addedIn[slot], j)
		}
	}
	var dropped, replaced, moved, retyped []string
	for k := range max(len(droppedIn), len(addedIn)) {
		var dr, ad []int
		if k < len(droppedIn) {
			dr = droppedIn[k]
		}
		if k < len(addedIn) {
			ad = addedIn[k]
		}
		n := min(len(dr), len(ad))
		for x := range n {
			l, c := locked[dr[x]], cols[ad[x]]
			what := fmt.Sprintf("column %s (position %d) is now %s", QuoteName(l.Name), dr[x]+1, QuoteName(c.name))
			if c.kind() != l.Kind {
				what += fmt.Sprintf(" of type %s (%s; locked %s, %s)", c.typeText(), c.kind(), l.Type, l.Kind)
			}
			replaced = append(replaced, what)
		}
		for _, i := range dr[n:] {
			dropped = append(dropped, fmt.Sprintf("column %s (%s) was dropped", QuoteName(locked[i].Name), locked[i].Type))
		}
		for _, j := range ad[n:] {
			d.added = append(d.added, cols[j])
		}
	}
	for j, c := range cols {
		i, ok := lockedAt[c.name]
		if !ok {
			continue
		}
		if !kept[i] {
			moved = append(moved, fmt.Sprintf("column %s moved from position %d to %d", QuoteName(c.name), i+1, j+1))
		}
		if l := locked[i]; c.kind() != l.Kind {
			retyped = append(retyped, fmt.Sprintf("column %s changed type from %s (%s) to %s (%s)", QuoteName(c.name), l.Type, l.Kind, c.typeText(), c.kind()))
		}
	}
	d.breaking = append(append(append(dropped, replaced...), moved...), retyped...)
}

// grow extends s to hold index i.
func grow(s [][]int, i int) [][]int {
	for len(s) <= i {
		s = append(s, nil)
	}
	return s
}

// keptOrder returns a longest increasing subsequence of seq, the locked
// positions of the common columns in live order: of several, the one that
// keeps the earlier live columns. PostgreSQL only appends columns, so a
// column out of order is rather one dropped and added again (now last)
// than the columns before it.
func keptOrder(seq []int) []int {
	// Scanned from the end, the subsequence is a decreasing one; the scan
	// keeps the last candidates it sees, the earliest live columns.
	rev := make([]int, len(seq))
	for i, v := range seq {
		rev[len(seq)-1-i] = -v
	}
	lis := longestIncreasing(rev)
	out := make([]int, len(lis))
	for i, v := range lis {
		out[len(lis)-1-i] = -v
	}
	return out
}

// longestIncreasing returns a longest strictly increasing subsequence of
// seq (its values, in order).
func longestIncreasing(seq []int) []int {
	// tails[k]: index in seq of the smallest tail of an increasing
	// subsequence of length k+1; prev links each element to its
	// predecessor.
	var tails []int
	prev := make([]int, len(seq))
	for i, v := range seq {
		lo, hi := 0, len(tails)
		for lo < hi {
			m := (lo + hi) / 2
			if seq[tails[m]] < v {
				lo = m + 1
			} else {
				hi = m
			}
		}
		prev[i] = -1
		if lo > 0 {
			prev[i] = tails[lo-1]
		}
		if lo == len(tails) {
			tails = append(tails, i)
		} else {
			tails[lo] = i
		}
	}
	out := make([]int, len(tails))
	for k, i := len(tails)-1, -1; k >= 0; k-- {
		if k == len(tails)-1 {
			i = tails[k]
		}
		out[k] = seq[i]
		i = prev[i]
	}
	return out
}

// breaks reports whether d stops a source whose policy is mode.
func (d *drift) breaks(mode string) bool {
	switch {
	case d.unlocked || len(d.breaking) > 0:
		return true
	case len(d.added) == 0:
		return false // stale only: the records are those of the lock
	}
	return mode != SchemaDriftWarn || !d.appended
}

// addedText describes the added columns.
func (d *drift) addedText() string {
	names := make([]string, len(d.added))
	for i, c := range d.added {
		names[i] = fmt.Sprintf("%s (%s, %s)", QuoteName(c.name), c.typeText(), c.kind())
	}
	where := ""
	if d.appended {
		where = " after the locked ones"
	}
	if len(names) == 1 {
		return "column " + names[0] + " was added" + where
	}
	return "columns " + strings.Join(names, ", ") + " were added" + where
}

// describe says how the table differs: breaking changes, then added
// columns, then (withStale) stale ones, separated by "; ".
func (d *drift) describe(withStale bool) string {
	parts := append([]string(nil), d.breaking...)
	if len(d.added) > 0 {
		parts = append(parts, d.addedText())
	}
	if withStale {
		parts = append(parts, d.stale...)
	}
	return strings.Join(parts, "; ")
}

// lockedTable returns the lock's table schema.name, or nil.
func (cfg *Config) lockedTable(schema, name string) *LockedTable {
	for i := range cfg.Locked {
		if cfg.Locked[i].Schema == schema && cfg.Locked[i].Table == name {
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

// checkDrift judges rel, a table the source reads, against the schema
// lock; without one it does nothing. Drift that the policy
// (Config.SchemaDrift) lets through is logged once per table and set of
// added columns; other drift, or a table the lock does not hold, is a
// fatal error naming the table and the columns. The snapshot calls it
// for each table before reading it, and the stream for each relation
// message (on its goroutine: s.sql then belongs to it; it is used only
// when there is drift, to name the live types).
func (s *Source) checkDrift(ctx context.Context, rel *relation) error {
	if s.cfg.Locked == nil {
		return nil
	}
	d := compareLocked(s.cfg.lockedTable(rel.schema, rel.table), rel.cols, false)
	if d == nil {
		return nil
	}
	t := rel.name()
	if !d.breaks(s.cfg.SchemaDrift) {
		names := make([]string, len(d.added))
		for i, c := range d.added {
			names[i] = c.name
		}
		if s.once("schema drift\x00" + t.String() + "\x00" + strings.Join(names, "\x00")) {
			s.logger().Warn("columns were added to a table after its locked ones (schema_drift: warn): records carry them, code compiled for the schema lock does not read them; "+
				"rewrite the lock to use them", "table", t.String(), "columns", strings.Join(names, ", "), "lock", s.cfg.lockCommand())
		}
		return nil
	}
	if d.unlocked {
		return fatalError{fmt.Errorf("postgres-cdc: table %s is not in the schema lock, which holds %s: run %s to lock it",
			t, lockedNames(s.cfg.Locked), s.cfg.lockCommand())}
	}
	if s.nameTypes(ctx, rel.cols) {
		d = compareLocked(s.cfg.lockedTable(rel.schema, rel.table), rel.cols, false)
	}
	policy := ""
	if s.cfg.SchemaDrift == SchemaDriftWarn {
		policy = " (schema_drift: warn lets through only columns added after the locked ones)"
	}
	return fatalError{fmt.Errorf("postgres-cdc: the columns of table %s no longer match the schema lock: %s%s; run %s to accept the new schema",
		t, d.describe(false), policy, s.cfg.lockCommand())}
}

// lockedNames lists the lock's tables for messages.
func lockedNames(ls []LockedTable) string {
	if len(ls) == 0 {
		return "no table"
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = table{l.Schema, l.Table}.String()
	}
	return strings.Join(names, ", ")
}

// nameTypes sets the format_type text (without type modifier) of the
// columns that lack one, for messages, and reports whether it did; on
// failure they keep the type's catalog name.
func (s *Source) nameTypes(ctx context.Context, cols []column) bool {
	var oids []uint32
	for _, c := range cols {
		if c.native == "" {
			oids = append(oids, c.typ.oid)
		}
	}
	if len(oids) == 0 || s.sql == nil {
		return false
	}
	rows, err := s.sql.Query(ctx, `SELECT pg_catalog.format_type(t, NULL) FROM unnest($1::oid[]) WITH ORDINALITY AS u(t, n) ORDER BY n`, oids)
	if err != nil {
		return false
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(texts) != len(oids) {
		return false
	}
	k := 0
	for i := range cols {
		if cols[i].native == "" {
			cols[i].native = texts[k]
			k++
		}
	}
	return true
}

// validLock checks the lock's plain data: named tables, each once, with
// named columns, each once, that have a record type.
func validLock(ls []LockedTable) []error {
	var errs []error
	seen := map[table]bool{}
	for _, l := range ls {
		t := table{l.Schema, l.Table}
		if l.Schema == "" || l.Table == "" {
			errs = append(errs, fmt.Errorf("postgres-cdc: schema lock: table %q.%q needs a schema and a name", l.Schema, l.Table))
			continue
		}
		if seen[t] {
			errs = append(errs, fmt.Errorf("postgres-cdc: schema lock: table %s is locked twice", t))
		}
		seen[t] = true
		cols := map[string]bool{}
		for i, c := range l.Columns {
			switch {
			case c.Name == "":
				errs = append(errs, fmt.Errorf("postgres-cdc: schema lock: column %d of table %s has no name", i+1, t))
			case cols[c.Name]:
				errs = append(errs, fmt.Errorf("postgres-cdc: schema lock: column %s of table %s is locked twice", QuoteName(c.Name), t))
			case c.Kind == "":
				errs = append(errs, fmt.Errorf("postgres-cdc: schema lock: column %s of table %s has no record type", QuoteName(c.Name), t))
			}
			cols[c.Name] = true
		}
	}
	return errs
}
