package cdc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/sqllease"
)

// leaseCluster is a short-fused cluster for the lease tests.
func leaseCluster(node string) runtime.Cluster {
	return runtime.Cluster{Enabled: true, Node: node, HeartbeatMs: 100, FailureTimeoutMs: 1000}
}

// elected is the result of an Elect run in the background.
type elected struct {
	l   runtime.Lease
	err error
}

// elect starts Elect for node on a new source of cfg; the lease arrives
// on the channel.
func elect(t *testing.T, ctx context.Context, cfg Config, node string) <-chan elected {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan elected, 1)
	go func() {
		l, err := s.Elect(ctx, leaseCluster(node), slog.New(slog.DiscardHandler))
		ch <- elected{l, err}
	}()
	return ch
}

// lead waits for the lease of ch.
func lead(t *testing.T, ch <-chan elected, within time.Duration) runtime.Lease {
	t.Helper()
	select {
	case e := <-ch:
		if e.err != nil {
			t.Fatalf("Elect: %v", e.err)
		}
		t.Cleanup(func() { _ = e.l.Release() })
		return e.l
	case <-time.After(within):
		t.Fatalf("no lease within %v", within)
		return nil
	}
}

// standing asserts that ch has no lease yet.
func standing(t *testing.T, ch <-chan elected) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("a second node got the lease while the first holds it: %+v", e)
	case <-time.After(300 * time.Millisecond): // three of the standby's looks
	}
}

func leaseRow(t *testing.T, db, slot string) (holder string, epoch uint64) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), cluster.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.QueryRow(context.Background(), `SELECT holder, epoch FROM `+LeaseTable+` WHERE name = $1`, slot).Scan(&holder, &epoch); err != nil {
		t.Fatal(err)
	}
	return holder, epoch
}

// One node leads; a release hands over at once; the shared state follows
// the lease; the old holder can neither write it nor pass a Check.
func TestLeaseReleaseHandsOver(t *testing.T) {
	db := cluster.NewDatabase(t)
	cfg := config(db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := lead(t, elect(t, ctx, cfg, "node-a"), 10*time.Second)
	if err := a.Check(ctx); err != nil {
		t.Fatalf("Check of the leader: %v", err)
	}
	if err := a.Blob("source").Put([]byte(`{"snapshot":"pending"}`)); err != nil {
		t.Fatal(err)
	}
	bch := elect(t, ctx, cfg, "node-b")
	standing(t, bch)
	if err := a.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	b := lead(t, bch, 5*time.Second)
	if b.Epoch() != a.Epoch()+1 {
		t.Fatalf("epochs %d then %d, want consecutive", a.Epoch(), b.Epoch())
	}
	if h, e := leaseRow(t, db, cfg.SlotName); h != "node-b" || e != b.Epoch() {
		t.Fatalf("lease row %s@%d, want node-b@%d", h, e, b.Epoch())
	}
	v, ok, err := b.Blob("source").Get()
	if err != nil || !ok || string(v) != `{"snapshot":"pending"}` {
		t.Fatalf("the new leader reads %q %v %v, want the old leader's state", v, ok, err)
	}
	if err := a.Blob("source").Put([]byte(`{}`)); !errors.Is(err, runtime.ErrFenced) {
		t.Fatalf("a released lease wrote state: %v", err)
	}
	if err := a.Check(ctx); !errors.Is(err, runtime.ErrFenced) {
		t.Fatalf("Check of a released lease: %v, want ErrFenced", err)
	}
}

// A leader whose lock session is terminated loses the lease at its next
// renewal, and a standby takes over without waiting for the failure
// timeout.
func TestLeaseLockSessionTerminated(t *testing.T) {
	db := cluster.NewDatabase(t)
	cfg := config(db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := lead(t, elect(t, ctx, cfg, "node-a"), 10*time.Second)
	bch := elect(t, ctx, cfg, "node-b")
	standing(t, bch)
	start := time.Now()
	cluster.Exec(t, db, `SELECT pg_terminate_backend(lock_pid) FROM `+LeaseTable)
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the leader did not notice that its lock session ended")
	}
	if !errors.Is(a.Err(), runtime.ErrFenced) {
		t.Fatalf("Err %v, want ErrFenced", a.Err())
	}
	b := lead(t, bch, 5*time.Second)
	if took := time.Since(start); took > time.Second {
		t.Errorf("took over in %v, want within the heartbeat (the failure timeout is 1s)", took)
	}
	if b.Epoch() <= a.Epoch() {
		t.Fatalf("new epoch %d after %d", b.Epoch(), a.Epoch())
	}
}

// A leader that hangs (stops renewing, holding its lock) is taken over
// after the failure timeout: its lock session is ended, and when it
// resumes, its Check and its state writes fail with ErrFenced.
func TestLeaseHungLeaderIsFenced(t *testing.T) {
	db := cluster.NewDatabase(t)
	cfg := config(db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := lead(t, elect(t, ctx, cfg, "node-a"), 10*time.Second)
	a.(*sqllease.Lease).StopRenewing() // the process is paused: no renewals, the session stays
	bch := elect(t, ctx, cfg, "node-b")
	start := time.Now()
	b := lead(t, bch, 10*time.Second)
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("took over after %v, before the failure timeout (1s)", took)
	}
	if b.Epoch() != a.Epoch()+1 {
		t.Fatalf("epochs %d then %d", a.Epoch(), b.Epoch())
	}
	if err := a.Check(ctx); !errors.Is(err, runtime.ErrFenced) {
		t.Fatalf("the resumed leader's Check: %v, want ErrFenced", err)
	}
	if err := a.Blob("source").Put([]byte(`{}`)); !errors.Is(err, runtime.ErrFenced) {
		t.Fatalf("the resumed leader wrote state: %v", err)
	}
	if err := b.Check(ctx); err != nil {
		t.Fatalf("the new leader's Check: %v", err)
	}
}

// The slot's replication connection of the old leader is ended when a new
// one leads, so the new leader can stream from the slot.
func TestLeaseEndsOldReplicationConnection(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE items (id int PRIMARY KEY)`, `INSERT INTO items VALUES (1)`)
	cfg := config(db, "items")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := lead(t, elect(t, ctx, cfg, "node-a"), 10*time.Second)
	old := open(t, cfg)
	cluster.Exec(t, db, `INSERT INTO items VALUES (2)`)
	read(t, old, 2)                    // the snapshot's row, then the stream's: the slot is active
	a.(*sqllease.Lease).StopRenewing() // the process is paused: no renewals, the session stays
	_ = lead(t, elect(t, ctx, cfg, "node-b"), 10*time.Second)
	c, err := pgx.Connect(ctx, cluster.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var active bool
	if err := c.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, cfg.SlotName).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if active {
		t.Fatal("the old leader's replication connection still holds the slot")
	}
	fresh := open(t, cfg)
	cluster.Exec(t, db, `INSERT INTO items VALUES (3)`)
	recs := read(t, fresh, 1)
	if len(recs) == 0 {
		t.Fatal("the new leader reads nothing from the slot")
	}
}

// openLeased opens a source of cfg as the driver of a singleton run
// does: its state in the lease, and the lease checked before reconnects.
func openLeased(t *testing.T, cfg Config, l runtime.Lease) *Source {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.UseState(l.Blob("source"))
	s.UseLease(l)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Open(ctx); err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// hang stops l's renewals (a paused leader that keeps its session).
func hang(l runtime.Lease) {
	l.(*sqllease.Lease).StopRenewing() // the process is paused: no renewals, the session stays
}

// The source's state lives in the lease: a standby that takes over in
// the middle of the snapshot reads the tables again, and one that takes
// over mid-stream resumes from the slot without a "possible data loss"
// error, though it never led before.
func TestLeaseStateFollowsTheLeader(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE items (id int PRIMARY KEY)`, `INSERT INTO items SELECT generate_series(1, 3)`)
	cfg := config(db, "items")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// node-a reads one snapshot row and hangs before acknowledging it.
	a := lead(t, elect(t, ctx, cfg, "node-a"), 10*time.Second)
	sa := openLeased(t, cfg, a)
	read(t, sa, 1)
	hang(a)
	b := lead(t, elect(t, ctx, cfg, "node-b"), 10*time.Second)
	sb := openLeased(t, cfg, b)
	snap := read(t, sb, 3)
	for i, r := range snap {
		if r.Op != runtime.OpSnapshot {
			t.Fatalf("record %d after the take-over: %s, want the snapshot again", i, js(r))
		}
	}
	ackAll(t, sb, snap)
	cluster.Exec(t, db, `INSERT INTO items VALUES (4)`)
	got := read(t, sb, 1)
	ackAll(t, sb, got)
	// Let node-b report its flush position (recorded in the lease first).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var flushed *string
		c := conn(t, db)
		err := c.QueryRow(ctx, `SELECT state->>'source' FROM `+LeaseTable+` WHERE name = $1`, cfg.SlotName).Scan(&flushed)
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if flushed != nil && strings.Contains(*flushed, `"flushed"`) && strings.Contains(*flushed, `"done"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease's state never recorded a flush: %v", flushed)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// node-c never led; it takes over mid-stream from the shared state.
	hang(b)
	c := lead(t, elect(t, ctx, cfg, "node-c"), 10*time.Second)
	sc := openLeased(t, cfg, c)
	cluster.Exec(t, db, `INSERT INTO items VALUES (5)`)
	for {
		r := read(t, sc, 1)[0]
		if r.Op == runtime.OpSnapshot {
			t.Fatalf("node-c took a new snapshot: %s", js(r))
		}
		if r.After[0].AsInt() == 5 {
			break
		}
	}
}
