package pgtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DropTimeout bounds how long a test database's cleanup waits for the
// sessions and walsenders on it to exit.
const DropTimeout = 30 * time.Second

// NewDatabase creates a fresh database for one test and returns its name:
// lower-case letters, digits and _, at most 63 bytes, and unique in the
// cluster for the life of the process (a sequence number leads it, so a
// test run again under -count gets a new one). In t.Cleanup the database
// is dropped with DropDatabase, which also drops every replication slot
// on it; a failure there fails the test.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", c.seq.Add(1), strings.ToLower(sanitize(t.Name())))
	if len(name) > 63 {
		name = name[:63]
	}
	c.Exec(t, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DropTimeout)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: cleanup: %v", err)
		}
	})
	return name
}

// SlotName returns the replication slot name a test on database db uses.
// Slot names are cluster-wide while databases are not, so a fixed name
// ("s1") shared by tests collides as soon as one cleanup leaves its slot
// behind; this one is unique in the cluster whenever db came from
// NewDatabase. It is a valid slot name (lower-case letters, digits and _,
// at most 63 bytes) for any db.
func SlotName(db string) string {
	name := "s_" + strings.ToLower(sanitize(db))
	if len(name) > 63 {
		name = name[:63] // the unique sequence number leads db: kept
	}
	return name
}

func sanitize(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// DropDatabase drops database db and every replication slot on it,
// waiting until ctx ends for the sessions using it to go away. It refuses
// new connections to db first (so a source's reconnect loop cannot take a
// slot back), terminates every session on db, walsenders included, and
// polls pg_replication_slots until none of db's slots is active: DROP
// DATABASE refuses (SQLSTATE 55006) while a logical slot of the database
// is held by a walsender, even WITH (FORCE), and pg_terminate_backend
// only signals. It then drops the slots and the database (WITH (FORCE) on
// PostgreSQL 13 and later). When ctx ends first, the error names each slot
// still active and the pid holding it, or the last error of the drop. A
// database that does not exist is not an error.
func (c *Cluster) DropDatabase(ctx context.Context, db string) error {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("drop database %q: connect: %w", db, err)
	}
	defer conn.Close(context.Background())
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return fmt.Errorf("drop database %q: server version: %w", db, err)
	}
	ident := pgx.Identifier{db}.Sanitize()
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS false"); err != nil {
		if code(err) == "3D000" { // invalid_catalog_name: already gone
			return nil
		}
		return fmt.Errorf("drop database %q: refuse new connections: %w", db, err)
	}
	drop := "DROP DATABASE IF EXISTS " + ident
	if version >= 130000 {
		drop += " WITH (FORCE)"
	}
	var last error // the last reason to wait
	for {
		err := dropOnce(ctx, conn, db, drop)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if last == nil {
				last = err
			}
			return fmt.Errorf("drop database %q: gave up waiting for its sessions to exit (%v): %w", db, ctx.Err(), last)
		}
		var held heldSlots
		if !errors.As(err, &held) && code(err) != "55006" {
			return fmt.Errorf("drop database %q: %w", db, err)
		}
		last = err
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// heldSlots lists the slots of a database that a process still holds.
type heldSlots []string

func (h heldSlots) Error() string {
	return strings.Join(h, ", ") + " still active after pg_terminate_backend (its walsender has not exited)"
}

// dropOnce makes one attempt: terminate every session on db, then, if no
// slot of db is active any more, drop its slots and db. It returns
// heldSlots while a slot is active and the server's error (55006: a
// session or slot appeared in between) when a drop fails.
func dropOnce(ctx context.Context, conn *pgx.Conn, db, drop string) error {
	if _, err := conn.Exec(ctx, `
SELECT pg_catalog.pg_terminate_backend(pid) FROM (
	SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()
	UNION SELECT active_pid FROM pg_catalog.pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL
) AS s`, db); err != nil {
		return fmt.Errorf("terminate its sessions: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT slot_name::text, active_pid FROM pg_catalog.pg_replication_slots WHERE database = $1 AND active ORDER BY slot_name`, db)
	if err != nil {
		return fmt.Errorf("list its replication slots: %w", err)
	}
	var held heldSlots
	for rows.Next() {
		var name string
		var pid *int32
		if err := rows.Scan(&name, &pid); err != nil {
			rows.Close()
			return fmt.Errorf("list its replication slots: %w", err)
		}
		if pid != nil {
			held = append(held, fmt.Sprintf("replication slot %q (held by pid %d)", name, *pid))
		} else {
			held = append(held, fmt.Sprintf("replication slot %q", name))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list its replication slots: %w", err)
	}
	if len(held) > 0 {
		return held
	}
	if _, err := conn.Exec(ctx, `SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE database = $1`, db); err != nil {
		return fmt.Errorf("drop its replication slots: %w", err)
	}
	if _, err := conn.Exec(ctx, drop); err != nil {
		return err
	}
	return nil
}

// code is err's SQLSTATE, or "".
func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
