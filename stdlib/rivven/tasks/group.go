// Package tasks shares the tasks of a scalable pipeline (mode: scalable)
// among the nodes of a cluster through rivvend's group protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), and keeps each task's
// state (its acknowledged position, its producer ids) in a broker topic.
// It implements runtime.TaskGroup for the rivven sink's
// runtime.TaskCoordinator.
//
// The group of pipeline P is "<cluster topic>.<P>"; its "topic" is P and
// its "partitions" are the task indices. Rebalances are eager: a node
// that learns of one (a heartbeat answered "rebalancing") stops its tasks
// (draining them) before it joins again, and a node that cannot be sure
// it is still a member — its last successful heartbeat is older than the
// session (failure_timeout) less one heartbeat interval, which is before
// the broker can have expelled it — stops its tasks at once and
// acknowledges nothing more. The broker expels a member whose heartbeats
// stop for the session; so no task runs on two nodes, except for one sink
// write in flight at the moment a paused node wakes (the window SPEC
// §2.8 documents; a broker sink's idempotent producer is fenced too).
//
// rivvend answers JoinGroup at once (no join barrier), so a leader of a
// group with other members waits a heartbeat interval plus the drain
// limit before SyncGroup, for the others to notice the rebalance and stop
// their tasks; a follower whose share differs from the plan it computes
// from the member list joins again (up to 3 times in a row).
package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

const protocolType = "rivven-connect-tasks"

// Further SyncGroup reasons after which joining again helps.
const (
	reasonInconsistentGroupProtocol = "INCONSISTENT_GROUP_PROTOCOL"
	reasonCoordinatorNotAvailable   = "COORDINATOR_NOT_AVAILABLE"
)

// Group is one node's membership of the group of a pipeline's tasks. It
// implements runtime.TaskGroup; Next and Leave are called from one
// goroutine, the leases' methods from any.
type Group struct {
	conn     broker.Conn
	c        runtime.Cluster
	pipeline string
	tasks    int
	group    string
	log      *slog.Logger

	session, interval, rebalance time.Duration

	cl    *broker.Client
	state *store

	id     string
	owned  []int // the tasks of the last generation
	cur    *generation
	closed bool
}

// New returns the membership of this node (c.Node) in the group of the n
// tasks of pipeline, reaching the broker through conn. Nothing is
// connected before Next.
func New(conn broker.Conn, c runtime.Cluster, pipeline string, n int, log *slog.Logger) (*Group, error) {
	if n < 1 {
		return nil, fmt.Errorf("pipeline %q: tasks must be at least 1, not %d", pipeline, n)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Group{conn: conn, c: c, pipeline: pipeline, tasks: n, group: c.Topic + "." + pipeline, log: log,
		session: c.FailureTimeout(), interval: c.Heartbeat()}
	if g.interval <= 0 || g.session <= g.interval {
		return nil, fmt.Errorf("failure_timeout_ms (%d) must be longer than heartbeat_interval_ms (%d)", c.FailureTimeoutMs, c.HeartbeatMs)
	}
	g.rebalance = g.session
	return g, nil
}

// drain is how long a node's tasks may take to stop at a rebalance: while
// they drain, the node's last heartbeat stays within the session less a
// heartbeat interval.
func (g *Group) drain() time.Duration { return max(g.session-3*g.interval, 0) / 2 }

// settle is how long a leader waits between JoinGroup and SyncGroup when
// the group has other members.
func (g *Group) settle() time.Duration { return min(g.interval+g.drain(), g.session/2) }

// Next implements runtime.TaskGroup.
func (g *Group) Next(ctx context.Context) (*runtime.Assignment, error) {
	if g.closed {
		return nil, errors.New("the group was left")
	}
	if g.cur != nil {
		g.cur.end(g.cur.expired.Load())
		<-g.cur.beating
		if g.cur.expired.Load() {
			g.id = "" // expelled, or about to be: a new identity
		}
		g.cur = nil
	}
	if g.cl == nil {
		cl, err := g.connect(ctx)
		if err != nil {
			return nil, err
		}
		g.cl = cl
		g.state = &store{cl: cl.Client, topic: g.c.Topic + StateTopicSuffix}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := runtime.Sleep(ctx, min(g.interval*time.Duration(attempt), 5*time.Second)); err != nil {
				return nil, err
			}
		}
		a, err := g.join(ctx)
		if err == nil {
			return a, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !runtime.IsRetriable(err) && !client.IsRetriable(err) {
			return nil, err
		}
		g.log.Warn("joining the group of the pipeline's tasks failed; trying again", "group", g.group, "error", err.Error())
	}
}

// connect opens the membership's connection, retrying while the broker
// is unreachable.
func (g *Group) connect(ctx context.Context) (*broker.Client, error) {
	wait := max(g.interval, 100*time.Millisecond)
	for {
		cl, err := broker.Connect(ctx, g.conn, broker.Options{})
		if err == nil {
			return cl, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		g.log.Warn("cannot reach the broker to join the group of the pipeline's tasks; trying again", "group", g.group, "in", wait, "error", err.Error())
		if err := runtime.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// join joins, has the leader plan, syncs, reads the tasks' state and
// starts heartbeating.
func (g *Group) join(ctx context.Context) (*runtime.Assignment, error) {
	if err := g.state.ensure(ctx); err != nil {
		return nil, err
	}
	mismatches := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := runtime.Sleep(ctx, min(100*time.Millisecond*time.Duration(attempt), g.interval)); err != nil {
				return nil, err
			}
		}
		sent := time.Now()
		res, err := g.cl.JoinGroup(ctx, &wire.JoinGroup{GroupID: g.group, MemberID: g.id,
			SessionTimeoutMs: uint32(g.session.Milliseconds()), RebalanceTimeoutMs: uint32(g.rebalance.Milliseconds()),
			ProtocolType: protocolType, Subscriptions: subscriptions(g.pipeline, g.owned)})
		switch client.GroupReason(err) {
		case client.ReasonUnknownMemberID:
			g.id = ""
			continue
		case client.ReasonRebalanceInProgress, reasonCoordinatorNotAvailable:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("join group %q: %w", g.group, err)
		}
		g.id = res.MemberID
		leader := res.LeaderID == res.MemberID
		var p []wire.MemberAssignment
		if leader {
			if len(res.Members) > 1 {
				if err := runtime.Sleep(ctx, g.settle()); err != nil {
					return nil, err
				}
			}
			p = plan(res.Members, g.pipeline, g.tasks)
		}
		mine, err := g.cl.SyncGroup(ctx, &wire.SyncGroup{GroupID: g.group, GenerationID: res.GenerationID, MemberID: g.id, Assignments: p}, g.rebalance)
		switch client.GroupReason(err) {
		case "":
		case client.ReasonIllegalGeneration, client.ReasonRebalanceInProgress, client.ReasonRebalanceTimeout,
			reasonInconsistentGroupProtocol, reasonCoordinatorNotAvailable:
			continue
		case client.ReasonUnknownMemberID:
			g.id = ""
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sync group %q: %w", g.group, err)
		}
		share := tasksOf(mine, g.pipeline)
		if !leader && mismatches < 3 {
			if want := shareOf(plan(res.Members, g.pipeline, g.tasks), g.id, g.pipeline); !slices.Equal(want, share) {
				mismatches++
				g.log.Info("the group's assignment does not cover this node; joining again", "group", g.group, "member", g.id, "generation", res.GenerationID)
				continue
			}
		}
		if err := g.state.load(ctx, g.pipeline); err != nil {
			return nil, err
		}
		gen := &generation{g: g, gen: uint64(res.GenerationID), done: make(chan struct{}), beating: make(chan struct{})}
		gen.lastBeat.Store(sent.UnixNano())
		g.cur, g.owned = gen, share
		go gen.heartbeat(res.GenerationID)
		return &runtime.Assignment{Generation: gen.gen, Tasks: share, Lease: gen.lease, Done: gen.done,
			Expired: gen.expired.Load, Drain: g.drain()}, nil
	}
}

// Leave implements runtime.TaskGroup.
func (g *Group) Leave() error {
	if g.closed {
		return nil
	}
	g.closed = true
	if g.cur != nil {
		g.cur.end(g.cur.expired.Load())
		<-g.cur.beating
	}
	if g.cl == nil {
		return nil
	}
	defer g.cl.Close()
	if g.id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.session/2)
	defer cancel()
	if err := g.cl.LeaveGroup(ctx, g.group, g.id); err != nil {
		return fmt.Errorf("leave group %q: %w", g.group, err)
	}
	return nil
}

// generation is one generation of this node's membership.
type generation struct {
	g        *Group
	gen      uint64
	lastBeat atomic.Int64 // unix ns when the last successful heartbeat (or the join) was sent
	expired  atomic.Bool
	once     sync.Once
	done     chan struct{} // closed when the generation ends
	beating  chan struct{} // closed when the heartbeat goroutine returns
}

// end ends the generation (expired: the membership is lost).
func (gen *generation) end(expired bool) {
	gen.once.Do(func() {
		if expired {
			gen.expired.Store(true)
		}
		close(gen.done)
	})
}

// valid reports whether this node may still act for the generation's
// tasks: not expired, and its last successful heartbeat within the
// session less one interval.
func (gen *generation) valid() bool {
	return !gen.expired.Load() && time.Since(time.Unix(0, gen.lastBeat.Load())) < gen.g.session-gen.g.interval
}

// heartbeat heartbeats every interval until the generation ends: a
// rebalance ends it (not expired); losing the membership, or no
// successful heartbeat for the session less one interval, ends it
// expired.
func (gen *generation) heartbeat(id uint32) {
	defer close(gen.beating)
	g := gen.g
	t := time.NewTimer(g.interval)
	defer t.Stop()
	for {
		select {
		case <-gen.done:
			return
		case <-t.C:
		}
		if !gen.valid() {
			g.log.Warn("no heartbeat got through within the session: stopping the pipeline's tasks on this node", "group", g.group, "member", g.id)
			gen.end(true)
			return
		}
		sent := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), g.interval)
		code, err := g.cl.Heartbeat(ctx, g.group, id, g.id)
		cancel()
		reason := client.GroupReason(err)
		switch {
		case err == nil && code == wire.HeartbeatOK:
			gen.lastBeat.Store(sent.UnixNano())
		case err == nil || reason == client.ReasonIllegalGeneration || reason == client.ReasonRebalanceInProgress:
			g.log.Info("the group of the pipeline's tasks is rebalancing", "group", g.group, "member", g.id, "generation", id)
			gen.end(false)
			return
		case reason == client.ReasonUnknownMemberID || reason == client.ReasonUnknownGroup:
			g.log.Warn("expelled from the group of the pipeline's tasks", "group", g.group, "member", g.id, "reason", reason)
			gen.end(true)
			return
		default:
			// Transient or not: the session decides (valid above).
		}
		t.Reset(max(time.Until(sent.Add(g.interval)), time.Millisecond))
	}
}

// lease returns the lease of task i in this generation.
func (gen *generation) lease(i int) runtime.Lease { return &lease{gen: gen, task: i} }
