package cdc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"
)

// Reconnection after a failed binlog connection: postgres-cdc's backoff
// between attempts (0.1 s doubling to 10 s, back to 0.1 s after a
// connection that lasted reconnectSettle), and the source gives up when
// reconnectBudget has passed since the connection was lost without one
// that lasted reconnectSettle.
const (
	minBackoff      = 100 * time.Millisecond
	maxBackoff      = 10 * time.Second
	reconnectBudget = 5 * time.Minute
	reconnectSettle = time.Minute
)

// fatalError marks an error that reconnecting cannot fix.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

// transientCodes are the server errors after which a new connection may
// work: the server shutting down or killing the connection, network
// failures it noticed, and connection limits.
var transientCodes = map[uint16]bool{
	1040: true, // ER_CON_COUNT_ERROR: too many connections
	1053: true, // ER_SERVER_SHUTDOWN
	1077: true, // ER_NORMAL_SHUTDOWN
	1078: true, // ER_GOT_SIGNAL
	1079: true, // ER_SHUTDOWN_COMPLETE
	1080: true, // ER_FORCING_CLOSE
	1152: true, // ER_ABORTING_CONNECTION
	1154: true, // ER_NET_READ_ERROR_FROM_PIPE
	1156: true, // ER_NET_PACKETS_OUT_OF_ORDER
	1158: true, // ER_NET_READ_ERROR
	1159: true, // ER_NET_READ_INTERRUPTED
	1160: true, // ER_NET_ERROR_ON_WRITE
	1161: true, // ER_NET_WRITE_INTERRUPTED
	1184: true, // ER_NEW_ABORTING_CONNECTION
	1203: true, // ER_TOO_MANY_USER_CONNECTIONS
	1226: true, // ER_USER_LIMIT_REACHED
	1317: true, // ER_QUERY_INTERRUPTED
	1927: true, // ER_CONNECTION_KILLED (MariaDB)
	2006: true, // CR_SERVER_GONE_ERROR
	2013: true, // CR_SERVER_LOST
}

// transient reports whether a new connection may cure err: network
// failures and the transient server errors above. Every other server
// error (a wrong password, a missing privilege, a binlog the server no
// longer has), a certificate the TLS settings refuse, and every error of
// decoding or converting events are final.
func transient(err error) bool {
	var fe fatalError
	var ee *replication.EventError
	var me *gomysql.MyError
	var de *mysql.MySQLError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case err == nil, errors.As(err, &fe), errors.As(err, &ee), errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &me):
		return transientCodes[me.Code]
	case errors.As(err, &de):
		return transientCodes[de.Number]
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return false
	}
	msg := err.Error()
	// go-mysql's words for a TLS mode the server cannot meet, and for a
	// panic it recovered while decoding.
	return !strings.Contains(msg, "does not support TLS") && !strings.HasPrefix(msg, "panic ")
}

// retryBudget is how long the source tries to restore a lost binlog
// connection.
func (s *Source) retryBudget() time.Duration {
	if b := s.budget.Load(); b > 0 {
		return time.Duration(b)
	}
	return reconnectBudget
}

// stream reads the binlog from s.start and hands records to Read until
// ctx ends or reading fails for good; the changes s.skip names (Resume)
// are skipped. A connection that fails transiently is opened again after
// a backoff, at the end of the last transaction read completely
// (r.last); records of the interrupted transaction that Read already has
// are not delivered again.
func (s *Source) stream(ctx context.Context) error {
	start := s.start
	r := &streamReader{s: s, ctx: ctx, sel: s.selected(), rels: map[string]*relation{}, maps: map[uint64]tableRel{},
		file: start.file, last: start, at: start, gtids: parseGTIDSet(start.gtid), pending: s.skip, resnap: s.resnap}
	// The GTID position as commit writes it (one GTID per domain, in
	// domain order): the tokens of the first transaction's changes are
	// then the same whichever way the run got there.
	if s.mariadb && start.gtid != "" {
		r.last.gtid = r.gtids.String()
	} else if !s.mariadb {
		r.last.gtid = ""
	}
	backoff := minBackoff
	var lostAt time.Time
	failed := 0 // failures since lostAt: the loss, then each attempt
	for {
		began := time.Now()
		err := r.session(ctx, func() {
			if failed > 0 {
				s.logger().Info("the binlog connection is restored", "server", s.addr(), "position", r.last.String(),
					"attempt", failed)
			}
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !transient(err) {
			return r.readError(err)
		}
		if time.Since(began) >= reconnectSettle {
			backoff, lostAt, failed = minBackoff, time.Time{}, 0
		}
		if lostAt.IsZero() {
			lostAt = time.Now()
		}
		failed++
		if waited := time.Since(lostAt); waited >= s.retryBudget() {
			return fmt.Errorf("mysql-cdc: the binlog connection to %s (user %q) failed and %d attempts to reconnect over %v did not restore it (giving up); the last error: %v",
				s.addr(), s.cfg.User, failed-1, waited.Round(100*time.Millisecond), r.readError(err))
		}
		r.lost()
		s.logger().Warn("the binlog connection to the server failed: reconnecting", "server", s.addr(),
			"position", r.last.String(), "attempt", failed, "retry_in", backoff, "error", s.redact(err).Error())
		if !pause(ctx, backoff) {
			return ctx.Err()
		}
		if l := s.lease; l != nil {
			// A cluster singleton whose binlog connection was dropped may
			// have been taken over (the server drops the older connection
			// of a server_id): it must not take the stream back.
			if err := l.Check(ctx); err != nil {
				return fmt.Errorf("mysql-cdc: not reconnecting to the binlog of %s as server_id %d: %w", s.addr(), s.cfg.ServerID, err)
			}
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// pause waits d; false means ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
