package cdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/sqllease"
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

func (s *Source) elect(ctx context.Context, db *sql.DB, conn *sql.Conn, c runtime.Cluster, log *slog.Logger) (*sqllease.Lease, error) {
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

var (
	_ runtime.Elector   = (*Source)(nil)
	_ runtime.LeaseUser = (*Source)(nil)
)

// UseLease implements runtime.LeaseUser: the source of a singleton run
// checks the lease before it reconnects its binlog connection, so a
// leader whose stream a new leader's ended cannot take it back.
func (s *Source) UseLease(l runtime.Lease) { s.lease = l }

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
func (s *Source) leadMySQL(db *sql.DB, conn *sql.Conn, c runtime.Cluster, epoch uint64) *sqllease.Lease {
	name, table := s.leaseName(), s.leaseTable()
	where := func(key string) string { return fmt.Sprintf("%s row %q, state key %q", table, name, key) }
	return sqllease.Hold(&mysqlSession{name: name, table: table, db: db, conn: conn}, epoch, c,
		fmt.Sprintf("mysql-cdc lease %q", name), where, s.redact)
}

// mysqlSession is the lease's lock connection (sqllease.Session).
type mysqlSession struct {
	name, table string
	db          *sql.DB
	conn        *sql.Conn
}

func (m *mysqlSession) Renew(ctx context.Context, epoch uint64) error {
	res, err := m.conn.ExecContext(ctx, `UPDATE `+m.table+` SET heartbeat_at = NOW(6) WHERE name = ? AND epoch = ?`, m.name, epoch)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sqllease.ErrMoved
	}
	return nil
}

func (m *mysqlSession) Epoch(ctx context.Context) (uint64, error) {
	var epoch uint64
	err := m.conn.QueryRowContext(ctx, `SELECT epoch FROM `+m.table+` WHERE name = ?`, m.name).Scan(&epoch)
	return epoch, err
}

// path is the JSON path of key in the row's state.
func path(key string) string { return `$."` + jsonPathKey(key) + `"` }

func (m *mysqlSession) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var v sql.NullString
	if err := m.conn.QueryRowContext(ctx, `SELECT JSON_UNQUOTE(JSON_EXTRACT(state, ?)) FROM `+m.table+` WHERE name = ?`, path(key), m.name).Scan(&v); err != nil {
		return nil, false, err
	}
	if !v.Valid {
		return nil, false, nil
	}
	return []byte(v.String), true, nil
}

func (m *mysqlSession) Put(ctx context.Context, key string, v []byte, epoch uint64) error {
	res, err := m.conn.ExecContext(ctx, `UPDATE `+m.table+` SET state = JSON_SET(state, ?, ?) WHERE name = ? AND epoch = ?`,
		path(key), string(v), m.name, epoch)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// 0 rows also when the value did not change: tell the two apart.
		if cur, err := m.Epoch(ctx); err != nil {
			return err
		} else if cur != epoch {
			return sqllease.ErrMoved
		}
	}
	return nil
}

func (m *mysqlSession) Unlock(ctx context.Context) error {
	_, err := m.conn.ExecContext(ctx, `SELECT RELEASE_ALL_LOCKS()`)
	return err
}

func (m *mysqlSession) Close() {
	m.conn.Close()
	m.db.Close()
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
