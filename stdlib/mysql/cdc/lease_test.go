package cdc

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/sqllease"
)

func leaseCluster(node string) runtime.Cluster {
	return runtime.Cluster{Enabled: true, Node: node, HeartbeatMs: 100, FailureTimeoutMs: 1000, Topic: "connect-status"}
}

func leaseSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// elect runs s.Elect in the background; the lease arrives on the channel.
func elect(t *testing.T, s *Source, node string) (<-chan runtime.Lease, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan runtime.Lease, 1)
	go func() {
		l, err := s.Elect(ctx, leaseCluster(node), slog.New(slog.DiscardHandler))
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("%s: Elect: %v", node, err)
			}
			close(ch)
			return
		}
		ch <- l
	}()
	t.Cleanup(cancel)
	return ch, cancel
}

func await(t *testing.T, ch <-chan runtime.Lease, what string) runtime.Lease {
	t.Helper()
	select {
	case l, ok := <-ch:
		if !ok {
			t.Fatalf("%s: Elect failed", what)
		}
		t.Cleanup(func() { _ = l.Release() })
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no lease", what)
	}
	return nil
}

func TestLeaseOneLeaderThenTakeOverWhenItsConnectionEnds(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	cfg := config(db, "t")
	a, b := leaseSource(t, cfg), leaseSource(t, cfg)
	la := await(t, mustElect(t, a, "a"), "a")
	if err := la.Blob("position").Put([]byte(`{"offset":3,"token":"x"}`)); err != nil {
		t.Fatal(err)
	}
	chb, _ := elect(t, b, "b")
	select {
	case <-chb:
		t.Fatal("b led while a holds the lease")
	case <-time.After(500 * time.Millisecond):
	}
	// a's lock connection is killed (as if its host died): b takes over at once.
	var lockID int64
	if err := server.Open(t, db).QueryRow("SELECT lock_id FROM "+LeaseTable+" WHERE name = ?", a.leaseName()).Scan(&lockID); err != nil {
		t.Fatal(err)
	}
	server.Exec(t, db, "KILL CONNECTION "+itoa(lockID))
	lb := await(t, chb, "b after a's connection was killed")
	if lb.Epoch() != la.Epoch()+1 {
		t.Errorf("epochs a %d b %d", la.Epoch(), lb.Epoch())
	}
	v, ok, err := lb.Blob("position").Get()
	if err != nil || !ok || string(v) != `{"offset":3,"token":"x"}` {
		t.Fatalf("b reads the shared position %q %v %v", v, ok, err)
	}
	// a is fenced: its check, its renewal, its writes.
	if err := la.Check(context.Background()); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("a's Check = %v", err)
	}
	if err := la.Blob("position").Put([]byte("stale")); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("a's Put = %v", err)
	}
	if v, _, _ := lb.Blob("position").Get(); string(v) != `{"offset":3,"token":"x"}` {
		t.Errorf("a fenced write landed: %q", v)
	}
}

func TestLeaseStaleLeaderIsTakenOverAndEnded(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	cfg := config(db, "t")
	a, b := leaseSource(t, cfg), leaseSource(t, cfg)
	la := await(t, mustElect(t, a, "a"), "a").(*sqllease.Lease)
	la.StopRenewing() // a hangs: it stops renewing, holding the lock
	start := time.Now()
	lb := await(t, mustElect(t, b, "b"), "b")
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("b took over after %v, before the failure timeout", took)
	}
	if lb.Epoch() <= la.Epoch() {
		t.Errorf("epochs a %d b %d", la.Epoch(), lb.Epoch())
	}
	if err := la.Check(context.Background()); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("a's Check = %v", err)
	}
	select {
	case <-la.Done():
	case <-time.After(5 * time.Second):
		t.Error("a's lease is not done")
	}
}

func TestLeaseReleaseHandsOverAtOnce(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	cfg := config(db, "t")
	a, b := leaseSource(t, cfg), leaseSource(t, cfg)
	la := await(t, mustElect(t, a, "a"), "a")
	chb, _ := elect(t, b, "b")
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := la.Release(); err != nil {
		t.Fatal(err)
	}
	await(t, chb, "b after a released")
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("b took over %v after a released, not at its next look", took)
	}
}

func TestLeaseNeedsCreateAndSaysSo(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	cfg := config(db, "t")
	cfg.User = server.NewUser(t, "pw-lease-31337", "SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.*")
	cfg.Password = "pw-lease-31337"
	s := leaseSource(t, cfg)
	_, err := s.Elect(context.Background(), leaseCluster("a"), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "needs CREATE on database") || strings.Contains(err.Error(), "pw-lease-31337") {
		t.Fatalf("Elect = %v", err)
	}
}

func mustElect(t *testing.T, s *Source, node string) <-chan runtime.Lease {
	ch, _ := elect(t, s, node)
	return ch
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
