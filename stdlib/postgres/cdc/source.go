package cdc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rivven/rivven-connect/runtime"
)

// Source is a postgres-cdc source. It implements runtime.Source.
//
// Concurrency: Read is called from one goroutine; Ack from another. While
// streaming, one internal goroutine owns the replication connection: it
// decodes pgoutput messages into records for Read, handed over in batches
// (handoff.go), and sends the standby status updates (also while Read is
// not being called, so a slow sink never makes the server time the
// connection out).
type Source struct {
	cfg Config
	// The config's identifiers as exact names (cfg keeps them as written:
	// quoted or not). Every statement quotes them; catalog queries take
	// them as parameters.
	pub     string   // the publication
	schemas []string // cfg.Schemas
	tables  []table  // cfg.Tables, with the default schema applied
	now     func() time.Time

	sqlCfg  *pgx.ConnConfig
	replCfg *pgconn.Config
	sql     *pgx.Conn      // catalog queries, the snapshot; owned by Read until streaming starts, then by the stream goroutine
	repl    *pgconn.PgConn // replication connection; owned by the stream goroutine once started
	types   *typeCache
	opened  bool
	closeMu sync.Mutex
	closed  bool

	// snapshot state (Read's goroutine)
	snap *snapshot

	prog progress // what it is doing (Activity)

	ignoredMu sync.Mutex
	ignored   map[string]bool // published tables outside the selection, logged

	blob       runtime.StateBlob // settings.state_dir blob; nil without one
	lease      runtime.Lease     // a cluster singleton's (UseLease); nil on one node
	log        *slog.Logger
	markMu     sync.Mutex
	marked     bool          // the marker records the snapshot as done
	markSnap   string        // the marker's snapshot state
	recorded   pglogrepl.LSN // the marker's flushed position
	recordedAt time.Time
	markClosed bool       // Close has run: a late Ack records nothing
	partial    *partialTx // the marker's transaction delivered in part (resume.go)
	markSel    string     // the marker's Selection and Prior (token.go)
	markPrior  string
	system     string // the server's system identifier (set by Open)

	// resumed is the token Resume was given ("": none), resumeAt its
	// transaction (commit 0: none, or a snapshot token).
	resumed  string
	resumeAt txMark

	// streaming
	resume   txMark // an earlier run delivered every change up to the first resume.skipped of transaction resume.commit (resume.go); set by Open
	proto    int    // pgoutput protocol version (1 or 2)
	startLSN pglogrepl.LSN
	recs     chan []runtime.Record // batches handed over to Read (handoff.go)
	free     chan []runtime.Record // batches Read is done with
	cur      []runtime.Record      // Read's: what is left of the batch it takes from
	curBatch []runtime.Record      // Read's: that whole batch, to recycle
	done     chan struct{}         // closed when the stream goroutine ended
	stop     context.CancelFunc
	drainCh  chan struct{} // closed by Close: stop gracefully (drain.go)
	draining atomic.Bool
	kick     chan struct{} // Ack asks for a prompt status update
	errMu    sync.Mutex
	err      error // the stream goroutine's terminal error

	seq    atomic.Uint64 // the last Position.Offset handed out
	walEnd atomic.Uint64 // the server's WAL end as last reported (an LSN)
	// spilled counts the bytes of streamed in-progress transactions
	// written to spill files.
	spilled atomic.Uint64

	mu           sync.Mutex
	acked        uint64        // highest acknowledged offset
	commits      []commitMark  // committed transactions not yet fully acknowledged, in order
	handing      txMark        // the transaction being handed out (commit 0: none)
	flush        pglogrepl.LSN // the flush LSN reported to the server
	createdSlot  bool          // this run created the slot
	maybeCreated bool          // creating the slot failed: the server may have it all the same
	creatorPID   uint32        // then, the backend that was creating it
	snapLast     uint64        // offset of the last snapshot record (0: none)
	snapAcked    bool          // every snapshot record is acknowledged
	slotSeen     bool          // the slot existed during this run
}

type commitMark struct {
	last uint64        // offset of the transaction's last record (or the last before it)
	end  pglogrepl.LSN // its commit end LSN
	tx   txMark
}

var _ runtime.Source = (*Source)(nil)

// New validates cfg and returns an unopened source. now is the clock for
// snapshot records' event time; nil means time.Now. Nothing is sent to the
// server before Open, so an invalid identifier is rejected here.
func New(cfg Config, now func() time.Time) (*Source, error) {
	cfg = withDefaults(cfg)
	n, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	s := &Source{cfg: cfg, pub: n.publication, schemas: n.schemas, tables: n.tables, now: now,
		types: newTypeCache(), kick: make(chan struct{}, 1)}
	pc, err := cfg.connConfig(false)
	if err != nil {
		return nil, s.redact(err)
	}
	// pgx.ParseConfig would parse a string again; build the ConnConfig from
	// the parsed pgconn.Config instead so the password is never in a string.
	base, _ := pgx.ParseConfig("")
	base.Config = *pc
	s.sqlCfg = base
	if s.replCfg, err = cfg.connConfig(true); err != nil {
		return nil, s.redact(err)
	}
	return s, nil
}

// redact removes the password from an error's text. Errors without it are
// returned as they are (so errors.Is keeps working).
func (s *Source) redact(err error) error {
	if err == nil || len(s.cfg.Password) < 1 || !strings.Contains(err.Error(), s.cfg.Password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.cfg.Password, runtime.SecretMask))
}

// Open connects, checks the server, provisions the publication and the
// slot as the config allows, and prepares the snapshot when one is due.
func (s *Source) Open(ctx context.Context) error {
	s.opened = true
	if err := s.open(ctx); err != nil {
		return s.redact(err)
	}
	return nil
}

func (s *Source) open(ctx context.Context) error {
	var err error
	if s.sql, err = pgx.ConnectConfig(ctx, s.sqlCfg); err != nil {
		return s.connectError(err)
	}
	var wal string
	if err := s.sql.QueryRow(ctx, "SHOW wal_level").Scan(&wal); err != nil {
		return fmt.Errorf("postgres-cdc: %w", err)
	}
	if wal != "logical" {
		return fmt.Errorf("postgres-cdc: the server's wal_level is %q; logical decoding needs wal_level = logical (set it in postgresql.conf and restart the server)", wal)
	}
	var version int
	if err := s.sql.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("postgres-cdc: server version: %w", err)
	}
	if s.proto, err = protocolFor(s.cfg.ProtocolVersion, version); err != nil {
		return err
	}
	if err := s.provisionPublication(ctx); err != nil {
		return err
	}
	if s.cfg.SnapshotMode == SnapshotInitialOnly {
		// No slot: read one consistent snapshot, then end.
		return s.beginSnapshot(ctx, "", "")
	}
	if s.repl, err = pgconn.ConnectConfig(ctx, s.replCfg); err != nil {
		return s.connectError(err)
	}
	id, err := pglogrepl.IdentifySystem(ctx, s.repl)
	if err != nil {
		return fmt.Errorf("postgres-cdc: identify the server: %w", err)
	}
	s.system = id.SystemID
	st, err := s.slotState(ctx)
	if err != nil {
		return err
	}
	m, err := s.loadMarker()
	if err != nil {
		return err
	}
	mode := s.cfg.SnapshotMode
	if st.exists && st.walStatus == "lost" && mode == SnapshotWhenNeeded {
		s.logger().Warn("replication slot was invalidated by the server; snapshot_mode when_needed: dropping it, re-creating it and taking a new snapshot",
			"slot", s.cfg.SlotName)
		if err := s.dropSlot(ctx); err != nil {
			return err
		}
		st = slotState{}
	}
	if m != nil {
		s.markSnap = m.Snapshot
		if m.Flushed != "" {
			if s.recorded, err = pglogrepl.ParseLSN(m.Flushed); err != nil {
				return fmt.Errorf("postgres-cdc: state file %s: flushed position %q: %w", s.blob.Where(), m.Flushed, err)
			}
		}
	}
	if st.exists && m != nil && s.recorded != 0 && st.confirmed > s.recorded && m.Snapshot != snapPending {
		// This pipeline never confirmed past s.recorded: someone else
		// advanced the slot, or dropped and re-created it.
		if mode != SnapshotWhenNeeded && mode != SnapshotAlways {
			return fmt.Errorf("postgres-cdc: replication slot %q is at %s, past %s, the last position this pipeline confirmed (%s): "+
				"it was advanced or re-created by someone else, and the changes in between were never delivered (possible data loss); "+
				"to take a new snapshot set snapshot_mode: when_needed (once), or delete that file", s.cfg.SlotName, st.confirmed, s.recorded, s.blob.Where())
		}
		s.logger().Warn("replication slot is past the last position this pipeline confirmed (advanced or re-created by someone else); taking a new snapshot",
			"slot", s.cfg.SlotName, "slot_position", st.confirmed.String(), "confirmed", s.recorded.String())
		m, s.recorded = nil, 0 // as if nothing were recorded: snapshot again
	}
	// The marker records the selection of the runs since it changed, and
	// the position the first of them was resumed at (token.go): written
	// before any record of this run is delivered.
	sel, selChanged := s.selectionKey(), true
	s.markSel, s.markPrior = sel, s.resumed
	if m != nil && m.Selection == sel && m.System == s.system {
		s.markPrior, selChanged = m.Prior, false
	}
	if st.exists {
		if err := st.usable(s.cfg); err != nil {
			return err
		}
		if m != nil {
			if err := s.loadPartial(m, st.confirmed); err != nil {
				return err
			}
		}
		s.loadResume(m, st.confirmed)
		s.mu.Lock()
		s.slotSeen, s.flush = true, st.confirmed
		s.mu.Unlock()
		s.startLSN = 0 // the server resumes from confirmed_flush_lsn
		resnap := mode == SnapshotAlways || (mode != SnapshotNever && (m == nil || m.Snapshot == snapPending))
		if !resnap {
			switch {
			case m == nil && mode == SnapshotNever:
				if err := s.saveMarker(snapSkipped); err != nil {
					return err
				}
			case selChanged:
				if err := s.saveMarker(s.markSnap); err != nil {
					return err
				}
			}
			s.markMu.Lock()
			s.marked = true
			s.markMu.Unlock()
			s.startStream()
			return nil
		}
		switch {
		case mode == SnapshotAlways:
		case s.blob == nil:
			s.logger().Warn("settings.state_dir is not set, so nothing records whether the snapshot of this slot finished: "+
				"reading the tables again (at-least-once: rows are delivered again); set settings.state_dir to keep that state",
				"slot", s.cfg.SlotName)
		case m == nil:
			s.logger().Info("no snapshot is recorded for this existing slot: taking one before streaming from it", "slot", s.cfg.SlotName)
		default:
			s.logger().Warn("the snapshot of this slot did not finish (interrupted run): taking it again before streaming; rows it already delivered are delivered again",
				"slot", s.cfg.SlotName)
		}
		if err := s.saveMarker(snapPending); err != nil {
			return err
		}
		// A snapshot of now, then the slot's changes from its confirmed
		// position: rows changed in between arrive twice, none is missed.
		return s.beginSnapshot(ctx, "", st.confirmed.String())
	}
	// A pending snapshot never let the slot advance past it: a new slot and
	// a new snapshot lose nothing. After that, a vanished slot took changes
	// with it.
	if m != nil && m.Snapshot != snapPending && mode != SnapshotWhenNeeded && mode != SnapshotAlways {
		return fmt.Errorf("postgres-cdc: replication slot %q no longer exists, but %s records that this pipeline streamed from it: "+
			"the changes since its last acknowledged position are gone (possible data loss); "+
			"to re-create the slot and take a new snapshot set snapshot_mode: when_needed, or delete that file", s.cfg.SlotName, s.blob.Where())
	}
	if m != nil && m.Snapshot != snapPending {
		s.logger().Warn("replication slot no longer exists; re-creating it and taking a new snapshot", "slot", s.cfg.SlotName, "snapshot_mode", mode)
	}
	if !s.cfg.AutoCreateSlot {
		return fmt.Errorf("postgres-cdc: replication slot %q does not exist and auto_create_slot is false: create it (SELECT pg_create_logical_replication_slot('%s', 'pgoutput')) or set auto_create_slot: true",
			s.cfg.SlotName, s.cfg.SlotName)
	}
	action, mark := "NOEXPORT_SNAPSHOT", snapSkipped
	if mode != SnapshotNever {
		action, mark = "EXPORT_SNAPSHOT", snapPending
	}
	// Recorded before the slot exists: a crash from here until the snapshot
	// is acknowledged leaves "pending", and the next start snapshots again.
	// A new slot starts with no confirmed position of ours.
	s.markMu.Lock()
	s.recorded = 0
	s.markMu.Unlock()
	if err := s.saveMarker(mark); err != nil {
		return err
	}
	s.setDoing("creating replication slot "+s.cfg.SlotName, 0)
	res, err := pglogrepl.CreateReplicationSlot(ctx, s.repl, quote(s.cfg.SlotName), "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{SnapshotAction: action, Mode: pglogrepl.LogicalReplication})
	if err != nil {
		// Interrupted (a stop), the server may have created the slot all
		// the same: Close drops it if it is there.
		if ctx.Err() != nil {
			s.mu.Lock()
			s.maybeCreated, s.creatorPID = true, s.repl.PID()
			s.mu.Unlock()
		}
		return fmt.Errorf("postgres-cdc: create replication slot %q: %w", s.cfg.SlotName, err)
	}
	cp, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return fmt.Errorf("postgres-cdc: slot consistent point %q: %w", res.ConsistentPoint, err)
	}
	s.mu.Lock()
	s.createdSlot, s.slotSeen, s.flush = true, true, cp
	s.mu.Unlock()
	// The new slot is confirmed at cp: record it, so that a slot found past
	// it after a crash before the first status update is noticed.
	s.markMu.Lock()
	err = s.writeMarkerLocked(mark, cp)
	if err == nil {
		s.recorded, s.recordedAt = cp, time.Now()
	}
	s.markMu.Unlock()
	if err != nil {
		return err
	}
	s.startLSN = cp
	if action == "EXPORT_SNAPSHOT" {
		return s.beginSnapshot(ctx, res.SnapshotName, cp.String())
	}
	s.markMu.Lock()
	s.marked = true
	s.markMu.Unlock()
	s.startStream()
	return nil
}

// connectError words a failed connection attempt: the server's own
// message when it answered, else the network failure, once (pgconn joins
// one error per address and TLS attempt).
func (s *Source) connectError(err error) error {
	what := fmt.Sprintf("postgres-cdc: cannot connect to %s:%d (database %q, user %q)", s.cfg.Host, s.cfg.Port, s.cfg.Database, s.cfg.User)
	var pe *pgconn.PgError
	var dns *net.DNSError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%s: %s (SQLSTATE %s)", what, pe.Message, pe.Code)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s: connection refused (is the server running and accepting TCP connections there?)", what)
	case errors.As(err, &dns):
		return fmt.Errorf("%s: %v", what, dns)
	case errors.Is(err, context.Canceled):
		// A stop while connecting: keep it recognisable (errors.Is).
		return fmt.Errorf("%s: %w", what, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		return fmt.Errorf("%s: timed out after %ds", what, s.cfg.ConnectTimeoutSecs)
	}
	msg := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		msg = ce.Unwrap().Error()
	}
	var lines []string
	seen := map[string]bool{}
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" && !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	return fmt.Errorf("%s: %s", what, strings.Join(lines, "; "))
}

// quote quotes an identifier for SQL and replication commands.
func quote(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// provisionPublication makes sure the publication exists, creating it
// when auto_create_publication allows.
func (s *Source) provisionPublication(ctx context.Context) error {
	var exists bool
	if err := s.sql.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)`, s.pub).Scan(&exists); err != nil {
		return fmt.Errorf("postgres-cdc: look up publication: %w", err)
	}
	if exists {
		return nil
	}
	if !s.cfg.AutoCreatePublication {
		return fmt.Errorf("postgres-cdc: publication %q does not exist and auto_create_publication is false", s.pub)
	}
	var stmt string
	switch {
	case len(s.tables) > 0:
		qs := make([]string, len(s.tables))
		for i, t := range s.tables {
			qs[i] = quote(t.schema, t.name)
		}
		stmt = "CREATE PUBLICATION " + quote(s.pub) + " FOR TABLE " + strings.Join(qs, ", ")
	case len(s.schemas) > 0:
		if err := s.checkReplicaIdentity(ctx, s.schemas); err != nil {
			return err
		}
		qs := make([]string, len(s.schemas))
		for i, n := range s.schemas {
			qs[i] = quote(n)
		}
		stmt = "CREATE PUBLICATION " + quote(s.pub) + " FOR TABLES IN SCHEMA " + strings.Join(qs, ", ")
	default:
		if err := s.checkReplicaIdentity(ctx, nil); err != nil {
			return err
		}
		stmt = "CREATE PUBLICATION " + quote(s.pub) + " FOR ALL TABLES"
	}
	if _, err := s.sql.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("postgres-cdc: create publication %q: %w", s.pub, err)
	}
	return nil
}

// checkReplicaIdentity refuses to publish tables (of schemas, or all user
// tables) whose UPDATEs and DELETEs would fail once published: those with
// REPLICA IDENTITY NOTHING, or DEFAULT without a primary key.
func (s *Source) checkReplicaIdentity(ctx context.Context, schemas []string) error {
	rows, err := s.sql.Query(ctx, `
SELECT n.nspname::text, c.relname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND ($1::text[] IS NULL OR n.nspname = ANY($1))
  AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
ORDER BY 1, 2`, schemas)
	if err != nil {
		return fmt.Errorf("postgres-cdc: check replica identities: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.schema, &t.name)
	})
	if err != nil {
		return fmt.Errorf("postgres-cdc: check replica identities: %w", err)
	}
	bad := make([]string, len(list))
	for i, t := range list {
		bad[i] = t.String()
	}
	if len(bad) > 0 {
		return fmt.Errorf("postgres-cdc: refusing to create publication %q for all tables: these tables have no replica identity "+
			"(no primary key, or REPLICA IDENTITY NOTHING), so publishing them would make their UPDATEs and DELETEs fail: %s; "+
			"add primary keys or ALTER TABLE … REPLICA IDENTITY FULL, or list the tables to publish in `tables`",
			s.pub, strings.Join(bad, ", "))
	}
	return nil
}

type slotState struct {
	exists           bool
	plugin, slotType string
	database         string
	walStatus        string
	active           bool
	activePID        int32
	confirmed        pglogrepl.LSN
}

func (s *Source) slotState(ctx context.Context) (slotState, error) {
	var st slotState
	var plugin, database, walStatus *string
	var confirmed *string
	var pid *int32
	err := s.sql.QueryRow(ctx, `
SELECT plugin, slot_type, database, wal_status, active, active_pid, confirmed_flush_lsn::text
FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, s.cfg.SlotName).
		Scan(&plugin, &st.slotType, &database, &walStatus, &st.active, &pid, &confirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("postgres-cdc: look up replication slot %q: %w", s.cfg.SlotName, err)
	}
	st.exists = true
	st.plugin, st.database, st.walStatus = deref(plugin), deref(database), deref(walStatus)
	if pid != nil {
		st.activePID = *pid
	}
	if c := deref(confirmed); c != "" {
		st.confirmed, _ = pglogrepl.ParseLSN(c)
	}
	return st, nil
}

func (st slotState) usable(cfg Config) error {
	switch {
	case st.slotType != "logical" || st.plugin != "pgoutput":
		return fmt.Errorf("postgres-cdc: replication slot %q exists but is a %s slot with plugin %q; it must be a logical slot using pgoutput", cfg.SlotName, st.slotType, st.plugin)
	case st.database != cfg.Database:
		return fmt.Errorf("postgres-cdc: replication slot %q belongs to database %q, not %q", cfg.SlotName, st.database, cfg.Database)
	case st.walStatus == "lost":
		return fmt.Errorf("postgres-cdc: replication slot %q has been invalidated by the server (the WAL it needed was removed; max_slot_wal_keep_size?): possible data loss; "+
			"drop the slot and re-snapshot deliberately", cfg.SlotName)
	}
	return nil
}

// Read fills batch with snapshot records first (when a snapshot is due),
// then with streamed changes.
func (s *Source) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	if s.snap != nil {
		n, err := s.readSnapshot(ctx, batch)
		if err != nil {
			return n, s.redact(err)
		}
		if n > 0 {
			return n, nil
		}
		// The snapshot is finished.
		if err := s.endSnapshot(ctx); err != nil {
			return 0, s.redact(err)
		}
		if s.cfg.SnapshotMode == SnapshotInitialOnly {
			return 0, io.EOF
		}
		s.startStream()
	}
	if s.recs == nil {
		return 0, io.EOF
	}
	n, ended, err := s.take(ctx, batch)
	if n > 0 || !ended {
		return n, err
	}
	// The stream goroutine ended and everything it handed over was read.
	s.errMu.Lock()
	err = s.err
	s.errMu.Unlock()
	if err == nil {
		err = io.EOF
	}
	return 0, s.redact(err)
}

// Ack records that every record up to pos is durably accepted. The flush
// LSN reported to the server advances to the commit end LSN of the last
// transaction whose records are all acknowledged.
func (s *Source) Ack(ctx context.Context, pos runtime.Position) error {
	s.mu.Lock()
	if pos.Offset > s.acked {
		s.acked = pos.Offset
	}
	s.advanceLocked()
	done := s.snapAcked
	s.mu.Unlock()
	if done {
		if err := s.markSnapshotDone(); err != nil {
			return err
		}
	}
	if s.kick != nil {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// advanceLocked pops the fully acknowledged transactions.
func (s *Source) advanceLocked() {
	if s.snapLast > 0 && s.acked >= s.snapLast {
		s.snapAcked = true
	}
	i := 0
	for i < len(s.commits) && s.commits[i].last <= s.acked {
		if s.commits[i].end > s.flush {
			s.flush = s.commits[i].end
		}
		i++
	}
	s.commits = s.commits[i:]
}

// Close stops streaming gracefully (see drain.go: the position left in
// the slot covers every acknowledged transaction, and the server is seen
// to have taken it), drops the slot when drop_slot_on_stop is set — or
// when this run created it (or may have: its creation was interrupted)
// and its snapshot was not completely acknowledged, so the next start takes
// the snapshot again — and closes the connections.
func (s *Source) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stop != nil {
		s.drain()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.snap != nil && s.snap.tx != nil {
		_ = s.snap.tx.Rollback(ctx)
	}
	if s.repl != nil {
		_ = s.repl.Close(ctx)
	}
	s.markMu.Lock()
	s.markClosed = true
	marked := s.marked
	s.markMu.Unlock()
	s.mu.Lock()
	drop := s.cfg.DropSlotOnStop || ((s.createdSlot || s.maybeCreated) && !marked)
	flush, streamed := s.flush, s.stop != nil
	creator := s.creatorPID
	s.mu.Unlock()
	var err error
	switch {
	case drop && s.sql != nil: // Open connected (else it created nothing)
		err = s.withAdmin(ctx, func(c *pgx.Conn) error {
			if creator != 0 {
				// An interrupted CREATE_REPLICATION_SLOT may still be
				// running on the server (it may not even have started):
				// end that backend and wait for it, so the slot is either
				// gone with it or complete, and dropped below.
				if err := endBackend(ctx, c, creator); err != nil {
					return fmt.Errorf("postgres-cdc: replication slot %q: ending the interrupted creation: %w", s.cfg.SlotName, err)
				}
			}
			if err := dropSlotOn(ctx, c, s.cfg.SlotName); err != nil {
				return err
			}
			// The slot is gone on purpose: the next start creates one.
			return s.saveMarker("")
		})
	case streamed && flush != 0:
		if e := s.recordPartial(); e != nil {
			s.logger().Warn("recording how much of the last transaction was delivered failed: the next start delivers it again in full",
				"slot", s.cfg.SlotName, "error", s.redact(e))
		}
		if e := s.withAdmin(ctx, func(c *pgx.Conn) error { return s.confirmFlush(ctx, c, flush) }); e != nil {
			s.logger().Warn("the server did not confirm the last acknowledged position before the stop: the next start may deliver some transactions again",
				"slot", s.cfg.SlotName, "position", flush.String(), "error", s.redact(e))
		}
	}
	if s.sql != nil {
		_ = s.sql.Close(ctx)
	}
	return s.redact(err)
}

// withAdmin runs f on a usable SQL connection (see adminConn).
func (s *Source) withAdmin(ctx context.Context, f func(*pgx.Conn) error) error {
	c, err := s.adminConn(ctx)
	if err != nil {
		return err
	}
	if c != s.sql {
		defer c.Close(ctx)
	}
	return f(c)
}

// endBackend terminates the walsender pid and waits until it is gone.
func endBackend(ctx context.Context, c *pgx.Conn, pid uint32) error {
	for {
		var alive bool
		// Only a walsender: a pid the server reused for another backend
		// is left alone.
		if err := c.QueryRow(ctx, `SELECT coalesce(bool_or(pg_catalog.pg_terminate_backend(pid)), false) FROM pg_catalog.pg_stat_activity
			WHERE pid = $1 AND backend_type = 'walsender'`, int64(pid)).Scan(&alive); err != nil {
			return err
		}
		if !alive {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// dropSlot drops the slot, waiting for its walsender to exit.
func (s *Source) dropSlot(ctx context.Context) error {
	return dropSlotOn(ctx, s.sql, s.cfg.SlotName)
}

// dropSlotOn drops the slot named slot over c, if it exists, waiting for
// the walsender that holds it to exit.
func dropSlotOn(ctx context.Context, c *pgx.Conn, slot string) error {
	for {
		_, err := c.Exec(ctx, `SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, slot)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" {
			if err != nil {
				return fmt.Errorf("postgres-cdc: drop replication slot %q: %w", slot, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres-cdc: drop replication slot %q: %w", slot, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var snapshotName = regexp.MustCompile(`^[0-9A-Fa-f-]+$`)

// SourceLag implements runtime.Lagger: the bytes of WAL between the
// server's last reported end and the flush position (what a restart would
// have to decode again, and what the slot holds back).
func (s *Source) SourceLag() (uint64, string, bool) {
	end := pglogrepl.LSN(s.walEnd.Load())
	if end == 0 {
		return 0, "", false
	}
	s.mu.Lock()
	f := s.flush
	s.mu.Unlock()
	if end <= f {
		return 0, "bytes", true
	}
	return uint64(end - f), "bytes", true
}
