package cdc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/rivven/rivven-connect/runtime"
)

// Reconnection: backoff between attempts, and how long a slot held by
// another process is waited for.
const (
	minBackoff    = 100 * time.Millisecond
	maxBackoff    = 10 * time.Second
	slotBusyLimit = 30 * time.Second
)

// startStream starts the goroutine that owns the replication connection.
func (s *Source) startStream() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.recs = make(chan []runtime.Record, queuedBatches)
	s.free = make(chan []runtime.Record, queuedBatches+2)
	s.done = make(chan struct{})
	s.drainCh = make(chan struct{})
	go s.stream(ctx)
}

// fatalError marks an error that reconnecting cannot fix.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

// transient reports whether a reconnect may fix err: network failures and
// the server shutting the session down (a terminated walsender, a restart).
func transient(err error) bool {
	var fe fatalError
	if errors.As(err, &fe) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || pe.Code == "55006"
	}
	return true
}

func (s *Source) stream(ctx context.Context) {
	defer close(s.done)
	backoff := minBackoff
	var busySince time.Time
	for first := true; ; first = false {
		if !first {
			err := s.reconnect(ctx)
			if err == nil {
				s.mu.Lock()
				start := s.flush
				s.mu.Unlock()
				s.startLSN = start
			} else if s.streamFailed(ctx, err, &busySince) {
				return
			} else {
				if !s.pause(ctx, backoff) {
					return
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
		}
		began := time.Now()
		err := s.session(ctx)
		if ctx.Err() != nil || errors.Is(err, errDrained) {
			return
		}
		if s.streamFailed(ctx, err, &busySince) {
			return
		}
		if time.Since(began) > time.Minute {
			backoff = minBackoff
		}
		if !s.pause(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// streamFailed records err as the terminal error unless it is transient
// (within the slot-busy limit); it reports whether streaming is over.
func (s *Source) streamFailed(ctx context.Context, err error, busySince *time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55006" {
		if busySince.IsZero() {
			*busySince = time.Now()
		}
		if time.Since(*busySince) > slotBusyLimit {
			err = fmt.Errorf("postgres-cdc: replication slot %q is in use by another process (for more than %v): %w", s.cfg.SlotName, slotBusyLimit, err)
			s.setErr(err)
			return true
		}
		return false
	}
	*busySince = time.Time{}
	if !transient(err) {
		s.setErr(err)
		return true
	}
	return false
}

func (s *Source) setErr(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
}

// pause waits d before a reconnection; false means stop instead (ctx
// ended, or Close asked for a drain: a stream that is not connected has
// nothing to confirm).
func (s *Source) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.drainCh:
		return false
	}
}

// reconnect reopens the connections after a failure and checks that the
// slot is still the one this run was reading: a missing or invalidated
// slot means changes may have been lost, which is fatal.
func (s *Source) reconnect(ctx context.Context) error {
	if s.repl != nil {
		_ = s.repl.Close(ctx)
		s.repl = nil
	}
	if l := s.lease; l != nil {
		// A cluster singleton whose replication connection was ended may
		// have been taken over: it must not take the slot back.
		if err := l.Check(ctx); err != nil {
			return fatalError{fmt.Errorf("postgres-cdc: not reconnecting to slot %q: %w", s.cfg.SlotName, err)}
		}
	}
	if s.sql == nil || s.sql.IsClosed() || s.sql.Ping(ctx) != nil {
		if s.sql != nil {
			_ = s.sql.Close(ctx)
		}
		c, err := pgx.ConnectConfig(ctx, s.sqlCfg)
		if err != nil {
			return err
		}
		s.sql = c
	}
	st, err := s.slotState(ctx)
	if err != nil {
		return err
	}
	if !st.exists {
		return fatalError{fmt.Errorf("postgres-cdc: replication slot %q no longer exists: possible data loss (changes since the last acknowledged position may be gone); "+
			"it is not recreated automatically: recreate it and re-snapshot deliberately", s.cfg.SlotName)}
	}
	if err := st.usable(s.cfg); err != nil {
		return fatalError{err}
	}
	s.mu.Lock()
	flush := s.flush
	s.mu.Unlock()
	if st.confirmed > flush {
		return fatalError{fmt.Errorf("postgres-cdc: replication slot %q was advanced to %s by someone else (this source acknowledged %s): possible data loss",
			s.cfg.SlotName, st.confirmed, flush)}
	}
	c, err := pgconn.ConnectConfig(ctx, s.replCfg)
	if err != nil {
		return err
	}
	s.repl = c
	return nil
}

// session streams from the slot until the connection fails or ctx ends.
func (s *Source) session(ctx context.Context) (final error) {
	conn := s.repl
	args := []string{fmt.Sprintf("proto_version '%d'", s.proto), publicationNames(s.pub)}
	if s.proto >= 2 {
		// Large transactions arrive while in progress, in chunks, and are
		// kept in spill files until their commit (see spill).
		args = append(args, "streaming 'on'")
	}
	if err := pglogrepl.StartReplication(ctx, conn, quote(s.cfg.SlotName), s.startLSN,
		pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args}); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42704" {
			return fatalError{fmt.Errorf("postgres-cdc: replication slot %q does not exist: possible data loss; it is not recreated automatically", s.cfg.SlotName)}
		}
		if errors.As(err, &pe) && pe.Code == "55000" {
			return fatalError{fmt.Errorf("postgres-cdc: replication slot %q cannot be read: %s: possible data loss", s.cfg.SlotName, pe.Message)}
		}
		return fmt.Errorf("postgres-cdc: start replication: %w", err)
	}
	s.mu.Lock()
	from := s.flush
	s.mu.Unlock()
	if s.startLSN != 0 {
		from = s.startLSN
	}
	s.setDoing("streaming from LSN "+from.String(), 0)
	ss := &session{s: s, conn: conn, rels: map[uint32]*relation{}, spills: map[uint32]*spill{}, out: s.newBatch()}
	interval := time.Duration(s.cfg.HeartbeatIntervalSecs) * time.Second
	ss.interval = interval
	ss.next = time.Now()
	defer func() {
		// Hand over what was decoded (unless a drain or a stop stops it:
		// then those records, and the commits waiting for them, are
		// dropped: the flush position stays before them).
		if ss.handOver(ctx) != nil {
			ss.dropBatch()
		}
		// A last status update so the server keeps what was acknowledged;
		// after a drain (whichever step noticed it), the end of the stream
		// is negotiated too, so the server has processed that update
		// before the connection closes.
		switch err := ss.status(context.Background()); {
		case err != nil && s.draining.Load():
			s.logger().Warn("the last status update before the stop failed: the next start may deliver some transactions again",
				"slot", s.cfg.SlotName, "error", s.redact(err))
		case err == nil && errors.Is(final, errDrained):
			s.endCopy(conn)
		}
		// Uncommitted streamed transactions are streamed again by the
		// next session (their commit is past the flush LSN).
		for _, sp := range ss.spills {
			_ = sp.close()
		}
	}()
	// wake is ctx, also cancelled when Close asks for a drain: a receive
	// waiting for the next message returns at once. Once the drain is
	// seen, receives watch ctx (bounded by Close's drain limit).
	wake, unwake := context.WithCancel(ctx)
	defer unwake()
	go func() {
		select {
		case <-s.drainCh:
			unwake()
		case <-wake.Done():
		}
	}()
	parent := wake
	rcv := newReceiver(conn, wake)
	defer rcv.close()
	for {
		if s.draining.Load() && !ss.worthDraining() {
			return errDrained
		}
		if !time.Now().Before(ss.next) {
			if err := ss.status(ctx); err != nil {
				return err
			}
		}
		if !rcv.buffered() {
			// The next receive waits for the network.
			if len(ss.out) > 0 {
				// Hand over what was decoded first.
				if err := ss.handOver(ctx); err != nil {
					return err
				}
				continue // handing over may have taken a while
			}
			if ss.flowing {
				// Messages are flowing: let the next ones gather
				// instead of waking for each (see pollPause).
				ss.flowing = false
				rcv.pause(parent)
				continue
			}
		}
		msg, err := rcv.receive(ss.next)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if wake.Err() != nil && parent == wake {
				parent = ctx // the drain began: the loop's top decides
				rcv.watch(ctx)
				continue
			}
			if pgconn.Timeout(err) {
				continue
			}
			return fmt.Errorf("postgres-cdc: replication stream: %w", err)
		}
		ss.flowing = true
		select {
		case <-s.kick:
			// An acknowledgement: report it soon, but not once per
			// transaction (each update costs the walsender a reply).
			if n := ss.sent.Add(kickGap); n.Before(ss.next) {
				ss.next = n
			}
		default:
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return fmt.Errorf("postgres-cdc: keepalive: %w", err)
				}
				s.walEnd.Store(uint64(ka.ServerWALEnd))
				ss.idle(ka.ServerWALEnd)
				if ka.ReplyRequested {
					ss.next = time.Now()
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return fmt.Errorf("postgres-cdc: xlog data: %w", err)
				}
				s.walEnd.Store(uint64(xld.ServerWALEnd))
				if err := ss.handle(ctx, xld); err != nil {
					return err
				}
			}
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		default:
			return fmt.Errorf("postgres-cdc: unexpected replication message %T", msg)
		}
	}
}

// kickGap is the least time between a status update and one prompted by
// an acknowledgement.
const kickGap = 100 * time.Millisecond

// session is the decoding state of one replication connection.
type session struct {
	s        *Source
	conn     *pgconn.PgConn
	rels     map[uint32]*relation
	interval time.Duration
	next     time.Time   // when the next status update is due
	sent     time.Time   // when the last one was sent
	timer    *time.Timer // push's, reused

	// Records decoded but not yet handed to Read, and the commits
	// waiting for them (see handoff.go).
	out   []runtime.Record
	marks []commitMark
	buf   []byte                    // scratch for the text of a message (pgoutput.go)
	keys  map[*relation]*keyColumns // metadata.key's columns, by relation
	// flowing: a message was received since the last pause.
	flowing bool

	inTx       bool
	skip       uint64 // the first changes of the transaction to skip (resume.go)
	n          uint64 // the ordinal of its last change (ordinal)
	xid        uint32
	commitLSN  string
	commitTime string
	commitAt   time.Time

	// pgoutput v2 streaming: the transaction of the open stream block
	// (inStream), and the spill of every streamed transaction not yet
	// committed or aborted, by xid.
	inStream  bool
	streamXid uint32
	spills    map[uint32]*spill
}

// status sends a standby status update reporting the flush LSN.
func (ss *session) status(ctx context.Context) error {
	ss.s.mu.Lock()
	flush := ss.s.flush
	ss.s.mu.Unlock()
	ss.sent = time.Now()
	ss.next = ss.sent.Add(ss.interval)
	if flush == 0 {
		return nil
	}
	flush, retry, err := ss.s.reportable(flush, ctx.Err() != nil || ctx == context.Background())
	if err != nil {
		// Without the marker the slot must not move: stop, do not retry.
		return fatalError{err}
	}
	if !retry.IsZero() && retry.Before(ss.next) {
		ss.next = retry // the rest of the acknowledgement, once the marker may be written again
	}
	if flush == 0 {
		return nil
	}
	err = pglogrepl.SendStandbyStatusUpdate(ctx, ss.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: flush, WALFlushPosition: flush, WALApplyPosition: flush, ClientTime: time.Now(),
		// The server answers with a keepalive carrying its WAL position,
		// which lets an idle slot advance (see idle).
		ReplyRequested: ctx.Err() == nil})
	if err != nil {
		return fmt.Errorf("postgres-cdc: status update: %w", err)
	}
	return nil
}

// idle advances the flush LSN to the server's WAL end when nothing is in
// flight: no open transaction, and every record handed out acknowledged.
// This keeps an idle slot from holding WAL back.
func (ss *session) idle(walEnd pglogrepl.LSN) {
	if ss.inTx {
		return
	}
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	if len(s.commits) == 0 && s.acked == s.seq.Load() && (s.snapLast == 0 || s.snapAcked) && walEnd > s.flush {
		s.flush = walEnd
	}
}

// handle takes one pgoutput message. Inside a stream block (v2) the
// changes go to the transaction's spill; everything else is decoded now.
func (ss *session) handle(ctx context.Context, xld pglogrepl.XLogData) error {
	data := xld.WALData
	if len(data) == 0 {
		return fatalError{errors.New("postgres-cdc: empty pgoutput message")}
	}
	if ss.inStream && pglogrepl.MessageType(data[0]) != pglogrepl.MessageTypeStreamStop {
		return ss.spillMessage(xld.WALStart, data)
	}
	switch pglogrepl.MessageType(data[0]) {
	case pglogrepl.MessageTypeStreamStart, pglogrepl.MessageTypeStreamStop, pglogrepl.MessageTypeStreamAbort, pglogrepl.MessageTypeStreamCommit:
		if ss.s.proto >= 2 {
			return ss.streamControl(ctx, data)
		}
	}
	return ss.applyData(ctx, data, xld.WALStart, false)
}

// streamControl takes a v2 stream message: the start, stop, abort or
// commit of a stream block.
func (ss *session) streamControl(ctx context.Context, data []byte) error {
	msg, err := parseMessage(data, 2, false)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *pglogrepl.StreamStartMessageV2:
		ss.inStream, ss.streamXid = true, m.Xid
		if sp := ss.spills[m.Xid]; sp != nil && m.FirstSegment == 1 {
			// The server starts this transaction over: forget what was kept.
			_ = sp.close()
			delete(ss.spills, m.Xid)
		}
		if ss.spills[m.Xid] == nil {
			ss.spills[m.Xid] = newSpill("", m.Xid)
		}
	case *pglogrepl.StreamStopMessageV2:
		ss.inStream = false
	case *pglogrepl.StreamAbortMessageV2:
		sp := ss.spills[m.Xid]
		if sp == nil {
			return nil
		}
		if m.SubXid != 0 && m.SubXid != m.Xid {
			sp.abortSub(m.SubXid)
			return nil
		}
		delete(ss.spills, m.Xid)
		return sp.close()
	case *pglogrepl.StreamCommitMessageV2:
		return ss.streamCommit(ctx, m)
	}
	return nil
}

// spillMessage keeps a message of the open stream block in its
// transaction's spill. Only relations and changes are kept: type messages
// are not needed (types are looked up by OID), origins and logical
// decoding messages are not delivered.
func (ss *session) spillMessage(lsn pglogrepl.LSN, data []byte) error {
	switch pglogrepl.MessageType(data[0]) {
	case pglogrepl.MessageTypeRelation, pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate,
		pglogrepl.MessageTypeDelete, pglogrepl.MessageTypeTruncate:
	default:
		return nil
	}
	if len(data) < 5 {
		return fatalError{fmt.Errorf("postgres-cdc: decode pgoutput message: streamed %s message of %d bytes", pglogrepl.MessageType(data[0]), len(data))}
	}
	sp := ss.spills[ss.streamXid]
	if err := sp.add(binary.BigEndian.Uint32(data[1:5]), lsn, data); err != nil {
		return err
	}
	ss.s.spilled.Add(uint64(spillHeader + len(data)))
	return nil
}

// streamCommit delivers a committed streamed transaction from its spill,
// as a v1 commit would deliver it, and then records its commit.
func (ss *session) streamCommit(ctx context.Context, m *pglogrepl.StreamCommitMessageV2) error {
	sp := ss.spills[m.Xid]
	if sp == nil {
		return fatalError{fmt.Errorf("postgres-cdc: streamed transaction %d committed at %s, but none of it was received: possible data loss", m.Xid, m.CommitLSN)}
	}
	delete(ss.spills, m.Xid)
	defer func() { _ = sp.close() }()
	ss.inTx, ss.xid = true, m.Xid
	ss.beginTx(m.CommitLSN)
	ss.commitLSN = m.CommitLSN.String()
	ss.commitAt = m.CommitTime
	ss.commitTime = m.CommitTime.UTC().Format("2006-01-02T15:04:05.000000Z")
	err := sp.replay(func(lsn pglogrepl.LSN, data []byte) error {
		return ss.applyData(ctx, data, lsn, true)
	})
	if err != nil {
		return err
	}
	ss.commit(m.TransactionEndLSN)
	return nil
}

// v1Message returns the protocol v1 form of a v2 message (the xid of a
// streamed change is in the spill entry).
func v1Message(m pglogrepl.Message) pglogrepl.Message {
	switch m := m.(type) {
	case *pglogrepl.RelationMessageV2:
		return &m.RelationMessage
	case *pglogrepl.InsertMessageV2:
		return &m.InsertMessage
	case *pglogrepl.UpdateMessageV2:
		return &m.UpdateMessage
	case *pglogrepl.DeleteMessageV2:
		return &m.DeleteMessage
	case *pglogrepl.TruncateMessageV2:
		return &m.TruncateMessage
	}
	return m
}

// apply takes one message of a transaction (v1 forms) that applyData
// leaves to pglogrepl: relations and truncates (the rest is not
// delivered); lsn is the WAL position of the XLogData that carried it.
func (ss *session) apply(ctx context.Context, msg pglogrepl.Message, lsn pglogrepl.LSN) error {
	s := ss.s
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		if !s.selected(m.Namespace, m.RelationName) {
			// Published, but not selected: its changes never leave the
			// process (they are dropped undecoded).
			ss.rels[m.RelationID] = &relation{schema: m.Namespace, table: m.RelationName, ignored: true}
			s.ignoring(m.Namespace, m.RelationName)
			return nil
		}
		key, err := rowKey(ctx, s.sql, m.RelationID)
		if err != nil {
			return err
		}
		cols := make([]column, len(m.Columns))
		for i, c := range m.Columns {
			t, err := s.types.resolve(ctx, s.sql, c.DataType)
			if err != nil {
				return err
			}
			cols[i] = column{name: c.Name, typ: t, ident: c.Flags&1 != 0}
		}
		rel := newRelation(m.Namespace, m.RelationName, cols, key)
		if err := s.checkDrift(ctx, rel); err != nil {
			return err // schema drift from the lock (drift.go): stops the source
		}
		ss.rels[m.RelationID] = rel
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			rel, err := ss.rel(id)
			if err != nil {
				return err
			}
			if rel.ignored {
				continue
			}
			n, skip := ss.ordinal()
			if skip {
				continue // delivered by an earlier run (resume.go)
			}
			b := appendLSN(ss.buf[:0], lsn)
			at := len(b)
			b = appendStreamToken(b, ss.commitLSN, n)
			text := string(b)
			ss.buf = b[:0]
			if err := ss.emit(ctx, rel, runtime.OpTruncate, nil, nil, nil, text[:at], text[at:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ss *session) rel(id uint32) (*relation, error) {
	rel, ok := ss.rels[id]
	if !ok {
		return nil, fatalError{fmt.Errorf("postgres-cdc: change for unknown relation %d (no relation message)", id)}
	}
	return rel, nil
}

// emit hands on the record of one change; lsn is the WAL position of the
// message that carried it, as text, and token its position's (token.go:
// the caller numbered the change and skipped it if it was delivered).
func (ss *session) emit(ctx context.Context, rel *relation, op runtime.Op, before, after, toast []runtime.Value, lsn, token string) error {
	s := ss.s
	keyRow := after
	if keyRow == nil {
		keyRow = before
	}
	r := runtime.Record{
		Stream: rel.table, Namespace: rel.schema, Op: op, Schema: rel.rs,
		Before: before, After: after, Time: ss.commitAt,
		Position: runtime.Position{Offset: s.seq.Add(1), Token: token},
		Meta:     s.streamMeta(rel, ss.keyColumns(rel), keyRow, ss.xid, lsn, ss.commitLSN, ss.commitTime, toast),
	}
	return ss.add(ctx, r)
}

// rowKey returns the columns that identify a row of the table relid, in
// key order: those of its replica identity index under REPLICA IDENTITY
// USING INDEX (the columns deletes carry), else those of its primary key
// (none without one: a whole row under REPLICA IDENTITY FULL does not
// identify it across updates).
func rowKey(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, relid uint32) ([]string, error) {
	rows, err := q.Query(ctx, `
SELECT a.attname::text
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
     AND CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE c.oid = $1
ORDER BY k.ord`, relid)
	if err != nil {
		return nil, fmt.Errorf("postgres-cdc: row key of relation %d: %w", relid, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres-cdc: row key of relation %d: %w", relid, err)
	}
	return names, nil
}
