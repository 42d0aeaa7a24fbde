package cdc

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// snapshotChunk is the number of rows read per query.
const snapshotChunk = 1000

// relation is a table as records see it.
type relation struct {
	t    table
	cols []column
	rs   *runtime.Schema
	pk   []int
}

func newRelation(t table, cols []column, pk []int) *relation {
	fields := make([]runtime.Field, len(cols))
	for i, c := range cols {
		fields[i] = runtime.Field{Name: c.name, Type: c.kind.runtimeType(), Nullable: true}
	}
	rs := runtime.NewSchema(fields...)
	for _, k := range pk {
		cols[k].key = true
		rs.Key = append(rs.Key, k)
	}
	return &relation{t: t, cols: cols, rs: rs, pk: pk}
}

// snapshot reads the tables inside one consistent snapshot
// (START TRANSACTION WITH CONSISTENT SNAPSHOT), in primary-key order,
// snapshotChunk rows per query. at is the binlog position of the snapshot.
type snapshot struct {
	conn    *sql.Conn
	at      token
	rels    []*relation
	ti      int
	row     uint64 // rows of rels[ti] read so far
	after   []any  // primary key of the last row read; nil before the first chunk
	pending []runtime.Record
	held    *runtime.Record // the last record read: its token depends on whether another follows
	connID  int64           // the snapshot connection's CONNECTION_ID() (tests)
	lostAt  time.Time       // when the snapshot's connection was first lost (zero: it was not)
	retries int             // restarts since lostAt
}

func (sn *snapshot) close() {
	if sn.conn != nil {
		_, _ = sn.conn.ExecContext(context.Background(), "ROLLBACK")
		_ = sn.conn.Close()
		sn.conn = nil
	}
}

// beginSnapshot starts the consistent snapshot and reads the binlog
// position that matches it exactly.
func (s *Source) beginSnapshot(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mysql-cdc: snapshot connection: %w", err)
	}
	sn := &snapshot{conn: conn}
	if old := s.snap; old != nil {
		// A restart after a lost connection (restartSnapshot): what the
		// last one read and handed out stays handed out.
		sn.pending, sn.held, sn.lostAt, sn.retries = old.pending, old.held, old.lostAt, old.retries
	}
	s.snap = sn
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&sn.connID); err != nil {
		return fmt.Errorf("mysql-cdc: snapshot connection: %w", err)
	}
	if sn.at, err = consistentSnapshot(ctx, conn); err != nil {
		return err
	}
	var gtid sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", sn.at.file, sn.at.pos).Scan(&gtid); err != nil {
		return fmt.Errorf("mysql-cdc: BINLOG_GTID_POS: %w", err)
	}
	sn.at.gtid = gtid.String
	s.start = sn.at
	tables := s.tables
	if s.snapTables != nil {
		tables = s.snapTables
	}
	for _, t := range tables {
		rel, err := describe(ctx, conn, t)
		if err != nil {
			return err
		}
		// The columns the snapshot reads (a DDL may have come after Open's check).
		if err := s.checkLock(rel); err != nil {
			return err
		}
		if len(rel.pk) == 0 {
			return fmt.Errorf("mysql-cdc: table %s has no primary key: the snapshot reads in primary-key order and records are keyed by it; add one (ALTER TABLE %s ADD PRIMARY KEY (…))", t, t)
		}
		sn.rels = append(sn.rels, rel)
	}
	s.logger().Info("snapshot started", "binlog_file", sn.at.file, "binlog_pos", sn.at.pos, "gtid", sn.at.gtid, "tables", len(sn.rels))
	return nil
}

// consistentSnapshot starts a consistent-snapshot transaction on conn
// (REPEATABLE READ, START TRANSACTION WITH CONSISTENT SNAPSHOT, no global
// lock) and returns the binlog position that matches it exactly
// (MariaDB's binlog_snapshot_file/binlog_snapshot_position), without its
// GTID position.
func consistentSnapshot(ctx context.Context, conn *sql.Conn) (token, error) {
	var at token
	for _, st := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"} {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return at, fmt.Errorf("mysql-cdc: begin snapshot: %s: %w", st, err)
		}
	}
	rows, err := conn.QueryContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return at, fmt.Errorf("mysql-cdc: snapshot position: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return at, fmt.Errorf("mysql-cdc: snapshot position: %w", err)
		}
		switch strings.ToLower(k) {
		case "binlog_snapshot_file":
			at.file = v
		case "binlog_snapshot_position":
			var p uint64
			if _, err := fmt.Sscan(v, &p); err != nil {
				return at, fmt.Errorf("mysql-cdc: snapshot position %q", v)
			}
			at.pos = uint32(p)
		}
	}
	if err := rows.Err(); err != nil {
		return at, fmt.Errorf("mysql-cdc: snapshot position: %w", err)
	}
	if at.file == "" || at.pos < 4 {
		return at, errors.New("mysql-cdc: the server reports no binlog_snapshot_file/binlog_snapshot_position (is log_bin on?)")
	}
	return at, nil
}

// queryer is *sql.Conn or *sql.DB.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// describe reads a table's columns and primary key from the catalog.
func describe(ctx context.Context, q queryer, t table) (*relation, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, COALESCE(c.CHARACTER_SET_NAME, ''),
COALESCE(s.MAXLEN, 0), c.IS_NULLABLE = 'NO'
FROM information_schema.COLUMNS c LEFT JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME
WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION`, t.db, t.name)
	if err != nil {
		return nil, fmt.Errorf("mysql-cdc: describe %s: %w", t, err)
	}
	var cols []column
	for rows.Next() {
		var name, dt, ct, cs string
		var maxLen int
		var notNull bool
		if err := rows.Scan(&name, &dt, &ct, &cs, &maxLen, &notNull); err != nil {
			rows.Close()
			return nil, fmt.Errorf("mysql-cdc: describe %s: %w", t, err)
		}
		// The snapshot reads text in UTF-8: a column's character set only
		// says whether the stream can convert it too.
		k, err := kindOfSQL(dt, ct, cs, maxLen)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("mysql-cdc: table %s, column %s: %w", t, quoteIdent(name), err)
		}
		cols = append(cols, column{name: name, kind: k, display: ct, notNull: notNull})
	}
	rows.Close()
	if len(cols) == 0 {
		return nil, fmt.Errorf("mysql-cdc: table %s does not exist (or the user may not read it)", t)
	}
	rows, err = q.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`, t.db, t.name)
	if err != nil {
		return nil, fmt.Errorf("mysql-cdc: primary key of %s: %w", t, err)
	}
	var pk []int
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("mysql-cdc: primary key of %s: %w", t, err)
		}
		for i := range cols {
			if cols[i].name == name {
				pk = append(pk, i)
			}
		}
	}
	rows.Close()
	return newRelation(t, cols, pk), nil
}

// readSnapshot fills batch from the snapshot; 0 records means it is
// finished.
func (s *Source) readSnapshot(ctx context.Context, batch []runtime.Record) (int, error) {
	sn := s.snap
	for len(sn.pending) == 0 && sn.ti < len(sn.rels) {
		more, err := s.readChunk(ctx)
		if err != nil {
			if rerr := s.restartSnapshot(ctx, err); rerr != nil {
				return 0, rerr
			}
			sn = s.snap
			continue
		}
		sn.lostAt, sn.retries = time.Time{}, 0
		if !more {
			sn.ti++
			sn.after, sn.row = nil, 0
		}
	}
	if len(sn.pending) == 0 && sn.held != nil {
		// The last record of the snapshot: once it is acknowledged the
		// snapshot is done, and its token is where the stream starts.
		r := *sn.held
		sn.held = nil
		r.Position.Token = sn.at.String()
		sn.pending = append(sn.pending, r)
		if s.snapDone != nil {
			if err := s.milestone(r.Position.Offset, *s.snapDone); err != nil {
				return 0, err
			}
		}
	}
	n := copy(batch, sn.pending)
	sn.pending = sn.pending[n:]
	return n, nil
}

// restartSnapshot takes a new consistent snapshot after the last one's
// connection failed transiently (err): a snapshot cannot go on in another
// transaction, so every table is read again from its start (at-least-once:
// rows already handed out come again, with the same tokens when unchanged)
// and the stream starts at the new snapshot's position. It backs off as a
// lost binlog connection does and gives up after the same budget; an error
// that is not transient is returned as it is.
func (s *Source) restartSnapshot(ctx context.Context, err error) error {
	for {
		sn := s.snap
		if !snapshotConnLost(err) {
			return err
		}
		if sn.lostAt.IsZero() {
			sn.lostAt = time.Now()
		}
		sn.retries++
		if waited := time.Since(sn.lostAt); waited >= s.retryBudget() {
			return fmt.Errorf("mysql-cdc: the snapshot's connection to %s failed and %d attempts to take the snapshot again over %v did not succeed (giving up); the last error: %w",
				s.addr(), sn.retries-1, waited.Round(100*time.Millisecond), err)
		}
		wait := min(minBackoff<<min(sn.retries-1, 10), maxBackoff)
		s.logger().Warn("the snapshot's connection to the server failed: taking the snapshot again from the start (rows already delivered come again)",
			"server", s.addr(), "attempt", sn.retries, "retry_in", wait, "error", s.redact(err).Error())
		sn.close()
		if !pause(ctx, wait) {
			return ctx.Err()
		}
		if err = s.beginSnapshot(ctx); err == nil {
			return nil
		}
	}
}

// snapshotConnLost reports whether err is the loss of the snapshot's
// connection or server (not a refusal, nor a value the source cannot
// decode): the driver's broken connection, a network error, or a server
// error the binlog reconnect also retries.
func snapshotConnLost(err error) bool {
	var ne net.Error
	var me *mysql.MySQLError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &ne):
		return true
	case errors.As(err, &me):
		return transientCodes[me.Number]
	}
	return false
}

// readChunk reads the next chunk of the snapshot's current table into
// sn.pending; false means the table has no more rows.
func (s *Source) readChunk(ctx context.Context) (bool, error) {
	sn := s.snap
	rel := sn.rels[sn.ti]
	// Each row's token names its table and its ordinal in the table's
	// snapshot (token.go).
	prefix := "snapshot " + rel.t.String() + changeMark
	var tok []byte
	last, n, err := chunkRows(ctx, sn.conn, rel, sn.after, func(row []runtime.Value) {
		sn.row++
		if sn.held != nil {
			sn.pending = append(sn.pending, *sn.held)
		}
		tok = strconv.AppendUint(append(tok[:0], prefix...), sn.row, 10)
		rec := runtime.Record{Stream: rel.t.name, Namespace: rel.t.db, Op: runtime.OpSnapshot, Schema: rel.rs,
			After: row, Time: s.now(), Position: runtime.Position{Offset: s.seq.Add(1), Token: string(tok)},
			Meta: s.meta(rel, row, nil, sn.at, "", true)}
		sn.held = &rec
	})
	if err != nil {
		return false, err
	}
	if n > 0 {
		sn.after = last
	}
	return n == snapshotChunk, nil
}

// chunkRows reads, over q, up to snapshotChunk rows of rel after the
// primary key after (nil: from the first), in primary-key order, and
// calls fn with each row's values. It returns the primary key of the
// last row read (nil when none) and the number of rows.
func chunkRows(ctx context.Context, q queryer, rel *relation, after []any, fn func([]runtime.Value)) ([]any, int, error) {
	names := make([]string, len(rel.cols))
	for i, c := range rel.cols {
		names[i] = quoteIdent(c.name)
	}
	pk := make([]string, len(rel.pk))
	for i, k := range rel.pk {
		pk[i] = quoteIdent(rel.cols[k].name)
	}
	sq := "SELECT " + strings.Join(names, ", ") + " FROM " + rel.t.String()
	var args []any
	if after != nil {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(pk)), ", ")
		sq += " WHERE (" + strings.Join(pk, ", ") + ") > (" + marks + ")"
		args = append(args, after...)
	}
	sq += " ORDER BY " + strings.Join(pk, ", ") + " LIMIT ?"
	args = append(args, snapshotChunk) // an argument: the binary protocol, whose FLOATs are exact
	rows, err := q.QueryContext(ctx, sq, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("mysql-cdc: snapshot %s: %w", rel.t, err)
	}
	defer rows.Close()
	raw := make([]any, len(rel.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	n := 0
	var last []any
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, 0, fmt.Errorf("mysql-cdc: snapshot %s: %w", rel.t, err)
		}
		row := make([]runtime.Value, len(rel.cols))
		for i := range rel.cols {
			v, err := rel.cols[i].value(raw[i])
			if err != nil {
				return nil, 0, fmt.Errorf("mysql-cdc: snapshot %s: %w", rel.t, err)
			}
			row[i] = v
		}
		last = last[:0]
		for _, k := range rel.pk {
			last = append(last, copyRaw(raw[k]))
		}
		n++
		fn(row)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("mysql-cdc: snapshot %s: %w", rel.t, err)
	}
	return last, n, nil
}

func copyRaw(v any) any {
	if b, ok := v.([]byte); ok {
		return append([]byte(nil), b...)
	}
	return v
}

// endSnapshot commits the snapshot transaction.
func (s *Source) endSnapshot() error {
	sn := s.snap
	s.snap = nil
	if _, err := sn.conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		sn.close()
		return fmt.Errorf("mysql-cdc: end snapshot: %w", err)
	}
	_ = sn.conn.Close()
	sn.conn = nil
	s.logger().Info("snapshot finished", "records", s.seq.Load())
	return nil
}
