package tasks

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

func start(t *testing.T) (*brokertest.Server, broker.Conn) {
	t.Helper()
	srv, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, broker.Conn{BootstrapServers: []string{srv.Addr()}, ConnectionTimeoutMs: 5000}
}

func cluster(node string) runtime.Cluster {
	return runtime.Cluster{Enabled: true, Node: node, HeartbeatMs: 100, FailureTimeoutMs: 1000, Topic: "connect-status"}
}

func join(t *testing.T, conn broker.Conn, node string, n int) *Group {
	t.Helper()
	g, err := New(conn, cluster(node), "p", n, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Leave() })
	return g
}

func next(t *testing.T, g *Group) *runtime.Assignment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := g.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func waitDone(t *testing.T, a *runtime.Assignment, what string) {
	t.Helper()
	select {
	case <-a.Done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: the generation never ended", what)
	}
}

func TestAJoiningNodeRebalancesGracefullyAndSharesTheTasks(t *testing.T) {
	_, conn := start(t)
	a := join(t, conn, "a", 4)
	first := next(t, a)
	if !slices.Equal(first.Tasks, []int{0, 1, 2, 3}) {
		t.Fatalf("alone, a got %v", first.Tasks)
	}
	if err := first.Lease(2).Blob("position").Put([]byte(`{"offset":7}`)); err != nil {
		t.Fatal(err)
	}
	b := join(t, conn, "b", 4)
	bs := make(chan *runtime.Assignment, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		as, err := b.Next(ctx)
		if err != nil {
			t.Error(err)
		}
		bs <- as
	}()
	waitDone(t, first, "b joined")
	if first.Expired() {
		t.Fatal("a rebalance ended a's generation as expired")
	}
	if err := first.Lease(0).Err(); err != nil {
		t.Fatalf("during the drain a's lease must hold: %v", err)
	}
	second := next(t, a)
	bg := <-bs
	if bg == nil {
		t.FailNow()
	}
	all := append(slices.Clone(second.Tasks), bg.Tasks...)
	slices.Sort(all)
	if !slices.Equal(all, []int{0, 1, 2, 3}) || len(second.Tasks) != 2 {
		t.Fatalf("a got %v, b got %v", second.Tasks, bg.Tasks)
	}
	// The task's state moved with it.
	owner := second
	if slices.Contains(bg.Tasks, 2) {
		owner = bg
	}
	v, ok, err := owner.Lease(2).Blob("position").Get()
	if err != nil || !ok || string(v) != `{"offset":7}` {
		t.Fatalf("task 2's position after the rebalance: %q %v %v", v, ok, err)
	}
}

func TestLostHeartbeatsFenceTheTasksBeforeTheSessionEnds(t *testing.T) {
	srv, conn := start(t)
	g := join(t, conn, "a", 2)
	a := next(t, g)
	joined := time.Now()
	srv.SetFault(func(ri brokertest.RequestInfo) brokertest.Fault {
		if ri.Kind == wire.KindHeartbeat {
			return brokertest.Fault{Action: brokertest.DropBeforeHandling}
		}
		return brokertest.Fault{}
	})
	waitDone(t, a, "heartbeats dropped")
	if !a.Expired() {
		t.Fatal("the generation ended, but not as expired")
	}
	if took := time.Since(joined); took >= time.Second {
		t.Errorf("fenced %v after the last heartbeat: not before the session (1s) ended", took)
	}
	l := a.Lease(1)
	if err := l.Err(); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("Err = %v, want ErrFenced", err)
	}
	if err := l.Check(context.Background()); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("Check = %v, want ErrFenced", err)
	}
	if err := l.Blob("position").Put([]byte("x")); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("Put = %v, want ErrFenced", err)
	}
	srv.SetFault(nil)
	again := next(t, g) // a new identity, the tasks again
	if !slices.Equal(again.Tasks, []int{0, 1}) || again.Generation <= a.Generation {
		t.Errorf("after rejoining: generation %d tasks %v", again.Generation, again.Tasks)
	}
}

func TestALateWriteOfAnOlderGenerationDoesNotWin(t *testing.T) {
	_, conn := start(t)
	cl, err := broker.Connect(context.Background(), conn, broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	s := &store{cl: cl.Client, topic: "connect-status" + StateTopicSuffix, entries: map[string]stateEntry{}}
	if err := s.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	k := stateKey("p", 3, "position")
	for _, w := range []struct {
		gen uint64
		v   string
	}{{4, "old owner"}, {6, "new owner"}, {6, "new owner, later"}, {5, "paused old owner, woken"}} {
		if err := s.put(ctx, k, w.gen, []byte(w.v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.load(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.get(k); !ok || string(v) != "new owner, later" {
		t.Fatalf("got %q %v, want the last value of the highest generation", v, ok)
	}
	if _, ok := s.get(stateKey("p", 2, "position")); ok {
		t.Fatal("a task never written has a value")
	}
}
