package cdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rivven/rivven-connect/runtime"
)

// LeaseTable is the table that holds one lease row per singleton
// mysql-cdc pipeline, in the database of the source's first table: the
// lease's name (the replica server_id it streams as), the node that holds
// it, the epoch, the holder's last renewal, its lock connection's id and
// the state every node shares (the acknowledged position, the broker
// producer ids). The source creates it when it is missing.
const LeaseTable = "rivven_connect_leases"

// leaseDDL creates LeaseTable in db.
func leaseDDL(db string) string {
	return `CREATE TABLE IF NOT EXISTS ` + quoteIdent(db) + `.` + LeaseTable + ` (
	name VARCHAR(64) NOT NULL PRIMARY KEY,
	holder VARCHAR(255) NOT NULL DEFAULT '',
	epoch BIGINT UNSIGNED NOT NULL DEFAULT 0,
	heartbeat_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	lock_id BIGINT UNSIGNED NULL,
	state LONGTEXT NOT NULL
) ENGINE=InnoDB`
}

// leaseName is the lease's row and lock name: the replica server id the
// nodes stream as (one binlog reader per server id: the server drops the
// older connection of two with the same id).
func (s *Source) leaseName() string {
	return "rivven-connect server_id " + strconv.FormatInt(s.cfg.ServerID, 10)
}

// leaseTable is LeaseTable, qualified by the first table's database.
func (s *Source) leaseTable() string { return quoteIdent(s.tables[0].db) + "." + LeaseTable }

// Elect implements runtime.Elector: one node of the cluster streams the
// binlog as the configured server_id. Leadership is a row of LeaseTable
// and a named lock (GET_LOCK) held by a connection of its own:
//
//   - a standby that gets the lock (the leader's connection ended: it
//     died, or its connection was killed) takes the row over at once,
//     bumping the epoch with a conditional UPDATE;
//   - a standby that sees the leader's renewal older than the failure
//     timeout (the leader hangs, holding the lock) bumps the epoch the
//     same way, kills the old leader's lock connection (KILL CONNECTION:
//     the nodes share the user, and a user may end its own connections),
//     then takes the lock.
//
// The new leader's binlog connection, registering the same server_id,
// makes the server drop the old leader's. The leader renews the row every
// heartbeat through its lock connection and loses the lease when a
// renewal, a Check or a state write finds another epoch or fails.
func (s *Source) Elect(ctx context.Context, c runtime.Cluster, log *slog.Logger) (runtime.Lease, error) {
	db, err := s.openDB(ctx)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, s.redact(s.connectError(err))
	}
	l, err := s.elect(ctx, db, conn, c, log)
	if err != nil {
		conn.Close()
		db.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, s.redact(err)
	}
	return l, nil
}

func (s *Source) elect(ctx context.Context, db *sql.DB, conn *sql.Conn, c runtime.Cluster, log *slog.Logger) (*mysqlLease, error) {
	tbl, name := s.leaseTable(), s.leaseName()
	if _, err := conn.ExecContext(ctx, leaseDDL(s.tables[0].db)); err != nil {
		return nil, fmt.Errorf("mysql-cdc: creating the lease table %s (the user needs CREATE on database %s): %w", tbl, quoteIdent(s.tables[0].db), err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT IGNORE INTO `+tbl+` (name, state) VALUES (?, '{}')`, name); err != nil {
		return nil, fmt.Errorf("mysql-cdc: lease table %s: %w", tbl, err)
	}
	fail := func(err error) error { return fmt.Errorf("mysql-cdc: lease %q in %s: %w", name, tbl, err) }
	tick := time.NewTicker(c.Heartbeat())
	defer tick.Stop()
	var told string
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got); err != nil {
			return nil, fail(err)
		}
		var holder string
		var epoch uint64
		var stale bool
		var lockID sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT holder, epoch, heartbeat_at < NOW(6) - INTERVAL ? MICROSECOND, lock_id FROM `+tbl+` WHERE name = ?`,
			c.FailureTimeoutMs*1000, name).Scan(&holder, &epoch, &stale, &lockID); err != nil {
			return nil, fail(err)
		}
		switch {
		case got.Valid && got.Int64 == 1:
			// Nobody holds the lock: the last leader is gone.
			res, err := conn.ExecContext(ctx, `UPDATE `+tbl+` SET holder = ?, epoch = epoch + 1, heartbeat_at = NOW(6), lock_id = CONNECTION_ID()
				WHERE name = ? AND epoch = ?`, c.Node, name, epoch)
			if err != nil {
				return nil, fail(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				// Another node bumped it first: let it lead.
				if _, err := conn.ExecContext(ctx, `SELECT RELEASE_LOCK(?)`, name); err != nil {
					return nil, fail(err)
				}
				break
			}
			if holder != "" && holder != c.Node {
				log.Warn("taking the pipeline over", "from", holder, "epoch", epoch+1, "why", "its lock connection ended")
			}
			return s.leadMySQL(db, conn, c, epoch+1), nil
		case stale:
			// The leader holds the lock but has not renewed it in time.
			res, err := conn.ExecContext(ctx, `UPDATE `+tbl+` SET holder = ?, epoch = epoch + 1, heartbeat_at = NOW(6), lock_id = NULL
				WHERE name = ? AND epoch = ? AND heartbeat_at < NOW(6) - INTERVAL ? MICROSECOND`, c.Node, name, epoch, c.FailureTimeoutMs*1000)
			if err != nil {
				return nil, fail(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				break // renewed meanwhile, or another standby won
			}
			mine := epoch + 1
			log.Warn("taking the pipeline over", "from", holder, "epoch", mine,
				"why", fmt.Sprintf("its lease was not renewed for %v", c.FailureTimeout()))
			if lockID.Valid {
				_, err := conn.ExecContext(ctx, `KILL CONNECTION `+strconv.FormatInt(lockID.Int64, 10))
				var me *mysql.MySQLError
				if err != nil && !(errors.As(err, &me) && me.Number == 1094) { // 1094: no such thread (gone already)
					return nil, fail(fmt.Errorf("ending the lock connection of %s: %w", holder, err))
				}
			}
			if err := awaitNamedLock(ctx, conn, name, c); err != nil {
				return nil, fail(err)
			}
			res, err = conn.ExecContext(ctx, `UPDATE `+tbl+` SET lock_id = CONNECTION_ID(), heartbeat_at = NOW(6) WHERE name = ? AND epoch = ?`, name, mine)
			if err != nil {
				return nil, fail(err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return s.leadMySQL(db, conn, c, mine), nil
			}
			if _, err := conn.ExecContext(ctx, `SELECT RELEASE_LOCK(?)`, name); err != nil {
				return nil, fail(err)
			}
		default:
			if t := fmt.Sprintf("%s@%d", holder, epoch); t != told {
				told = t
				log.Info("standing by", "leader", holder, "epoch", epoch)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// awaitNamedLock waits (up to the failure timeout) for the lock of a
// connection that was just killed to be free, and takes it.
func awaitNamedLock(ctx context.Context, conn *sql.Conn, name string, c runtime.Cluster) error {
	deadline := time.Now().Add(c.FailureTimeout())
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got); err != nil {
			return err
		}
		if got.Valid && got.Int64 == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the old leader's lock connection still holds the lock %v after it was killed", c.FailureTimeout())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// leadMySQL starts renewing the lease at epoch.
func (s *Source) leadMySQL(db *sql.DB, conn *sql.Conn, c runtime.Cluster, epoch uint64) *mysqlLease {
	l := &mysqlLease{name: s.leaseName(), table: s.leaseTable(), epoch: epoch, db: db, conn: conn,
		done: make(chan struct{}), bound: c.FailureTimeout() / 2, redact: s.redact}
	beat, stop := context.WithCancel(context.Background())
	l.stopBeat = stop
	l.beatDone = make(chan struct{})
	go l.renew(beat, c.Heartbeat())
	return l
}

// mysqlLease is a node's lease of one server_id, over its lock connection.
type mysqlLease struct {
	name, table string
	epoch       uint64
	bound       time.Duration // how long a query on the lock connection may take
	redact      func(error) error

	mu   sync.Mutex // the lock connection; nil once closed
	db   *sql.DB
	conn *sql.Conn

	once sync.Once
	done chan struct{}
	err  error // set before done is closed

	stopBeat context.CancelFunc
	beatDone chan struct{}
}

var _ runtime.Lease = (*mysqlLease)(nil)

func (l *mysqlLease) Epoch() uint64         { return l.epoch }
func (l *mysqlLease) Done() <-chan struct{} { return l.done }

func (l *mysqlLease) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

// renew renews the lease every interval until stopped or lost.
func (l *mysqlLease) renew(ctx context.Context, every time.Duration) {
	defer close(l.beatDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-t.C:
		}
		err := l.exec(ctx, func(ctx context.Context, c *sql.Conn) error {
			res, err := c.ExecContext(ctx, `UPDATE `+l.table+` SET heartbeat_at = NOW(6) WHERE name = ? AND epoch = ?`, l.name, l.epoch)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return l.fenced()
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			return
		}
	}
}

// fenced is the error of a lease whose row has another epoch now.
func (l *mysqlLease) fenced() error {
	return fmt.Errorf("%w (mysql-cdc lease %q: the epoch moved past %d)", runtime.ErrFenced, l.name, l.epoch)
}

// exec runs f on the lock connection, within l.bound; an error loses
// the lease (a failed connection may have lost the lock with it), and so
// does a query that does not answer within l.bound.
func (l *mysqlLease) exec(ctx context.Context, f func(context.Context, *sql.Conn) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		if err := l.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w (mysql-cdc lease %q was released)", runtime.ErrFenced, l.name)
	}
	qctx, cancel := context.WithTimeout(ctx, l.bound)
	err := f(qctx, l.conn)
	cancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !errors.Is(err, runtime.ErrFenced) {
		return err // the caller gave up; the lease may hold
	}
	if qctx.Err() != nil && !errors.Is(err, runtime.ErrFenced) {
		err = fmt.Errorf("the lease's connection did not answer within %v: %w", l.bound, err)
	}
	if !errors.Is(err, runtime.ErrFenced) {
		err = fmt.Errorf("%w (mysql-cdc lease %q: the lease's connection failed: %v)", runtime.ErrFenced, l.name, l.redact(err))
	}
	l.loseLocked(err)
	return err
}

// loseLocked ends the lease with err; l.mu is held.
func (l *mysqlLease) loseLocked(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
	l.closeLocked()
}

func (l *mysqlLease) closeLocked() {
	if l.conn != nil {
		l.conn.Close()
		l.db.Close()
		l.conn = nil
	}
}

// Check implements runtime.Lease: one round trip on the lock connection.
func (l *mysqlLease) Check(ctx context.Context) error {
	return l.exec(ctx, func(ctx context.Context, c *sql.Conn) error {
		var epoch uint64
		if err := c.QueryRowContext(ctx, `SELECT epoch FROM `+l.table+` WHERE name = ?`, l.name).Scan(&epoch); err != nil {
			return err
		}
		if epoch != l.epoch {
			return l.fenced()
		}
		return nil
	})
}

// Release implements runtime.Lease: it releases the lock and closes the
// connection, so a standby takes over at its next look.
func (l *mysqlLease) Release() error {
	l.stopBeat()
	<-l.beatDone
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = l.conn.ExecContext(ctx, `SELECT RELEASE_ALL_LOCKS()`)
		cancel()
		l.closeLocked()
	}
	l.once.Do(func() { close(l.done) })
	return l.redact(err)
}

// Blob implements runtime.Lease: key's value in the row's state.
func (l *mysqlLease) Blob(key string) runtime.StateBlob { return mysqlLeaseBlob{l, key} }

type mysqlLeaseBlob struct {
	l   *mysqlLease
	key string
}

func (b mysqlLeaseBlob) Where() string {
	return fmt.Sprintf("%s row %q, state key %q", b.l.table, b.l.name, b.key)
}

// path is the JSON path of the blob's key in the row's state.
func (b mysqlLeaseBlob) path() string { return `$."` + jsonPathKey(b.key) + `"` }

func (b mysqlLeaseBlob) Get() ([]byte, bool, error) {
	var v sql.NullString
	err := b.l.exec(context.Background(), func(ctx context.Context, c *sql.Conn) error {
		return c.QueryRowContext(ctx, `SELECT JSON_UNQUOTE(JSON_EXTRACT(state, ?)) FROM `+b.l.table+` WHERE name = ?`, b.path(), b.l.name).Scan(&v)
	})
	if err != nil {
		return nil, false, err
	}
	if !v.Valid {
		return nil, false, nil
	}
	return []byte(v.String), true, nil
}

func (b mysqlLeaseBlob) Put(v []byte) error {
	return b.l.exec(context.Background(), func(ctx context.Context, c *sql.Conn) error {
		res, err := c.ExecContext(ctx, `UPDATE `+b.l.table+` SET state = JSON_SET(state, ?, ?) WHERE name = ? AND epoch = ?`,
			b.path(), string(v), b.l.name, b.l.epoch)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// 0 rows also when the value did not change: tell the two apart.
			var epoch uint64
			if err := c.QueryRowContext(ctx, `SELECT epoch FROM `+b.l.table+` WHERE name = ?`, b.l.name).Scan(&epoch); err != nil {
				return err
			}
			if epoch != b.l.epoch {
				return b.l.fenced()
			}
		}
		return nil
	})
}

// jsonPathKey escapes a key for a double-quoted JSON path member.
func jsonPathKey(k string) string {
	out := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		if k[i] == '"' || k[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, k[i])
	}
	return string(out)
}
