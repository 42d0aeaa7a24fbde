package cdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// Source is a mysql-cdc source. It implements runtime.Source and
// runtime.Resumable: its positions carry tokens (token.go) that the
// driver persists in settings.state_dir, so Ack has nothing to commit.
// As runtime.Stateful and runtime.Saver it keeps beside them which
// tables it captured in full (resnap.go), to re-snapshot tables added to
// `tables` while it streams.
//
// Concurrency: Read is called from one goroutine, Ack from another, and
// SourceLag from any. While streaming, go-mysql's binlog syncer
// (github.com/go-mysql-org/go-mysql/replication) reads and decodes events
// in its own goroutine, and one internal goroutine turns them into
// records and hands them to Read in batches, reconnecting when the
// connection fails (reconnect.go); another reads the server's binlog end
// for SourceLag every few seconds (lag.go). Close stops and waits for
// them all.
type Source struct {
	cfg    Config
	tables []table
	now    func() time.Time
	log    *slog.Logger
	lease  runtime.Lease // a cluster singleton's (UseLease); nil on one node

	db      *sql.DB
	mariadb bool
	resume  *token // from Resume; nil at a first start
	start   token  // where the stream starts
	// skip names the changes of the transaction the stream starts with
	// that were delivered before: the resumed token's change and those
	// before it (token.go). nil when it starts between transactions.
	skip *skipTo
	snap *snapshot
	// snapTables are the tables the snapshot reads when not all of them
	// (initial_only after tables were added); snapDone is the selection
	// once its last record is saved.
	snapTables []table
	snapDone   *selection
	// sel is the selection kept in the state blob (resnap.go); resnap the
	// re-snapshot of added tables the stream goroutine drives (nil: none).
	sel    selState
	resnap *resnap
	// drifted holds the table and added columns schema_drift: warn has
	// logged (once each).
	drifted sync.Map
	seq     atomic.Uint64
	charset *serverCharsets

	recs chan []runtime.Record
	cur  []runtime.Record
	// curBuf is the batch cur is the rest of; Read hands it back to the
	// stream through free once it copied it out (cleared).
	curBuf  []runtime.Record
	free    chan []runtime.Record
	done    chan struct{}
	stop    context.CancelFunc
	errMu   sync.Mutex
	err     error
	closeMu sync.Mutex
	closed  bool
	ended   bool // initial_only after its snapshot, or nothing to do

	// budget replaces reconnectBudget when set (tests: nanoseconds).
	budget atomic.Int64
	// catalogHook replaces fixedBinColumns when set (tests; called in a
	// syncer's parser goroutine).
	catalogHook func(context.Context, table) (map[string]kind, error)
	// eventCache replaces syncerEventCache when set (tests; before the
	// stream starts).
	eventCache int
	lag        lagState
	lagStop    context.CancelFunc
	lagDone    chan struct{}
}

var (
	_ runtime.Source    = (*Source)(nil)
	_ runtime.Resumable = (*Source)(nil)
	_ runtime.Logged    = (*Source)(nil)
	_ runtime.Lagger    = (*Source)(nil)
	_ runtime.Stateful  = (*Source)(nil)
	_ runtime.Saver     = (*Source)(nil)
)

// New validates cfg and returns an unopened source. now is the clock for
// snapshot records' event time; nil means time.Now.
func New(cfg Config, now func() time.Time) (*Source, error) {
	cfg = withDefaults(cfg)
	ts, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Source{cfg: cfg, tables: ts, now: now}, nil
}

// UseLogger implements runtime.Logged.
func (s *Source) UseLogger(l *slog.Logger) { s.log = l }

func (s *Source) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

// Resume implements runtime.Resumable: pos is the last acknowledged
// position; its token says where to go on (token.go). A stream token
// goes on after its record: after its transaction for a transaction's
// last record (and for every token of an earlier version, which delivers
// a partly acknowledged transaction again from its start), else with the
// change after it in its transaction, whose earlier changes are not
// delivered again. A snapshot token takes the snapshot again (under
// snapshot_mode never, Open refuses one that does not say where the
// snapshot started: see plan).
func (s *Source) Resume(pos runtime.Position) error {
	if pos.Token == "" {
		return errors.New("mysql-cdc: the state file holds a position without a token (not written by mysql-cdc): delete it to start over with a snapshot")
	}
	t, err := parseToken(pos.Token)
	if err != nil {
		return fmt.Errorf("mysql-cdc: %w: it was written by another source, or edited; delete it to start over with a snapshot", err)
	}
	s.resume = &t
	return nil
}

// streamFrom makes the stream start at the resumed token r: at its
// position, skipping the changes of its transaction up to its own.
func (s *Source) streamFrom(r token) {
	s.start = r.at()
	if r.change != (change{}) {
		s.skip = &skipTo{file: r.file, pos: r.pos, upTo: r.change}
	}
}

// redact removes the password from an error's text.
func (s *Source) redact(err error) error {
	if err == nil || s.cfg.Password == "" || !strings.Contains(err.Error(), s.cfg.Password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.cfg.Password, runtime.SecretMask))
}

func (s *Source) addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

// openDB opens the query connection pool and checks that it connects.
func (s *Source) openDB(ctx context.Context) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = s.cfg.User, s.cfg.Password, "tcp", s.addr()
	c.Timeout = time.Duration(s.cfg.ConnectTimeoutSecs) * time.Second
	// TIMESTAMPs in UTC, text in UTF-8: the same forms as the stream.
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	c.Collation = "utf8mb4_general_ci"
	// The driver's own notes (a pooled connection found broken after a
	// server restart) go to the source's log at debug, not to stderr.
	c.Logger = driverLogger{s.logger()}
	tc, required, err := s.cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	switch {
	case tc != nil && required:
		c.TLS = tc
	case tc != nil:
		c.TLS, c.AllowFallbackToPlaintext = tc, true
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("mysql-cdc: connection settings: %w", err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, s.connectError(err)
	}
	return db, nil
}

// driverLogger hands go-sql-driver's log lines to the source's logger at
// debug level.
type driverLogger struct{ l *slog.Logger }

func (d driverLogger) Print(v ...any) {
	d.l.Debug(strings.TrimSpace(fmt.Sprint(v...)), "component", "go-sql-driver")
}

// connectError words a failed connection attempt.
func (s *Source) connectError(err error) error {
	what := fmt.Sprintf("mysql-cdc: cannot connect to %s (user %q)", s.addr(), s.cfg.User)
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me):
		return fmt.Errorf("%s: %s (error %d)", what, me.Message, me.Number)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, context.Canceled)
	}
	return fmt.Errorf("%s: %v", what, err)
}

// Open connects, checks the server's binlog settings, and prepares the
// snapshot or the stream.
func (s *Source) Open(ctx context.Context) error {
	if err := s.open(ctx); err != nil {
		return s.redact(err)
	}
	return nil
}

func (s *Source) open(ctx context.Context) error {
	var err error
	if s.db, err = s.openDB(ctx); err != nil {
		return err
	}
	st, err := readServer(ctx, s.db)
	if err != nil {
		return err
	}
	s.mariadb = st.mariadb
	if bad := st.requirements(s.cfg); len(bad) > 0 {
		return fmt.Errorf("mysql-cdc: the server at %s is not set up for change data capture: %s", s.addr(), strings.Join(bad, "; "))
	}
	if s.charset, err = charsets(ctx, s.db); err != nil {
		return err
	}
	if err := s.checkLockAtOpen(ctx); err != nil {
		return err
	}
	if err := s.plan(ctx); err != nil {
		return err
	}
	if !s.ended {
		s.setLagFrom(s.start)
		s.startLag()
	}
	return nil
}

// plan decides, from the snapshot mode and the resumed position, whether
// to snapshot (and begins it) or where to stream from (s.start).
func (s *Source) plan(ctx context.Context) error {
	r, mode := s.resume, s.cfg.SnapshotMode
	switch {
	case mode == SnapshotAlways:
		if r != nil {
			s.logger().Info("snapshot_mode always: taking a new snapshot; streaming goes on from its position, not from the saved one",
				"server", s.addr(), "saved_position", r.String())
		}
	case r != nil && !r.snapshot:
		if mode == SnapshotInitialOnly {
			return s.planInitialOnly(ctx)
		}
		if mode == SnapshotWhenNeeded {
			err := s.binlogAvailable(ctx, r.at())
			var gone *unavailableError
			if !errors.As(err, &gone) {
				if err != nil {
					return err
				}
				s.streamFrom(*r)
				return s.planResnap()
			}
			s.logger().Warn("the binlog at the saved position is no longer on the server (purged, or its GTIDs unknown); snapshot_mode when_needed: taking a new snapshot",
				"server", s.addr(), "saved_position", r.String(), "reason", gone.reason)
			break
		}
		s.streamFrom(*r)
		return s.planResnap()
	case r != nil && r.snapshot && mode != SnapshotNever:
		s.logger().Warn("the snapshot did not finish in the last run: taking it again (rows it delivered are delivered again)")
	case mode == SnapshotNever:
		if r != nil {
			// A snapshot under another mode never finished: stream from
			// the position it started at, which only an earlier version's
			// snapshot tokens hold.
			if r.file == "" {
				return fmt.Errorf("mysql-cdc: the saved position %q is a record of a snapshot that did not finish, and snapshot_mode is never: set snapshot_mode: initial to take the snapshot again, or delete the pipeline's state file in settings.state_dir to stream from the binlog's end (the changes since that snapshot are then not delivered)", r.String())
			}
			s.start = r.at()
			return s.putSelection(selection{Tables: names(s.tables)})
		}
		var err error
		if s.start, err = currentPosition(ctx, s.db, s.mariadb); err != nil {
			return err
		}
		return s.putSelection(selection{Tables: names(s.tables)})
	}
	if !s.mariadb {
		return errSnapshotNeedsMariaDB
	}
	// The snapshot reads every configured table: once the stream goes on
	// after it, they are captured in full.
	if err := s.putSelection(selection{Tables: names(s.tables)}); err != nil {
		return err
	}
	return s.beginSnapshot(ctx)
}

// errSnapshotNeedsMariaDB refuses a snapshot on MySQL.
var errSnapshotNeedsMariaDB = errors.New("mysql-cdc: the lock-free snapshot needs MariaDB (START TRANSACTION WITH CONSISTENT SNAPSHOT with binlog_snapshot_file/position); on MySQL use snapshot_mode: never for now")

// planInitialOnly: under snapshot_mode initial_only, a snapshot finished
// in an earlier run. Tables added to `tables` since are snapshotted now
// (the others are not read again); without any, there is nothing to do.
func (s *Source) planInitialOnly(ctx context.Context) error {
	prev, ok, err := s.loadSelection()
	if err != nil {
		return err
	}
	var added []table
	if ok {
		_, added = s.addedSince(prev)
	}
	if len(added) == 0 {
		s.logger().Info("snapshot_mode initial_only: the snapshot finished in an earlier run; nothing to do")
		s.ended = true
		return s.putSelection(selection{Tables: names(s.tables)})
	}
	if !s.mariadb {
		return errSnapshotNeedsMariaDB
	}
	s.logger().Info("snapshot_mode initial_only: snapshotting the tables added to `tables` since the snapshot of an earlier run", "tables", strings.Join(names(added), ", "))
	s.snapTables, s.snapDone = added, &selection{Tables: names(s.tables)}
	return s.beginSnapshot(ctx)
}

// Read fills batch with snapshot records first, then streamed changes.
func (s *Source) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	if s.ended {
		return 0, io.EOF
	}
	if s.snap != nil {
		n, err := s.readSnapshot(ctx, batch)
		if err != nil || n > 0 {
			return n, s.redact(err)
		}
		if err := s.endSnapshot(); err != nil {
			return 0, s.redact(err)
		}
		if s.cfg.SnapshotMode == SnapshotInitialOnly {
			s.ended = true
			return 0, io.EOF
		}
	}
	if s.recs == nil {
		s.startStream()
	}
	n := 0
	for n < len(batch) {
		if len(s.cur) == 0 {
			if n > 0 {
				select {
				case b := <-s.recs:
					s.cur, s.curBuf = b, b
				default:
					return n, nil
				}
			} else {
				select {
				case b, ok := <-s.recs:
					if !ok {
						return 0, s.redact(s.streamErr())
					}
					s.cur, s.curBuf = b, b
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
			if s.cur == nil {
				continue
			}
		}
		k := copy(batch[n:], s.cur)
		clear(s.cur[:k])
		s.cur = s.cur[k:]
		n += k
		if len(s.cur) == 0 && s.curBuf != nil {
			select {
			case s.free <- s.curBuf[:0]:
			default:
			}
			s.curBuf = nil
		}
	}
	return n, nil
}

func (s *Source) streamErr() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.err == nil {
		return io.EOF
	}
	return s.err
}

// Ack implements runtime.Source. The driver persists the acknowledged
// position's token in state_dir; the server keeps no position of this
// source, so there is nothing to commit here. The position is kept for
// SourceLag.
func (s *Source) Ack(_ context.Context, pos runtime.Position) error {
	s.acked(pos)
	return nil
}

// Close stops the stream and closes the connections.
func (s *Source) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	if s.lagStop != nil {
		s.lagStop()
		<-s.lagDone
	}
	if s.snap != nil {
		s.snap.close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
	return nil
}
