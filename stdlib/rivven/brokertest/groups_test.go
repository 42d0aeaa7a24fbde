package brokertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

func groupClient(t *testing.T, s *Server) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BootstrapServers: []string{s.Addr()}, PoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func join(c *client.Client, id string, session uint32) (*wire.JoinGroupResult, error) {
	return c.JoinGroup(context.Background(), &wire.JoinGroup{GroupID: "g", MemberID: id, SessionTimeoutMs: session,
		RebalanceTimeoutMs: 2000, ProtocolType: "consumer", Subscriptions: []string{"t"}})
}

// joinAll joins (or rejoins) ids concurrently and returns their results.
func joinAll(t *testing.T, c *client.Client, ids ...string) []*wire.JoinGroupResult {
	t.Helper()
	out := make([]*wire.JoinGroupResult, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { out[i], errs[i] = join(c, id, 5000) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := client.GroupReason(err); got != reason {
		t.Fatalf("got %v (reason %q), want reason %s", err, got, reason)
	}
}

// TestGroupCoordinator: the join barrier, leader, SyncGroup barrier,
// heartbeat codes, rebalance on join and leave, stale generations.
func TestGroupCoordinator(t *testing.T) {
	s, _ := Start(Config{GroupRebalanceDelay: 100 * time.Millisecond})
	defer s.Close()
	c := groupClient(t, s)
	ctx := context.Background()

	rs := joinAll(t, c, "", "")
	a, b := rs[0].MemberID, rs[1].MemberID
	if a > b {
		a, b = b, a
	}
	for _, r := range rs {
		if r.GenerationID != 1 || r.LeaderID != a || len(r.Members) != 2 || r.Members[0].MemberID != a || r.ProtocolType != "consumer" {
			t.Fatalf("join result %+v", r)
		}
	}
	// The follower's SyncGroup waits for the leader's.
	var follower []wire.TopicPartitions
	var ferr error
	var wg sync.WaitGroup
	wg.Go(func() {
		follower, ferr = c.SyncGroup(ctx, &wire.SyncGroup{GroupID: "g", GenerationID: 1, MemberID: b}, time.Second)
	})
	time.Sleep(30 * time.Millisecond)
	if code, err := c.Heartbeat(ctx, "g", 1, b); err != nil || code != wire.HeartbeatRebalanceInProgress {
		t.Fatalf("heartbeat before sync: %d %v", code, err)
	}
	plan := []wire.MemberAssignment{
		{MemberID: a, Topics: []wire.TopicPartitions{{Topic: "t", Partitions: []uint32{0, 2}}}},
		{MemberID: b, Topics: []wire.TopicPartitions{{Topic: "t", Partitions: []uint32{1}}}},
	}
	mine, err := c.SyncGroup(ctx, &wire.SyncGroup{GroupID: "g", GenerationID: 1, MemberID: a, Assignments: plan}, time.Second)
	wg.Wait()
	if err != nil || ferr != nil || fmt.Sprint(mine) != "[{t [0 2]}]" || fmt.Sprint(follower) != "[{t [1]}]" {
		t.Fatalf("sync: %v %v / %v %v", mine, err, follower, ferr)
	}
	if code, err := c.Heartbeat(ctx, "g", 1, a); err != nil || code != wire.HeartbeatOK {
		t.Fatalf("heartbeat: %d %v", code, err)
	}
	st, _ := s.Group("g")
	if !st.Stable || st.Generation != 1 || fmt.Sprint(st.Members[b]) != "map[t:[1]]" {
		t.Fatalf("state %+v", st)
	}

	// A third member's JoinGroup waits until the others rejoined; they
	// learn of the rebalance from heartbeat code 27.
	var third *wire.JoinGroupResult
	var terr error
	joined := make(chan struct{})
	wg.Go(func() { third, terr = join(c, "", 5000); close(joined) })
	time.Sleep(30 * time.Millisecond)
	select {
	case <-joined:
		t.Fatal("the join did not wait for the other members")
	default:
	}
	if code, err := c.Heartbeat(ctx, "g", 1, a); err != nil || code != wire.HeartbeatRebalanceInProgress {
		t.Fatalf("heartbeat during rebalance: %d %v", code, err)
	}
	_, err = c.SyncGroup(ctx, &wire.SyncGroup{GroupID: "g", GenerationID: 1, MemberID: a}, time.Second)
	wantReason(t, err, client.ReasonRebalanceInProgress)
	rs = joinAll(t, c, a, b)
	wg.Wait()
	if terr != nil || third.GenerationID != 2 || rs[0].GenerationID != 2 || len(third.Members) != 3 || third.LeaderID != a {
		t.Fatalf("rejoin: %+v %v / %+v", third, terr, rs[0])
	}
	_, err = c.Heartbeat(ctx, "g", 1, a)
	wantReason(t, err, client.ReasonIllegalGeneration)
	_, err = c.SyncGroup(ctx, &wire.SyncGroup{GroupID: "g", GenerationID: 1, MemberID: a}, time.Second)
	wantReason(t, err, client.ReasonIllegalGeneration)

	// Leaving starts a rebalance; a left member is unknown.
	if err := c.LeaveGroup(ctx, "g", third.MemberID); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Heartbeat(ctx, "g", 2, a); err != nil || code != wire.HeartbeatRebalanceInProgress {
		t.Fatalf("heartbeat after a leave: %d %v", code, err)
	}
	_, err = c.Heartbeat(ctx, "g", 2, third.MemberID)
	wantReason(t, err, client.ReasonUnknownMemberID)
	err = c.LeaveGroup(ctx, "g", third.MemberID)
	wantReason(t, err, client.ReasonUnknownMemberID)
	_, err = c.Heartbeat(ctx, "nope", 1, a)
	wantReason(t, err, client.ReasonUnknownGroup)
}

// TestGroupExpiry: a member that stops heartbeating is expelled after its
// session timeout, which rebalances the others; a member that does not
// rejoin within the rebalance timeout is dropped from the generation.
func TestGroupExpiry(t *testing.T) {
	s, _ := Start(Config{GroupRebalanceDelay: 100 * time.Millisecond})
	defer s.Close()
	c := groupClient(t, s)
	ctx := context.Background()
	var wg sync.WaitGroup
	var rs [2]*wire.JoinGroupResult
	wg.Go(func() { rs[0], _ = join(c, "", 150) })
	wg.Go(func() { rs[1], _ = join(c, "", 5000) })
	wg.Wait()
	if rs[0] == nil || rs[1] == nil {
		t.Fatal("join failed")
	}
	live := rs[1].MemberID
	deadline := time.Now().Add(5 * time.Second)
	for s.ExpiredMembers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no member expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err := c.Heartbeat(ctx, "g", rs[0].GenerationID, rs[0].MemberID)
	wantReason(t, err, client.ReasonUnknownMemberID)
	if code, err := c.Heartbeat(ctx, "g", rs[1].GenerationID, live); err != nil || code != wire.HeartbeatRebalanceInProgress {
		t.Fatalf("survivor's heartbeat: %d %v", code, err)
	}
	r, err := join(c, live, 5000)
	if err != nil || r.GenerationID != rs[1].GenerationID+1 || len(r.Members) != 1 || r.LeaderID != live {
		t.Fatalf("rejoin: %+v %v", r, err)
	}
}

// TestGroupRivvendTiming: JoinGroup is answered at once with the members
// known so far; joining a stable group bumps the generation, which the
// other members see as ILLEGAL_GENERATION; rejoining while the group is
// completing keeps it.
func TestGroupRivvendTiming(t *testing.T) {
	s, _ := Start(Config{RivvendGroupTiming: true})
	defer s.Close()
	c := groupClient(t, s)
	ctx := context.Background()
	a, err := join(c, "", 5000)
	if err != nil || a.GenerationID != 0 || a.LeaderID != a.MemberID || len(a.Members) != 1 {
		t.Fatalf("first join: %+v %v", a, err)
	}
	plan := []wire.MemberAssignment{{MemberID: a.MemberID, Topics: []wire.TopicPartitions{{Topic: "t", Partitions: []uint32{0, 1}}}}}
	if _, err := c.SyncGroup(ctx, &wire.SyncGroup{GroupID: "g", GenerationID: 0, MemberID: a.MemberID, Assignments: plan}, time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	b, err := join(c, "", 5000)
	if err != nil || b.GenerationID != 1 || b.LeaderID != a.MemberID || len(b.Members) != 2 || time.Since(start) > time.Second {
		t.Fatalf("second join: %+v %v after %v", b, err, time.Since(start))
	}
	_, err = c.Heartbeat(ctx, "g", 0, a.MemberID)
	wantReason(t, err, client.ReasonIllegalGeneration)
	a2, err := join(c, a.MemberID, 5000)
	if err != nil || a2.GenerationID != 1 {
		t.Fatalf("rejoin while completing: %+v %v", a2, err)
	}
	if code, err := c.Heartbeat(ctx, "g", 1, b.MemberID); err != nil || code != wire.HeartbeatRebalanceInProgress {
		t.Fatalf("heartbeat before the leader's sync: %d %v", code, err)
	}
	if err := c.LeaveGroup(ctx, "g", a.MemberID); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Group("g")
	if st.Leader != b.MemberID || len(st.Members) != 1 {
		t.Fatalf("after the leader left: %+v", st)
	}
}
