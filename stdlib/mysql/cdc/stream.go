package cdc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/rivven/rivven-connect/runtime"
)

// streamBatch is the most records handed to Read at once.
const streamBatch = 256

func (s *Source) startStream() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done, s.recs = cancel, make(chan struct{}), make(chan []runtime.Record, 4)
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

// txState is the transaction being read.
type txState struct {
	gtid   string
	domain uint32
	alone  bool // a standalone GTID (DDL): no COMMIT follows
	time   time.Time
}

// stream reads the binlog from s.start and hands records to Read until
// ctx ends or the connection fails.
func (s *Source) stream(ctx context.Context) error {
	syncer, err := s.newSyncer(ctx)
	if err != nil {
		return err
	}
	defer syncer.Close()
	start := s.start
	var st *replication.BinlogStreamer
	if s.mariadb && start.gtid != "" {
		gs, perr := gomysql.ParseMariadbGTIDSet(start.gtid)
		if perr != nil {
			return fmt.Errorf("mysql-cdc: position token %s: GTID position %q is not valid: %v", start, start.gtid, perr)
		}
		st, err = syncer.StartSyncGTID(gs)
	} else {
		st, err = syncer.StartSync(gomysql.Position{Name: start.file, Pos: start.pos})
	}
	if err != nil {
		return fmt.Errorf("mysql-cdc: start reading the binlog at %s from %s (user %q): %v", start, s.addr(), s.cfg.User, err)
	}
	r := &streamReader{s: s, ctx: ctx, sel: s.selected(), rels: map[string]*relation{}, maps: map[uint64]tableRel{},
		file: start.file, last: start, gtids: parseGTIDSet(start.gtid)}
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return r.readError(err)
		}
		if err := r.event(ev.Header, ev.Event); err != nil {
			return err
		}
	}
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
	// held is the last record read; the transaction's end gives it its
	// token.
	held *runtime.Record
}

// tableRel is a table map event, its columns and its relation.
type tableRel struct {
	m   *replication.TableMapEvent
	bt  *binlogTable
	rel *relation
}

// readError words an error of the binlog stream.
func (r *streamReader) readError(err error) error {
	var me *gomysql.MyError
	if errors.As(err, &me) && me.Code == 1236 {
		return fmt.Errorf("mysql-cdc: the server cannot send the binlog from %s: %s — the binlog there was purged or is unknown (possible data loss): "+
			"delete the pipeline's state file in settings.state_dir to take a new snapshot", r.last, me.Message)
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
	return fmt.Errorf("mysql-cdc: reading the binlog after %s: %v", r.last, err)
}

func (r *streamReader) send() error {
	if len(r.out) == 0 {
		return nil
	}
	select {
	case r.s.recs <- r.out:
		r.out = make([]runtime.Record, 0, streamBatch)
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func (r *streamReader) emit(rec runtime.Record) error {
	if r.held != nil {
		r.out = append(r.out, *r.held)
		if len(r.out) >= streamBatch {
			if err := r.send(); err != nil {
				return err
			}
		}
	}
	r.held = &rec
	return nil
}

// commit ends the transaction: positions move only here.
func (r *streamReader) commit(h *replication.EventHeader) error {
	if r.tx.gtid != "" && r.s.mariadb {
		r.gtids[r.tx.domain] = r.tx.gtid
	}
	r.last = token{file: r.file, pos: h.LogPos, gtid: r.gtids.String()}
	if !r.s.mariadb {
		r.last.gtid = ""
	}
	if r.held != nil {
		r.held.Position.Token = r.last.String()
		r.out = append(r.out, *r.held)
		r.held = nil
	}
	r.tx = txState{}
	return r.send()
}

// event handles one binlog event; h is the header positions are taken
// from (a compressed MySQL transaction's inner events have the payload
// event's).
func (r *streamReader) event(h *replication.EventHeader, ev replication.Event) error {
	s := r.s
	switch e := ev.(type) {
	case *replication.RotateEvent:
		r.file = string(e.NextLogName)
	case *replication.MariadbGTIDEvent:
		r.tx = txState{gtid: e.GTID.String(), domain: e.GTID.DomainID, alone: e.IsStandalone(), time: time.Unix(int64(h.Timestamp), 0).UTC()}
	case *replication.GTIDEvent:
		u := e.SID
		gtid := ""
		if len(u) == 16 {
			gtid = fmt.Sprintf("%x-%x-%x-%x-%x:%d", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16], e.GNO)
		}
		r.tx = txState{gtid: gtid, time: time.Unix(int64(h.Timestamp), 0).UTC()}
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

func (r *streamReader) rows(h *replication.EventHeader, e *replication.RowsEvent) error {
	s := r.s
	if e.Table == nil || !r.sel[table{string(e.Table.Schema), string(e.Table.Table)}] {
		return nil
	}
	tr, ok := r.maps[e.TableID]
	if !ok || tr.m != e.Table {
		bt := tableOf(e.Table)
		rel, err := s.relationOf(r.rels, bt)
		if err != nil {
			return err
		}
		tr = tableRel{m: e.Table, bt: bt, rel: rel}
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
	for i := 0; i+step <= len(e.Rows); i += step {
		rec := runtime.Record{Stream: rel.t.name, Namespace: rel.t.db, Op: op, Schema: rel.rs, Time: when,
			Position: runtime.Position{Offset: s.seq.Add(1), Token: r.last.String()}}
		var err error
		switch op {
		case runtime.OpInsert:
			rec.After, err = rel.row(tr.bt, e.Rows[i])
		case runtime.OpDelete:
			rec.Before, err = rel.row(tr.bt, e.Rows[i])
		default:
			if rec.Before, err = rel.row(tr.bt, e.Rows[i]); err == nil {
				rec.After, err = rel.row(tr.bt, e.Rows[i+1])
			}
		}
		if err != nil {
			return err
		}
		rec.Meta = s.meta(rel, rec.After, rec.Before, at, r.tx.gtid, false)
		if err := r.emit(rec); err != nil {
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
// a DDL decode with the columns they were written with.
func (s *Source) relationOf(cache map[string]*relation, t *binlogTable) (*relation, error) {
	if !t.hasNames {
		return nil, fmt.Errorf("mysql-cdc: the binlog's table map of %s has no column names: SET GLOBAL binlog_row_metadata = 'FULL'", t.t)
	}
	cols := make([]column, len(t.cols))
	var sig strings.Builder
	sig.WriteString(t.t.db + "\x00" + t.t.name)
	for i := range t.cols {
		k, latin1, err := kindOfBinlog(&t.cols[i], s.charset)
		if err != nil {
			return nil, fmt.Errorf("mysql-cdc: table %s, column %s: %w", t.t, quoteIdent(t.cols[i].name), err)
		}
		cols[i] = column{name: t.cols[i].name, kind: k, latin1: latin1}
		fmt.Fprintf(&sig, "\x00%s\x01%d\x01%t", cols[i].name, k, latin1)
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
	cache[sig.String()] = r
	return r, nil
}

// row converts a binlog row image decoded with the table map t.
func (r *relation) row(t *binlogTable, vals []any) ([]runtime.Value, error) {
	if len(vals) != len(r.cols) || len(t.cols) != len(r.cols) {
		return nil, fmt.Errorf("mysql-cdc: table %s: a binlog row of %d values for %d columns", r.t, len(vals), len(r.cols))
	}
	row := make([]runtime.Value, len(r.cols))
	for i := range r.cols {
		v, err := binlogValue(&t.cols[i], vals[i])
		if err != nil {
			return nil, fmt.Errorf("mysql-cdc: table %s, column %s: %w", r.t, quoteIdent(r.cols[i].name), err)
		}
		if b, ok := v.([]byte); ok && r.cols[i].latin1 {
			u, err := fromLatin1(b)
			if err != nil {
				return nil, err
			}
			v = u
		}
		x, err := r.cols[i].value(v)
		if err != nil {
			return nil, fmt.Errorf("mysql-cdc: table %s: %w", r.t, err)
		}
		row[i] = x
	}
	return row, nil
}
