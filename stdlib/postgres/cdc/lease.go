package cdc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/sqllease"
)

// LeaseTable is the table, in the source database (the first schema of
// the user's search_path), that holds one lease row per singleton
// pipeline: the slot it streams from, the node that holds it, the epoch,
// the holder's last renewal, its lock session and the state every node
// shares (the snapshot marker, the broker producer ids). The source
// creates it when it is missing.
const LeaseTable = "rivven_connect_leases"

// leaseDDL creates LeaseTable; nodes that start together may race on it
// (the loser's error is a duplicate, which Elect ignores).
const leaseDDL = `CREATE TABLE IF NOT EXISTS ` + LeaseTable + ` (
	name text PRIMARY KEY,
	holder text NOT NULL DEFAULT '',
	epoch bigint NOT NULL DEFAULT 0,
	heartbeat_at timestamptz NOT NULL DEFAULT now(),
	lock_pid integer,
	state jsonb NOT NULL DEFAULT '{}'::jsonb)`

// Elect implements runtime.Elector: one node of the cluster leads the
// slot. Leadership is a row of LeaseTable (name = the slot) and a session
// advisory lock held on a connection of its own:
//
//   - a standby that gets the lock (the leader's session ended: it died,
//     or its connection was terminated) takes the row over at once,
//     bumping the epoch with a conditional UPDATE;
//   - a standby that sees the leader's renewal older than the failure
//     timeout (the leader hangs, holding the lock) bumps the epoch the
//     same way, terminates the old leader's lock session, then takes the
//     lock;
//
// and either terminates the slot's active replication connection (the old
// leader's), so that it can stream from the slot. The leader renews the
// row every heartbeat through its lock session, and loses the lease when
// a renewal, a Check or a state write finds another epoch or fails.
func (s *Source) Elect(ctx context.Context, c runtime.Cluster, log *slog.Logger) (runtime.Lease, error) {
	conn, err := pgx.ConnectConfig(ctx, s.sqlCfg)
	if err != nil {
		return nil, s.redact(s.connectError(err))
	}
	l, err := s.elect(ctx, conn, c, log)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, s.redact(err)
	}
	return l, nil
}

func (s *Source) elect(ctx context.Context, conn *pgx.Conn, c runtime.Cluster, log *slog.Logger) (*sqllease.Lease, error) {
	if err := ensureLeaseTable(ctx, conn); err != nil {
		return nil, err
	}
	name := s.cfg.SlotName
	if _, err := conn.Exec(ctx, `INSERT INTO `+LeaseTable+` (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return nil, fmt.Errorf("lease table %s: %w", LeaseTable, err)
	}
	lockKey := "rivven-connect lease " + name
	tick := time.NewTicker(c.Heartbeat())
	defer tick.Stop()
	var told string
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, lockKey).Scan(&got); err != nil {
			return nil, fmt.Errorf("lease of slot %q: %w", name, err)
		}
		var holder string
		var epoch uint64
		var stale bool
		var lockPID *int32
		if err := conn.QueryRow(ctx, `SELECT holder, epoch, heartbeat_at < now() - make_interval(secs => $2::float8 / 1000), lock_pid
			FROM `+LeaseTable+` WHERE name = $1`, name, c.FailureTimeoutMs).Scan(&holder, &epoch, &stale, &lockPID); err != nil {
			return nil, fmt.Errorf("lease of slot %q: %w", name, err)
		}
		switch {
		case got:
			// Nobody holds the lock: the last leader is gone.
			var mine uint64
			err := conn.QueryRow(ctx, `UPDATE `+LeaseTable+` SET holder = $2, epoch = epoch + 1, heartbeat_at = now(), lock_pid = pg_backend_pid()
				WHERE name = $1 AND epoch = $3 RETURNING epoch`, name, c.Node, epoch).Scan(&mine)
			if errors.Is(err, pgx.ErrNoRows) {
				// Another node bumped it first: let it lead.
				if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, lockKey); err != nil {
					return nil, fmt.Errorf("lease of slot %q: %w", name, err)
				}
				break
			}
			if err != nil {
				return nil, fmt.Errorf("lease of slot %q: %w", name, err)
			}
			if holder != "" && holder != c.Node {
				log.Warn("taking the pipeline over", "from", holder, "epoch", mine, "why", "its lock session ended")
			}
			return s.lead(ctx, conn, c, mine)
		case stale:
			// The leader holds the lock but has not renewed it in time.
			var mine uint64
			err := conn.QueryRow(ctx, `UPDATE `+LeaseTable+` SET holder = $2, epoch = epoch + 1, heartbeat_at = now(), lock_pid = NULL
				WHERE name = $1 AND epoch = $3 AND heartbeat_at < now() - make_interval(secs => $4::float8 / 1000) RETURNING epoch`,
				name, c.Node, epoch, c.FailureTimeoutMs).Scan(&mine)
			if errors.Is(err, pgx.ErrNoRows) {
				break // renewed meanwhile, or another standby won
			}
			if err != nil {
				return nil, fmt.Errorf("lease of slot %q: %w", name, err)
			}
			log.Warn("taking the pipeline over", "from", holder, "epoch", mine,
				"why", fmt.Sprintf("its lease was not renewed for %v", c.FailureTimeout()))
			if lockPID != nil {
				if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend($1)`, *lockPID); err != nil {
					return nil, fmt.Errorf("lease of slot %q: ending the lock session of %s: %w", name, holder, err)
				}
			}
			if err := s.awaitLock(ctx, conn, lockKey, c); err != nil {
				return nil, err
			}
			tag, err := conn.Exec(ctx, `UPDATE `+LeaseTable+` SET lock_pid = pg_backend_pid(), heartbeat_at = now() WHERE name = $1 AND epoch = $2`, name, mine)
			if err != nil {
				return nil, fmt.Errorf("lease of slot %q: %w", name, err)
			}
			if tag.RowsAffected() == 1 {
				return s.lead(ctx, conn, c, mine)
			}
			if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, lockKey); err != nil {
				return nil, fmt.Errorf("lease of slot %q: %w", name, err)
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

// awaitLock waits (up to the failure timeout) for the lock of a session
// that was just terminated to be free, and takes it.
func (s *Source) awaitLock(ctx context.Context, conn *pgx.Conn, key string, c runtime.Cluster) error {
	deadline := time.Now().Add(c.FailureTimeout())
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, key).Scan(&got); err != nil {
			return fmt.Errorf("lease of slot %q: %w", s.cfg.SlotName, err)
		}
		if got {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lease of slot %q: the old leader's lock session still holds the lock %v after it was terminated", s.cfg.SlotName, c.FailureTimeout())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lead ends the old leader's replication connection and starts renewing
// the lease at epoch.
func (s *Source) lead(ctx context.Context, conn *pgx.Conn, c runtime.Cluster, epoch uint64) (*sqllease.Lease, error) {
	deadline := time.Now().Add(c.FailureTimeout() + 5*time.Second)
	for {
		var active bool
		err := conn.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(active_pid)), false) FROM pg_replication_slots
			WHERE slot_name = $1 AND active_pid IS NOT NULL`, s.cfg.SlotName).Scan(&active)
		if err != nil {
			return nil, fmt.Errorf("lease of slot %q: ending the old leader's replication connection: %w", s.cfg.SlotName, err)
		}
		if !active {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lease of slot %q: the slot stays active after its replication connection was terminated", s.cfg.SlotName)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	name := s.cfg.SlotName
	where := func(key string) string { return fmt.Sprintf("%s row %q, state key %q", LeaseTable, name, key) }
	return sqllease.Hold(&pgSession{name: name, conn: conn}, epoch, c, fmt.Sprintf("slot %q", name), where, s.redact), nil
}

// UseLease implements runtime.LeaseUser: the source of a singleton run
// checks the lease before it reconnects its replication connection, so a
// leader whose connection a new leader ended cannot take the slot back.
func (s *Source) UseLease(l runtime.Lease) { s.lease = l }

// ensureLeaseTable creates LeaseTable unless it exists.
func ensureLeaseTable(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, leaseDDL)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07") {
		return nil // created by another node at the same moment
	}
	if err != nil {
		return fmt.Errorf("creating the lease table %s in the source database (the user needs CREATE on the first schema of its search_path): %w", LeaseTable, err)
	}
	return nil
}

// pgSession is the lease's lock session (sqllease.Session).
type pgSession struct {
	name string // the slot: the lease row's name
	conn *pgx.Conn
}

func (p *pgSession) Renew(ctx context.Context, epoch uint64) error {
	tag, err := p.conn.Exec(ctx, `UPDATE `+LeaseTable+` SET heartbeat_at = now() WHERE name = $1 AND epoch = $2`, p.name, epoch)
	if err == nil && tag.RowsAffected() == 0 {
		return sqllease.ErrMoved
	}
	return err
}

func (p *pgSession) Epoch(ctx context.Context) (uint64, error) {
	var epoch uint64
	err := p.conn.QueryRow(ctx, `SELECT epoch FROM `+LeaseTable+` WHERE name = $1`, p.name).Scan(&epoch)
	return epoch, err
}

func (p *pgSession) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var v *string
	if err := p.conn.QueryRow(ctx, `SELECT state->>$2 FROM `+LeaseTable+` WHERE name = $1`, p.name, key).Scan(&v); err != nil {
		return nil, false, err
	}
	if v == nil {
		return nil, false, nil
	}
	return []byte(*v), true, nil
}

func (p *pgSession) Put(ctx context.Context, key string, v []byte, epoch uint64) error {
	tag, err := p.conn.Exec(ctx, `UPDATE `+LeaseTable+` SET state = jsonb_set(state, ARRAY[$2::text], to_jsonb($3::text))
		WHERE name = $1 AND epoch = $4`, p.name, key, string(v), epoch)
	if err == nil && tag.RowsAffected() == 0 {
		return sqllease.ErrMoved
	}
	return err
}

func (p *pgSession) Unlock(ctx context.Context) error {
	_, err := p.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	return err
}

func (p *pgSession) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	p.conn.Close(ctx)
	cancel()
}
