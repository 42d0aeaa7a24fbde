package cdc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/rivven/rivven-connect/runtime"
)

// streamBatch is the most records handed to Read at once.
const streamBatch = 256

// startStream starts the goroutine that reads the binlog from s.start
// (reconnecting after a lost connection, reconnect.go) and hands records
// to Read through s.recs; Close stops it through s.stop and waits on
// s.done.
func (s *Source) startStream() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done, s.recs, s.free = cancel, make(chan struct{}), make(chan []runtime.Record, 4), make(chan []runtime.Record, 4)
	go func() {
		defer close(s.done)
		defer close(s.recs)
		if err := s.stream(ctx); err != nil && ctx.Err() == nil {
			s.errMu.Lock()
			s.err = err
			s.errMu.Unlock()
		}
	}()
}

// session reads the binlog from r.last over one connection until it
// fails or ctx ends. connected reports whether the server sent an event
// (it accepted the position). Errors of the connection are returned as
// they are (reconnect.go classifies them); errors of the events are
// fatalError.
func (r *streamReader) session(ctx context.Context, connected func()) error {
	st, images, stop, err := r.s.startSync(ctx, r.last)
	if err != nil {
		return err
	}
	defer stop()
	r.images = images
	first := true
	for {
		if err := r.resnapStep(ctx); err != nil {
			return fatalError{err}
		}
		var ev *replication.BinlogEvent
		if r.resnap.waiting() {
			// A chunk waits for the stream's position: an idle stream must
			// look again.
			wctx, cancel := context.WithTimeout(ctx, resnapPoll)
			ev, err = st.GetEvent(wctx)
			cancel()
			if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				continue
			}
		} else {
			ev, err = st.GetEvent(ctx)
		}
		if err != nil {
			return err
		}
		if first {
			first = false
			connected()
		}
		if err := r.event(ev.Header, ev.Event); err != nil {
			var ce catalogError
			if errors.As(err, &ce) {
				return ce.error // reconnect.go classifies it
			}
			return fatalError{err}
		}
	}
}

// txState is the transaction being read.
type txState struct {
	gtid   string
	domain uint32
	alone  bool // a standalone GTID (DDL): no COMMIT follows
	time   time.Time
	// open is set once the transaction began (begin).
	open bool
	// file:pos is where the transaction starts (its GTID event), and
	// prefix the text its records' tokens start with (token.go):
	// "FILE:POS[ gtid=SET] #", SET the GTID position before it; ""
	// until a token needs it (changeToken).
	file   string
	pos    uint32
	prefix string
	// ev counts the transaction's rows events so far, of every table.
	ev uint32
	// skip is the last change of the transaction that was delivered
	// before (by an earlier run, or before a reconnect): the changes up to
	// it are skipped. Zero: none.
	skip change
}

// skipTo says that the changes of the transaction starting at file:pos
// up to and including upTo were delivered before (Resume, or a lost
// connection): they are skipped when the transaction is read.
type skipTo struct {
	file string
	pos  uint32
	upTo change
}

// startSync connects a new binlog syncer to the server and asks it for
// the binlog from at: by GTID on MariaDB when at has a GTID position,
// else by file:position. The syncer dials only while ctx lasts, and the
// connection it made is closed when ctx ends (so nothing blocks on a
// server that stopped answering). stop closes the syncer; the caller
// calls it once it is done with the streamer.
func (s *Source) startSync(ctx context.Context, at token) (st *replication.BinlogStreamer, images *imageDecoder, stop func(), err error) {
	var gs gomysql.GTIDSet
	if s.mariadb && at.gtid != "" {
		if gs, err = gomysql.ParseMariadbGTIDSet(at.gtid); err != nil {
			return nil, nil, nil, fatalError{fmt.Errorf("mysql-cdc: position token %s: GTID position %q is not valid: %v", at, at.gtid, err)}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	images = newImageDecoder(s.selected(), s.charset, func(t table) (map[string]kind, error) {
		cctx, cancel := context.WithTimeout(ctx, catalogTimeout)
		defer cancel()
		read := s.fixedBinColumns
		if s.catalogHook != nil {
			read = s.catalogHook
		}
		m, err := read(cctx, t)
		if err != nil {
			return nil, fixedBinError(t, err)
		}
		return m, nil
	})
	syncer, err := s.newSyncer(ctx, images)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	stop = func() {
		// Cancelled first: go-mysql's Close then skips dialling the server
		// to KILL the dump connection (closing it ends it).
		cancel()
		syncer.Close()
	}
	if gs != nil {
		st, err = syncer.StartSyncGTID(gs)
	} else {
		st, err = syncer.StartSync(gomysql.Position{Name: at.file, Pos: at.pos})
	}
	if err != nil {
		connected := syncer.LastConnectionID() != 0
		stop()
		err = fmt.Errorf("mysql-cdc: start reading the binlog at %s from %s (user %q): %w", at, s.addr(), s.cfg.User, err)
		var me *gomysql.MyError
		if connected && errors.As(err, &me) && (me.Code == 1045 || me.Code == 1227) {
			// Logged in, then refused as a replica (MariaDB answers 1045).
			err = fmt.Errorf("%w — the server refused to register the source as a replica: the user needs REPLICATION SLAVE (GRANT REPLICATION SLAVE ON *.* TO '%s'@'…')",
				err, strings.ReplaceAll(s.cfg.User, "'", "''"))
		}
		return nil, nil, nil, err
	}
	return st, images, stop, nil
}

// streamReader turns binlog events into records.
type streamReader struct {
	s    *Source
	ctx  context.Context
	sel  map[table]bool       // the captured tables
	rels map[string]*relation // by signature (relationOf)
	maps map[uint64]tableRel  // the relation of each table id's last map
	file string               // the current binlog file
	last token                // the end of the last transaction
	// gtids is the GTID position at last (MariaDB).
	gtids gtidSet
	tx    txState
	out   []runtime.Record
	outAt change // the change of out's last record
	// held is the last record read, heldAt its change: the transaction's
	// end gives it its token.
	held   *runtime.Record
	heldAt change
	// heldRec is where held points: a record of its own would be an
	// allocation per record.
	heldRec runtime.Record
	// sent is the last change of the transaction being read that was
	// handed to Read (or skipped as delivered before): a reconnect reads
	// the transaction again from its start and skips the changes up to
	// it instead of delivering them again.
	sent change
	// pending is the skip for a transaction not read yet: the resumed
	// position's (Resume), or the one a lost connection interrupted. The
	// next transaction takes it when it starts where pending says.
	pending *skipTo
	tokBuf  []byte
	// at is where the stream stands between transactions: the end of the
	// last transaction, or of an event after it that belongs to none.
	at token
	// resnap is the re-snapshot of tables added to `tables` (resnap.go);
	// nil when none is under way.
	resnap *resnap
	// images holds the rows the session's syncer decoded (rowimage.go).
	images *imageDecoder
}

// tableRel is a table map event, its columns, the kinds of its
// fixed-size binary columns and its relation.
type tableRel struct {
	m     *replication.TableMapEvent
	bt    *binlogTable
	alias []kind
	rel   *relation
}

// catalogError is an error of reading the catalog while streaming: the
// stream reconnects when it is transient, as after a lost connection.
type catalogError struct{ error }

func (e catalogError) Unwrap() error { return e.error }

// catalogTimeout bounds a catalog query the stream makes.
const catalogTimeout = 30 * time.Second

// readError words an error that ended reading the binlog.
func (r *streamReader) readError(err error) error {
	var me *gomysql.MyError
	if errors.As(err, &me) && me.Code == 1236 {
		next := "set snapshot_mode: when_needed to take a new snapshot at the next start, or delete the pipeline's state file in settings.state_dir"
		if r.s.cfg.SnapshotMode == SnapshotWhenNeeded {
			next = "snapshot_mode when_needed takes a new snapshot at the next start"
		}
		return fmt.Errorf("mysql-cdc: the server %s cannot send the binlog from %s: %s — the binlog there was purged or is unknown (possible data loss): %s",
			r.s.addr(), r.last, me.Message, next)
	}
	var ee *replication.EventError
	if errors.As(err, &ee) {
		// Not ee.Error(): it holds the event's bytes, row data included.
		at := ""
		if ee.Header != nil {
			at = fmt.Sprintf(" (%s at %s:%d)", ee.Header.EventType, r.file, ee.Header.LogPos-ee.Header.EventSize)
		}
		return fmt.Errorf("mysql-cdc: decoding a binlog event after %s%s: %s", r.last, at, ee.Err)
	}
	var fe fatalError
	if errors.As(err, &fe) {
		err = fe.error
	}
	if strings.HasPrefix(err.Error(), "mysql-cdc: ") {
		return err
	}
	return fmt.Errorf("mysql-cdc: reading the binlog of %s after %s: %v", r.s.addr(), r.last, err)
}

func (r *streamReader) send() error {
	if len(r.out) == 0 {
		return nil
	}
	at := r.outAt
	if err := r.sendOut(); err != nil {
		return err
	}
	r.sent = at
	return nil
}

// sendOut hands out to Read.
func (r *streamReader) sendOut() error {
	if len(r.out) == 0 {
		return nil
	}
	select {
	case r.s.recs <- r.out:
		// Read keeps the batch sent, and hands it back through free once
		// it copied it out. Else the next one gets the capacity this one
		// needed (one record when each transaction changes one row), not
		// streamBatch records (some 40 KB) for every commit.
		select {
		case b := <-r.s.free:
			r.out = b
		default:
			r.out = make([]runtime.Record, 0, len(r.out))
		}
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// emit holds rec, change c of the transaction, and moves the record held
// before to out: a record follows it in its transaction, so it gets its
// change's token.
func (r *streamReader) emit(rec runtime.Record, c change) error {
	if r.held != nil {
		r.held.Position.Token = r.changeToken(r.heldAt)
		r.out, r.outAt = append(r.out, *r.held), r.heldAt
		if len(r.out) >= streamBatch {
			if err := r.send(); err != nil {
				return err
			}
		}
	}
	r.heldRec = rec
	r.held, r.heldAt = &r.heldRec, c
	return nil
}

// changeToken returns the token of change c of the transaction being
// read (token.go).
func (r *streamReader) changeToken(c change) string {
	if r.tx.prefix == "" {
		// r.last.gtid is the GTID position after the last transaction
		// read: the one before this one.
		r.tx.prefix = token{file: r.tx.file, pos: r.tx.pos, gtid: r.last.gtid}.String() + changeMark
	}
	b := strconv.AppendUint(append(r.tokBuf[:0], r.tx.prefix...), uint64(c.ev), 10)
	r.tokBuf = strconv.AppendUint(append(b, '.'), uint64(c.row), 10)
	return string(r.tokBuf)
}

// commit ends the transaction: positions move only here. The last
// record of the transaction gets the position after it.
func (r *streamReader) commit(h *replication.EventHeader) error {
	if r.tx.gtid != "" && r.s.mariadb {
		r.gtids[r.tx.domain] = r.tx.gtid
	}
	r.last = token{file: r.file, pos: h.LogPos, gtid: r.gtids.String()}
	if !r.s.mariadb {
		r.last.gtid = ""
	}
	r.at = r.last
	if r.held != nil {
		r.held.Position.Token = r.last.String()
		r.out, r.outAt = append(r.out, *r.held), r.heldAt
		r.held = nil
	}
	if r.tx.skip != (change{}) && r.tx.ev < r.tx.skip.ev {
		// The transaction came back shorter than what was delivered of
		// it (it cannot): deliver what follows in full.
		r.s.logger().Warn("the transaction read again after a restart or a lost binlog connection had fewer changes than were delivered of it; going on after it",
			"server", r.s.addr(), "transaction", token{file: r.tx.file, pos: r.tx.pos, change: r.tx.skip}.String(), "position", r.last.String())
	}
	r.tx = txState{}
	err := r.send()
	r.sent = change{}
	r.s.streamed(r.last)
	return err
}

// lost forgets the transaction being read when the connection failed:
// the next session reads it again from its start (r.last), skipping the
// records already handed to Read.
func (r *streamReader) lost() {
	if r.tx.open {
		upTo := r.tx.skip
		if r.sent.after(upTo) {
			upTo = r.sent
		}
		if upTo != (change{}) {
			r.pending = &skipTo{file: r.tx.file, pos: r.tx.pos, upTo: upTo}
		}
	}
	// The records dropped here were the last numbered: their offsets are
	// given again, so Read sees no gap.
	n := len(r.out)
	if r.held != nil {
		n++
	}
	if n > 0 {
		r.s.seq.Add(^uint64(n - 1))
	}
	r.sent = change{}
	r.out = r.out[:0]
	r.held = nil
	r.tx = txState{}
}

// begin starts a transaction that starts at file:pos (its GTID event).
// It takes the pending skip when that is the transaction's.
func (r *streamReader) begin(tx txState, file string, pos uint32) {
	tx.open, tx.file, tx.pos = true, file, pos
	r.tx = tx
	if p := r.pending; p != nil {
		r.pending = nil
		if p.file == file && p.pos == pos {
			r.tx.skip = p.upTo
			return
		}
		r.s.logger().Warn("the transaction of the position to go on from did not come first when the binlog was read again; delivering what follows in full",
			"server", r.s.addr(), "transaction", token{file: p.file, pos: p.pos, change: p.upTo}.String(),
			"next_transaction", token{file: file, pos: pos}.String())
	}
}

// event handles one binlog event; h is the header positions are taken
// from (a compressed MySQL transaction's inner events have the payload
// event's).
func (r *streamReader) event(h *replication.EventHeader, ev replication.Event) error {
	s := r.s
	switch e := ev.(type) {
	case *replication.RotateEvent:
		r.idle(r.file, h) // a real rotation's position is in the file it ends
		r.file = string(e.NextLogName)
	case *replication.FormatDescriptionEvent, *replication.MariadbGTIDListEvent, *replication.MariadbBinlogCheckPointEvent,
		*replication.PreviousGTIDsEvent:
		r.idle(r.file, h)
	case *replication.GenericEvent:
		if h.EventType == replication.HEARTBEAT_EVENT {
			// The server's position in the binlog it sends, when it has
			// nothing to send.
			r.idle(r.file, h)
		}
	case *replication.MariadbGTIDEvent:
		r.begin(txState{gtid: e.GTID.String(), domain: e.GTID.DomainID, alone: e.IsStandalone(), time: time.Unix(int64(h.Timestamp), 0).UTC()},
			r.file, h.LogPos-h.EventSize)
	case *replication.GTIDEvent:
		u := e.SID
		gtid := ""
		if len(u) == 16 {
			gtid = fmt.Sprintf("%x-%x-%x-%x-%x:%d", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16], e.GNO)
		}
		r.begin(txState{gtid: gtid, time: time.Unix(int64(h.Timestamp), 0).UTC()}, r.file, h.LogPos-h.EventSize)
	case *replication.QueryEvent:
		q := strings.TrimSpace(string(e.Query))
		switch {
		case strings.EqualFold(q, "BEGIN"):
		case strings.EqualFold(q, "COMMIT") || r.tx.alone || !s.mariadb:
			// COMMIT of a non-transactional engine, or a DDL (its own
			// transaction).
			return r.commit(h)
		}
	case *replication.XIDEvent:
		return r.commit(h)
	case *replication.TransactionPayloadEvent:
		for _, in := range e.Events {
			if err := r.event(h, in.Event); err != nil {
				return err
			}
		}
	case *replication.RowsEvent:
		return r.rows(h, e)
	}
	return nil
}

// idle records for SourceLag, between transactions, the position after
// an event that belongs to none (a rotation, a new file's headers), so an
// idle source's lag reaches 0 past them. Events the server makes up for
// the start of a dump have no position (0) and are left out.
func (r *streamReader) idle(file string, h *replication.EventHeader) {
	if h.LogPos == 0 || r.tx != (txState{}) || r.held != nil {
		return
	}
	at := token{file: file, pos: h.LogPos}
	if binlogBefore(at, r.at) {
		// The headers a new dump starts with (its file's format
		// description, GTID list): before where the stream stands.
		return
	}
	r.at = at
	r.s.streamed(r.at)
}

// rows turns a rows event into records, skipping the changes delivered
// before (r.tx.skip).
func (r *streamReader) rows(h *replication.EventHeader, e *replication.RowsEvent) error {
	s := r.s
	if !r.tx.open {
		// No GTID event began it (none is expected): it starts after the
		// last transaction.
		r.begin(txState{}, r.last.file, r.last.pos)
	}
	r.tx.ev++ // every table's: the coordinate does not depend on the selection
	im := r.images.take(e)
	if e.Table == nil || !r.sel[table{string(e.Table.Schema), string(e.Table.Table)}] {
		return nil
	}
	var alias []kind
	if im != nil {
		if im.aliasErr != nil {
			return catalogError{im.aliasErr}
		}
		alias = im.alias
	}
	tr, ok := r.maps[e.TableID]
	switch {
	case ok && !slices.Equal(tr.alias, alias):
		ok = false
	case ok && tr.m == e.Table:
	case ok && sameTableMap(tr.m, e.Table):
		// Each transaction's map of an unchanged table.
		tr.m = e.Table
		r.maps[e.TableID] = tr
	}
	if !ok {
		bt, err := tableOf(e.Table, s.charset)
		if err != nil {
			return fmt.Errorf("mysql-cdc: table %s: %w", table{string(e.Table.Schema), string(e.Table.Table)}, err)
		}
		bt.setFixedBin(alias)
		rel, err := s.relationOf(r.rels, bt)
		if err != nil {
			return err
		}
		tr = tableRel{m: e.Table, bt: bt, alias: alias, rel: rel}
		r.maps[e.TableID] = tr
	}
	rel := tr.rel
	var op runtime.Op
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		op = runtime.OpInsert
	case replication.EnumRowsEventTypeUpdate:
		op = runtime.OpUpdate
	case replication.EnumRowsEventTypeDelete:
		op = runtime.OpDelete
	default:
		return fmt.Errorf("mysql-cdc: table %s: binlog rows event %s is not decoded by mysql-cdc", rel.t, h.EventType)
	}
	at := token{file: r.file, pos: h.LogPos - h.EventSize}
	when := r.tx.time
	if when.IsZero() {
		when = time.Unix(int64(h.Timestamp), 0).UTC()
	}
	step := 1
	if op == runtime.OpUpdate {
		step = 2 // before and after images
	}
	// The event's records share their metadata's source, and their
	// values and metadata are allocated a chunk at a time
	// (eventrecords.go).
	if im != nil && !im.decoded {
		im = nil // go-mysql's e.Rows
	}
	ev := newEventRecords(rel, tr.bt, at, r.tx.gtid, e.Rows, im, step)
	images := ev.images()
	for i := 0; i+step <= images; i += step {
		c := change{ev: r.tx.ev, row: uint32(i/step + 1)}
		if r.tx.skip != (change{}) && !c.after(r.tx.skip) {
			// Delivered before: acknowledged by an earlier run, or handed
			// to Read before the connection was lost.
			r.sent = c
			continue
		}
		// The token comes when the record's place is known: emit gives
		// it its change's if another record follows, commit the position
		// after the transaction if none does.
		rec := runtime.Record{Stream: rel.t.name, Namespace: rel.t.db, Op: op, Schema: rel.rs, Time: when,
			Position: runtime.Position{Offset: s.seq.Add(1)}}
		var err error
		switch op {
		case runtime.OpInsert:
			rec.After, err = ev.row(i)
		case runtime.OpDelete:
			rec.Before, err = ev.row(i)
		default:
			if rec.Before, err = ev.row(i); err == nil {
				rec.After, err = ev.row(i + 1)
			}
		}
		if err != nil {
			return err
		}
		rec.Meta = ev.meta(rec.After, rec.Before)
		if err := r.emit(rec, c); err != nil {
			return err
		}
	}
	return nil
}

// selected returns the set of tables the source captures.
func (s *Source) selected() map[table]bool {
	m := make(map[table]bool, len(s.tables))
	for _, t := range s.tables {
		m[t] = true
	}
	return m
}

// relationOf returns the relation of a table map: its columns as the map
// names and types them (binlog_row_metadata=FULL), so rows written before
// a DDL decode with the columns they were written with. With a schema
// lock, a relation whose columns differ from the lock is a fatalError
// (checkLock).
func (s *Source) relationOf(cache map[string]*relation, t *binlogTable) (*relation, error) {
	if !t.hasNames {
		return nil, fmt.Errorf("mysql-cdc: the binlog's table map of %s has no column names: SET GLOBAL binlog_row_metadata = 'FULL'", t.t)
	}
	cols := make([]column, len(t.cols))
	var sig strings.Builder
	sig.WriteString(t.t.db + "\x00" + t.t.name)
	for i := range t.cols {
		k, cs, err := kindOfBinlog(&t.cols[i], s.charset)
		if err != nil {
			return nil, fmt.Errorf("mysql-cdc: table %s, column %s: %w", t.t, quoteIdent(t.cols[i].name), err)
		}
		cols[i] = column{name: t.cols[i].name, kind: k, cs: cs}
		csName := ""
		if cs != nil {
			csName = cs.name
		}
		fmt.Fprintf(&sig, "\x00%s\x01%d\x01%s", cols[i].name, k, csName)
	}
	for _, k := range t.pk {
		fmt.Fprintf(&sig, "\x00pk%d", k)
	}
	if r, ok := cache[sig.String()]; ok {
		return r, nil
	}
	pk := make([]int, 0, len(t.pk))
	for _, k := range t.pk {
		if k < len(cols) {
			pk = append(pk, k)
		}
	}
	r := newRelation(t.t, cols, pk)
	// A new set of columns: with a schema lock, it must be the locked one.
	if err := s.checkLock(r); err != nil {
		return nil, err
	}
	cache[sig.String()] = r
	return r, nil
}
