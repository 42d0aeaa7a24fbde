package pgtest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestCluster(t *testing.T) {
	c, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	db := "postgres"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var wal string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&wal); err != nil || wal != "logical" {
		t.Fatalf("wal_level = %q, %v", wal, err)
	}
	var listen string
	if err := conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen); err != nil || listen != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q, %v", listen, err)
	}
	dir := c.Dir
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists", dir)
	}
}

func TestMissingBinaries(t *testing.T) {
	t.Setenv("RIVVEN_PG_BINDIR", t.TempDir())
	if _, err := Start(Options{}); err == nil {
		t.Fatal("Start succeeded without binaries")
	}
}

// holdSlot creates a logical slot on db and streams from it over a
// replication connection that never reads, so a walsender holds the slot
// until it is terminated. It returns the walsender's pid.
func holdSlot(t *testing.T, c *Cluster, db, slot string) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	repl, err := pgconn.Connect(ctx, c.DSN(db)+"&replication=database")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repl.Close(context.Background()) })
	if _, err := pglogrepl.CreateReplicationSlot(ctx, repl, slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Exec(t, db, `CREATE PUBLICATION p FOR ALL TABLES`)
	if err := pglogrepl.StartReplication(ctx, repl, slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names 'p'"}}); err != nil {
		t.Fatal(err)
	}
	var pid *int32
	if err := queryRow(t, c, "postgres", `SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&pid); err != nil || pid == nil {
		t.Fatalf("slot %s: active_pid %v, %v; want a walsender holding it", slot, pid, err)
	}
	return *pid
}

func queryRow(t *testing.T, c *Cluster, db, sql string, args ...any) pgx.Row {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), c.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn.QueryRow(context.Background(), sql, args...)
}

// gone fails unless neither database db nor slot exists any more.
func gone(t *testing.T, c *Cluster, db, slot string) {
	t.Helper()
	var dbs, slots int
	if err := queryRow(t, c, "postgres", `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1), (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $2)`,
		db, slot).Scan(&dbs, &slots); err != nil {
		t.Fatal(err)
	}
	if dbs != 0 || slots != 0 {
		t.Fatalf("after the cleanup: %d databases %q, %d slots %q; want none", dbs, db, slots, slot)
	}
}

func TestDropDatabase(t *testing.T) {
	c := New(t, Options{})

	// The cleanup of NewDatabase waits for the walsender it terminates and
	// drops the slot it held, with an idle session open on the database.
	var db, slot string
	t.Run("cleanup", func(t *testing.T) {
		db = c.NewDatabase(t)
		slot = SlotName(db)
		holdSlot(t, c, db, slot)
		if err := queryRow(t, c, db, `SELECT 1`).Scan(new(int)); err != nil {
			t.Fatal(err)
		}
	})
	gone(t, c, db, slot)

	// A walsender that cannot exit (stopped): the bounded wait fails,
	// naming the slot and the pid holding it; once it may exit, the drop
	// succeeds.
	db = c.NewDatabase(t)
	slot = SlotName(db)
	pid := holdSlot(t, c, db, slot)
	if err := syscall.Kill(int(pid), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { _ = syscall.Kill(int(pid), syscall.SIGCONT) }
	defer cont()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := c.DropDatabase(ctx, db)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("replication slot %q (held by pid %d) still active", slot, pid)) ||
		!strings.Contains(err.Error(), db) {
		t.Fatalf("drop with a stopped walsender: %v; want an error naming the database, the slot and pid %d", err, pid)
	}
	cont()
	ctx, cancel = context.WithTimeout(context.Background(), DropTimeout)
	defer cancel()
	if err := c.DropDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	gone(t, c, db, slot)
	// Dropping it again (the NewDatabase cleanup) is not an error.
}

func TestSlotName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
	long := "t12_" + strings.Repeat("x", 59)
	for _, db := range []string{"t1_testfoo", long, "Mixed-Case.db"} {
		if s := SlotName(db); !valid.MatchString(s) {
			t.Errorf("SlotName(%q) = %q: not a valid slot name", db, s)
		}
	}
	if a, b := SlotName(long), SlotName("t13_"+strings.Repeat("x", 59)); a == b {
		t.Errorf("databases t12_… and t13_… share the slot %q", a)
	}
}

// TestNewRole creates a role twice under one test name (as -count does):
// the names differ, each logs in with its password, and both are dropped
// when their test ends.
func TestNewRole(t *testing.T) {
	c := New(t, Options{})
	var names []string
	for i := 0; i < 2; i++ {
		t.Run("again", func(t *testing.T) {
			name := c.NewRole(t, "it's-secret", "REPLICATION")
			conn, err := pgx.Connect(context.Background(), c.DSNFor(name, "it's-secret", "postgres"))
			if err != nil {
				t.Fatalf("log in as %s: %v", name, err)
			}
			var repl bool
			if err := conn.QueryRow(context.Background(), `SELECT rolreplication FROM pg_roles WHERE rolname = current_user`).Scan(&repl); err != nil || !repl {
				t.Fatalf("%s: rolreplication %v, %v", name, repl, err)
			}
			_ = conn.Close(context.Background())
			names = append(names, name)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("roles %q: want two different names", names)
	}
	var n int
	if err := queryRow(t, c, "postgres", `SELECT count(*) FROM pg_roles WHERE rolname = ANY($1)`, names).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d of the roles %q remain after their tests (%v)", n, names, err)
	}
}
