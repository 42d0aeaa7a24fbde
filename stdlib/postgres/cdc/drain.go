package cdc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// A graceful stop leaves behind, in the slot as in state_dir, a position
// that covers everything the run delivered, so that the next run delivers
// none of it again:
//
//  1. Close asks the stream goroutine to drain (Source.drain). Read takes
//     no more records, so the goroutine hands out none; but when every
//     record it handed out is acknowledged and only the Commit message of
//     their transaction has not been decoded yet, it goes on receiving
//     until that Commit (bounded by drainLimit), which lets the flush
//     position pass the transaction.
//  2. It sends a last standby status update with the flush position, then
//     ends the COPY stream (CopyDone) and waits for the server's end of it,
//     so the server has processed the update before the connection closes.
//  3. Close records how much of the transaction the stop landed in was
//     acknowledged (resume.go), then reads the slot's confirmed_flush_lsn
//     back until it reaches the reported position (bounded by
//     confirmLimit), and warns when it does not.

// errDrained ends a session that stopped for a drain.
var errDrained = errors.New("postgres-cdc: stream drained")

// Limits of a graceful stop.
const (
	drainLimit   = 5 * time.Second // waiting for the Commit of delivered records
	endCopyLimit = 2 * time.Second // waiting for the server's end of the COPY stream
	confirmLimit = 5 * time.Second // waiting for confirmed_flush_lsn to show the last update
)

// worthDraining reports whether going on receiving can still move the
// flush position: a transaction is open whose records were all handed out
// and acknowledged, and its Commit is yet to come.
func (ss *session) worthDraining() bool {
	if !ss.inTx {
		return false
	}
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked == s.seq.Load()
}

// drain stops the stream goroutine gracefully (see above) and waits for
// it, cancelling it after drainLimit.
func (s *Source) drain() {
	s.draining.Store(true)
	close(s.drainCh)
	t := time.NewTimer(drainLimit + endCopyLimit)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.logger().Warn("the replication stream did not stop within the drain limit; closing it", "slot", s.cfg.SlotName)
	}
	s.stop()
	<-s.done
}

// endCopy ends the COPY stream of conn: CopyDone, then the server's
// messages until it is ready for a query (changes still in flight are
// discarded). The server processes every message sent before CopyDone
// first.
func (s *Source) endCopy(conn *pgconn.PgConn) {
	nc := conn.Conn()
	_ = nc.SetDeadline(time.Now().Add(endCopyLimit))
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	conn.Frontend().Send(&pgproto3.CopyDone{})
	if err := conn.Frontend().Flush(); err != nil {
		return
	}
	for {
		msg, err := conn.Frontend().Receive()
		if err != nil {
			s.logger().Warn("ending the replication stream", "slot", s.cfg.SlotName, "error", err)
			return
		}
		switch m := msg.(type) {
		case *pgproto3.ReadyForQuery:
			return
		case *pgproto3.ErrorResponse:
			s.logger().Warn("ending the replication stream", "slot", s.cfg.SlotName, "error", pgconn.ErrorResponseToPgError(m))
			return
		}
	}
}

// confirmFlush waits until the slot's confirmed_flush_lsn reaches flush,
// the position the last status update reported, over c.
func (s *Source) confirmFlush(ctx context.Context, c *pgx.Conn, flush pglogrepl.LSN) error {
	ctx, cancel := context.WithTimeout(ctx, confirmLimit)
	defer cancel()
	var got pglogrepl.LSN
	for {
		var text *string
		err := c.QueryRow(ctx, `SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, s.cfg.SlotName).Scan(&text)
		if err == nil && text != nil {
			got, _ = pglogrepl.ParseLSN(*text)
			if got >= flush {
				return nil
			}
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read the slot's confirmed position: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the server still confirms %s, not %s, after %v", got, flush, confirmLimit)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// adminConn returns a usable SQL connection for Close: the source's own,
// or a new one (closed by the caller when it is not s.sql).
func (s *Source) adminConn(ctx context.Context) (*pgx.Conn, error) {
	if s.sql != nil && !s.sql.IsClosed() && s.sql.Ping(ctx) == nil {
		return s.sql, nil
	}
	c, err := pgx.ConnectConfig(ctx, s.sqlCfg)
	if err != nil {
		return nil, s.connectError(err)
	}
	return c, nil
}
