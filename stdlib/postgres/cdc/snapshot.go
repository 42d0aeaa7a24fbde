package cdc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/runtime"
)

// snapshotChunk is the number of rows read per query.
const snapshotChunk = 1000

// relation is a table as records see it: its columns in attribute order
// (without dropped and generated columns, like pgoutput) and its schema.
type relation struct {
	schema, table string
	cols          []column
	rs            *runtime.Schema
	// ignored marks a published table the config does not select: its
	// changes are dropped without being decoded.
	ignored bool
}

// name is the relation's table (its String is how messages show it).
func (r *relation) name() table { return table{r.schema, r.table} }

type column struct {
	name  string
	typ   *pgType
	key   bool // part of the row key (see rowKey; the record's metadata.key)
	ident bool // part of the replica identity key (sent in key-only old tuples)
	// native is the type as format_type prints it ("numeric(10,2)") and
	// notNull the column's NOT NULL, when read from the catalog (describe;
	// relation messages carry neither): for discover and schema drift.
	native  string
	notNull bool
}

// newRelation describes a table whose row key is the columns named key,
// in key order (see rowKey): it marks them in cols and in the schema, so
// that keyed sinks key every change of a row alike.
func newRelation(schema, table string, cols []column, key []string) *relation {
	fields := make([]runtime.Field, len(cols))
	for i, c := range cols {
		fields[i] = runtime.Field{Name: c.name, Type: c.typ.runtimeType(), Nullable: true}
	}
	rs := runtime.NewSchema(fields...)
	for _, k := range key {
		for i := range cols {
			if cols[i].name == k {
				cols[i].key = true
				rs.Key = append(rs.Key, i)
			}
		}
	}
	return &relation{schema: schema, table: table, cols: cols, rs: rs}
}

// snapshot reads every published table inside the snapshot exported with
// the slot, in primary-key order, snapshotChunk rows per query.
type snapshot struct {
	tx      pgx.Tx
	lsn     string // the slot's consistent point ("" without a slot)
	tables  []snapTable
	ti      int
	pending []runtime.Record
	after   [][]byte // key of the last row read (text), nil before the first chunk
	cursor  bool     // the current table (no primary key) is read through a cursor
	row     uint64   // rows of the current table read (the n of their tokens)
	emitted bool
	buf     []byte // scratch for a token
}

type snapTable struct {
	rel      *relation
	estimate int64 // the server's row estimate (pg_class.reltuples; 0 unknown)
	pk       []int // column indexes of the primary key, in key order
	pkTy     []uint32
	token    string // its records' tokens up to the ordinal (token.go)
}

// beginSnapshot opens the snapshot transaction (importing name when
// non-empty) and lists the tables to read.
func (s *Source) beginSnapshot(ctx context.Context, name, lsn string) error {
	if name != "" && !snapshotName.MatchString(name) {
		return fmt.Errorf("postgres-cdc: unexpected snapshot name %q from the server", name)
	}
	tx, err := s.sql.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres-cdc: begin snapshot: %w", err)
	}
	s.snap = &snapshot{tx: tx, lsn: lsn}
	if name != "" {
		// name matched snapshotName: hex digits and dashes only.
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+name+"'"); err != nil {
			return fmt.Errorf("postgres-cdc: import snapshot: %w", err)
		}
	}
	// A table without a primary key is read in its physical order, from
	// its first page: a synchronized scan would start where another scan
	// of the table is, and number its rows (their tokens) otherwise.
	if _, err := tx.Exec(ctx, "SET LOCAL synchronize_seqscans = off"); err != nil {
		return fmt.Errorf("postgres-cdc: begin snapshot: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2`, s.pub)
	if err != nil {
		return fmt.Errorf("postgres-cdc: list published tables: %w", err)
	}
	type st struct{ schema, table string }
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (st, error) {
		var x st
		err := r.Scan(&x.schema, &x.table)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("postgres-cdc: list published tables: %w", err)
	}
	for _, t := range list {
		if !s.selected(t.schema, t.table) {
			s.ignoring(t.schema, t.table)
			continue
		}
		tb, err := s.describe(ctx, tx, t.schema, t.table)
		if err != nil {
			return err
		}
		// Before any row of it: code compiled for a schema lock reads the
		// locked positions.
		if err := s.checkDrift(ctx, tb.rel); err != nil {
			return err
		}
		s.snap.tables = append(s.snap.tables, tb)
	}
	return nil
}

// describe reads a table's columns (with their format_type text and
// NOT NULL) and primary key.
func (s *Source) describe(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}, schema, name string) (snapTable, error) {
	var relid uint32
	var estimate int64
	if err := q.QueryRow(ctx, `
SELECT c.oid, GREATEST(c.reltuples, 0)::int8 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`, schema, name).Scan(&relid, &estimate); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return snapTable{}, fmt.Errorf("postgres-cdc: table %s does not exist", table{schema, name})
		}
		return snapTable{}, fmt.Errorf("postgres-cdc: describe %s: %w", table{schema, name}, err)
	}
	key, err := rowKey(ctx, q, relid)
	if err != nil {
		return snapTable{}, err
	}
	rows, err := q.Query(ctx, `
SELECT a.attname::text, a.atttypid::int8, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       COALESCE((SELECT k.ord FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) WHERE k.attnum = a.attnum), 0)::int8
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum`, schema, name)
	if err != nil {
		return snapTable{}, fmt.Errorf("postgres-cdc: describe %s: %w", table{schema, name}, err)
	}
	type col struct {
		name, native string
		notNull      bool
		oid, pk      int64
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		err := r.Scan(&c.name, &c.oid, &c.native, &c.notNull, &c.pk)
		return c, err
	})
	if err != nil {
		return snapTable{}, fmt.Errorf("postgres-cdc: describe %s: %w", table{schema, name}, err)
	}
	cols := make([]column, len(cs))
	var pkPos []int64
	for i, c := range cs {
		t, err := s.types.resolve(ctx, q, uint32(c.oid))
		if err != nil {
			return snapTable{}, err
		}
		cols[i] = column{name: c.name, typ: t, native: c.native, notNull: c.notNull}
		pkPos = append(pkPos, c.pk)
	}
	tb := snapTable{rel: newRelation(schema, name, cols, key), estimate: estimate}
	tb.token = snapshotTokenPrefixOf(tb.rel)
	for k := int64(1); ; k++ {
		found := false
		for i, p := range pkPos {
			if p == k {
				tb.pk = append(tb.pk, i)
				tb.pkTy = append(tb.pkTy, cols[i].typ.oid)
				found = true
			}
		}
		if !found {
			break
		}
	}
	return tb, nil
}

// readSnapshot fills batch from the snapshot; 0 records and no error mean
// the snapshot is finished.
func (s *Source) readSnapshot(ctx context.Context, batch []runtime.Record) (int, error) {
	sn := s.snap
	for len(sn.pending) == 0 {
		if sn.ti >= len(sn.tables) {
			return 0, nil
		}
		tb := &sn.tables[sn.ti]
		if sn.after == nil && !sn.cursor {
			s.setDoing("snapshotting "+tb.rel.name().String(), tb.estimate)
		}
		more, err := s.fetchChunk(ctx, tb)
		if err != nil {
			return 0, err
		}
		if !more {
			sn.ti++
			sn.after, sn.cursor, sn.row = nil, false, 0
		}
	}
	n := copy(batch, sn.pending)
	clear(sn.pending[:n])
	sn.pending = sn.pending[n:]
	return n, nil
}

// fetchChunk reads the next chunk of tb into pending; false means tb is
// finished.
func (s *Source) fetchChunk(ctx context.Context, tb *snapTable) (bool, error) {
	sn := s.snap
	rel := tb.rel
	names := make([]string, len(rel.cols))
	for i, c := range rel.cols {
		names[i] = quote(c.name)
	}
	from := quote(rel.schema, rel.table)
	var sql string
	var params [][]byte
	var oids []uint32
	if len(tb.pk) > 0 {
		keys := make([]string, len(tb.pk))
		ph := make([]string, len(tb.pk))
		for i, p := range tb.pk {
			keys[i] = names[p]
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		sql = "SELECT " + strings.Join(names, ", ") + " FROM " + from
		if sn.after != nil {
			sql += " WHERE (" + strings.Join(keys, ", ") + ") > (" + strings.Join(ph, ", ") + ")"
			params, oids = sn.after, tb.pkTy
		}
		sql += " ORDER BY " + strings.Join(keys, ", ") + fmt.Sprintf(" LIMIT %d", snapshotChunk)
	} else {
		if !sn.cursor {
			if _, err := sn.tx.Exec(ctx, "DECLARE rivven_snapshot NO SCROLL CURSOR FOR SELECT "+strings.Join(names, ", ")+" FROM "+from); err != nil {
				return false, fmt.Errorf("postgres-cdc: snapshot %s: %w", rel.name(), err)
			}
			sn.cursor = true
		}
		sql = fmt.Sprintf("FETCH %d FROM rivven_snapshot", snapshotChunk)
	}
	rr := s.sql.PgConn().ExecParams(ctx, sql, params, oids, nil, nil)
	rows := 0
	var last [][]byte
	for rr.NextRow() {
		vals := rr.Values()
		row := make([]runtime.Value, len(rel.cols))
		for i, raw := range vals {
			if raw == nil {
				continue
			}
			v, err := decodeText(rel.cols[i].typ, raw)
			if err != nil {
				_, _ = rr.Close()
				return false, fmt.Errorf("%w (column %s of %s)", err, QuoteName(rel.cols[i].name), rel.name())
			}
			row[i] = v
		}
		rows++
		s.prog.done.Add(1)
		if len(tb.pk) > 0 {
			last = last[:0]
			for _, p := range tb.pk {
				last = append(last, append([]byte(nil), vals[p]...))
			}
		}
		s.seq.Add(1)
		sn.row++
		sn.buf = strconv.AppendUint(append(sn.buf[:0], tb.token...), sn.row, 10)
		sn.pending = append(sn.pending, runtime.Record{
			Stream: rel.table, Namespace: rel.schema, Op: runtime.OpSnapshot, Schema: rel.rs,
			After: row, Time: s.now(), Position: runtime.Position{Offset: s.seq.Load(), Token: string(sn.buf)},
			Meta: s.meta(rel, row, 0, sn.lsn, "", "", true, nil),
		})
	}
	if _, err := rr.Close(); err != nil {
		return false, fmt.Errorf("postgres-cdc: snapshot %s: %w", rel.name(), err)
	}
	if rows > 0 {
		sn.emitted = true
	}
	if len(tb.pk) > 0 {
		sn.after = last
		return rows == snapshotChunk, nil
	}
	if rows == 0 {
		if _, err := sn.tx.Exec(ctx, "CLOSE rivven_snapshot"); err != nil {
			return false, fmt.Errorf("postgres-cdc: snapshot %s: %w", rel.name(), err)
		}
		return false, nil
	}
	return true, nil
}

// endSnapshot commits the snapshot transaction and records the offset of
// its last record: the snapshot counts as done once that is acknowledged.
func (s *Source) endSnapshot(ctx context.Context) error {
	sn := s.snap
	if err := sn.tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres-cdc: end snapshot: %w", err)
	}
	s.snap = nil
	s.mu.Lock()
	if sn.emitted {
		s.snapLast = s.seq.Load()
		s.advanceLocked()
	} else {
		s.snapAcked = true
	}
	done := s.snapAcked
	s.mu.Unlock()
	if done {
		return s.markSnapshotDone()
	}
	return nil
}

// meta builds a record's metadata: transaction_id, key (the key columns'
// values), source {connector, database, schema, table, lsn, commit_lsn,
// commit_time, snapshot} and, when any, unchanged_toast (column names).
func (s *Source) meta(rel *relation, row []runtime.Value, xid uint32, lsn, commitLSN, commitTime string, snap bool, toast []runtime.Value) *runtime.Object {
	m := runtime.NewObject(4)
	if snap {
		m.Set("transaction_id", runtime.Null())
	} else {
		m.Set("transaction_id", runtime.Int(int64(xid)))
	}
	var key *runtime.Object
	for i, c := range rel.cols {
		if c.key && i < len(row) {
			if key == nil {
				key = runtime.NewObject(2)
			}
			key.Set(c.name, row[i])
		}
	}
	if key != nil {
		m.Set("key", runtime.ObjectValue(key))
	} else {
		m.Set("key", runtime.Null())
	}
	src := runtime.NewObject(8)
	src.Set("connector", runtime.String("postgres-cdc"))
	src.Set("database", runtime.String(s.cfg.Database))
	src.Set("schema", runtime.String(rel.schema))
	src.Set("table", runtime.String(rel.table))
	src.Set("lsn", strOrNull(lsn))
	src.Set("commit_lsn", strOrNull(commitLSN))
	src.Set("commit_time", strOrNull(commitTime))
	src.Set("snapshot", runtime.Bool(snap))
	m.Set("source", runtime.ObjectValue(src))
	if len(toast) > 0 {
		m.Set("unchanged_toast", runtime.ArrayValue(toast))
	}
	return m
}

func strOrNull(s string) runtime.Value {
	if s == "" {
		return runtime.Null()
	}
	return runtime.String(s)
}
