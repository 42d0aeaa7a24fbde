package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Group membership, as rivvend defines it (broker-protocol.md, requests
// 34–37):
//
//   - Join: JoinGroup{group, member id ("" the first time), session and
//     rebalance timeouts, protocol type "consumer", subscriptions = the
//     topics}. The reply names the generation, this member's id, the leader
//     and every member with its subscriptions.
//   - Assign: the leader looks up the partition counts of every topic any
//     member subscribes to and deals the (topic, partition) pairs, sorted by
//     topic then partition, round-robin to the members sorted by id,
//     skipping members that do not subscribe to the topic. The result is a
//     function of the member ids and the partition counts alone. It sends
//     every member's share in SyncGroup; followers send none; each gets its
//     own partitions back.
//   - rivvend 0.0.22 answers JoinGroup at once (no join barrier) and bumps
//     the generation whenever a stable group is joined or left. So the
//     leader of a group with other members waits before SyncGroup (a
//     heartbeat interval plus the drain limit, at most half the session)
//     for them to notice the rebalance and give up their partitions, and a
//     follower recomputes the plan from the member list it was given and
//     joins again (up to 3 times in a row) when its share differs — the
//     sign that it joined after the leader made the plan and was left out.
//     Against a broker with a join barrier (Kafka's timing, brokertest's
//     default) the leader's wait only slows the rebalance down.
//   - Heartbeat every HeartbeatIntervalMs. Code 27 (rebalance in progress)
//     or an ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS error starts a
//     rebalance in which this member still owns its partitions; an
//     UNKNOWN_MEMBER_ID / UNKNOWN_GROUP error, or no successful heartbeat
//     for SessionTimeoutMs, means it was expelled and they may already be
//     someone else's.
//   - Rebalance (eager): stop reading; if still a member, wait until every
//     record handed out is acknowledged, at most min(session, rebalance
//     timeout)/2, then commit each partition's acknowledged prefix (records
//     still unacknowledged are given up: their partition's next owner reads
//     them again); if expelled, commit nothing. Then rejoin and sync. A
//     partition assigned again in the very next generation (same member id)
//     keeps its read position and queue entries; any other assigned
//     partition starts at the group's committed offset; the others are
//     revoked: acknowledging their queued records later commits nothing.
//     The leader also rebalances when the partition counts change.
//   - Close commits (if the membership is still good) and sends LeaveGroup.

const protocolType = "consumer"

// Further SyncGroup reasons after which joining again helps.
const (
	reasonInconsistentGroupProtocol = "INCONSISTENT_GROUP_PROTOCOL"
	reasonCoordinatorNotAvailable   = "COORDINATOR_NOT_AVAILABLE"
)

// member is the membership state, owned by the membership goroutine (and
// by Open before it starts, Close after it stopped).
type member struct {
	cl        *broker.Client
	session   time.Duration
	interval  time.Duration
	rebalance time.Duration

	id        string
	gen       uint32
	leader    bool
	syncedGen uint32    // generation of the assignment in use
	synced    bool      // an assignment is in use
	lastBeat  time.Time // last successful heartbeat (or sync)
	lastSent  time.Time // last heartbeat sent

	// leader: partition counts the assignment used, and missing topics
	counts      map[string]uint32
	waitLog     map[string]bool
	nextCheck   time.Time // of missing topics
	pendingWait time.Duration
	nextRefresh time.Time // of every topic

	stop   context.CancelFunc
	done   chan struct{}
	frozen atomic.Bool // test hook: stop heartbeating, as a hung process would
}

func (m *member) init(cfg Config) error {
	ms := func(v, def int) time.Duration {
		if v == 0 {
			v = def
		}
		return time.Duration(v) * time.Millisecond
	}
	if cfg.SessionTimeoutMs < 0 || cfg.HeartbeatIntervalMs < 0 || cfg.RebalanceTimeoutMs < 0 {
		return errors.New("session_timeout_ms, heartbeat_interval_ms and rebalance_timeout_ms must not be negative")
	}
	m.session = ms(cfg.SessionTimeoutMs, 10_000)
	m.rebalance = ms(cfg.RebalanceTimeoutMs, 30_000)
	m.interval = ms(cfg.HeartbeatIntervalMs, int(min(3*time.Second, m.session/3)/time.Millisecond))
	if 2*m.interval >= m.session {
		return fmt.Errorf("heartbeat_interval_ms %d must be below half of session_timeout_ms %d", m.interval.Milliseconds(), m.session.Milliseconds())
	}
	m.waitLog = map[string]bool{}
	return nil
}

// drainMax bounds the wait for acknowledgements in a rebalance.
func (m *member) drainMax() time.Duration { return min(m.session, m.rebalance) / 2 }

// settle is how long a leader waits between JoinGroup and SyncGroup when
// the group has other members: a heartbeat interval plus drainMax, at most
// half the session (the leader does not heartbeat meanwhile).
func (m *member) settle() time.Duration { return min(m.interval+m.drainMax(), m.session/2) }

// owns reports whether this member may still commit for its partitions:
// it has an assignment and its last heartbeat is within the session.
func (m *member) owns() bool {
	return m.id != "" && m.synced && time.Since(m.lastBeat) < m.session
}

func (s *Source) startMembership() {
	ctx, cancel := context.WithCancel(context.Background())
	s.grp.stop = cancel
	s.grp.done = make(chan struct{})
	go s.membership(ctx)
}

func (s *Source) stopMembership() {
	if s.grp.stop != nil {
		s.grp.stop()
		<-s.grp.done
		s.grp.stop = nil
	}
}

// membership heartbeats and rebalances until ctx ends or it fails (then
// Read returns the error).
func (s *Source) membership(ctx context.Context) {
	defer close(s.grp.done)
	m := &s.grp
	t := time.NewTimer(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.frozen.Load() {
			<-ctx.Done()
			return
		}
		if err := s.tick(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("rivven: consumer group membership failed", "group", s.cfg.ConsumerGroup, "error", err.Error())
			s.mu.Lock()
			s.fatal = fmt.Errorf("consumer group %q: %w", s.cfg.ConsumerGroup, err)
			close(s.wake)
			s.wake = make(chan struct{})
			s.mu.Unlock()
			return
		}
		wait := time.Until(m.lastSent.Add(m.interval))
		if m.leader {
			wait = min(wait, time.Until(m.nextRefresh))
			if len(m.pendingTopics()) > 0 {
				wait = min(wait, time.Until(m.nextCheck))
			}
		}
		t.Reset(max(wait, time.Millisecond))
	}
}

// tick sends a heartbeat when one is due, reacts to its answer, and lets
// the leader watch the partition counts.
func (s *Source) tick(ctx context.Context) error {
	m := &s.grp
	now := time.Now()
	if !now.Before(m.lastSent.Add(m.interval)) {
		m.lastSent = now
		code, err := m.cl.Heartbeat(ctx, s.cfg.ConsumerGroup, m.gen, m.id)
		reason := client.GroupReason(err)
		switch {
		case err == nil && code == wire.HeartbeatOK:
			m.lastBeat = now
		case err == nil || reason == client.ReasonIllegalGeneration || reason == client.ReasonRebalanceInProgress:
			s.log.Info("rivven: consumer group is rebalancing", "group", s.cfg.ConsumerGroup, "member", m.id, "generation", m.gen)
			return s.rebalance(ctx, true)
		case reason == client.ReasonUnknownMemberID || reason == client.ReasonUnknownGroup:
			s.log.Warn("rivven: expelled from the consumer group; giving up its partitions without committing",
				"group", s.cfg.ConsumerGroup, "member", m.id, "reason", reason)
			return s.rebalance(ctx, false)
		case client.IsRetriable(err):
			if time.Since(m.lastBeat) < m.session {
				return nil // try again at the next tick
			}
			s.log.Warn("rivven: no heartbeat got through within the session timeout; giving up the partitions without committing",
				"group", s.cfg.ConsumerGroup, "member", m.id, "error", err.Error())
			return s.rebalance(ctx, false)
		default:
			return fmt.Errorf("heartbeat: %w", err)
		}
	}
	if !m.leader {
		return nil
	}
	due := !now.Before(m.nextRefresh) || len(m.pendingTopics()) > 0 && !now.Before(m.nextCheck)
	if !due {
		return nil
	}
	topics := make([]string, 0, len(m.counts))
	for t := range m.counts {
		topics = append(topics, t)
	}
	counts, err := s.partitionCounts(ctx, topics)
	if err != nil {
		if client.IsRetriable(err) {
			return nil
		}
		return err
	}
	if !maps.Equal(counts, m.counts) {
		s.log.Info("rivven: partitions changed; rebalancing", "group", s.cfg.ConsumerGroup)
		return s.rebalance(ctx, true)
	}
	return nil
}

func (m *member) pendingTopics() []string {
	var out []string
	for t, n := range m.counts {
		if n == 0 {
			out = append(out, t)
		}
	}
	return out
}

// pause stops reading and Ack's commits.
func (s *Source) pause() {
	s.mu.Lock()
	s.paused = true
	s.epoch++
	s.mu.Unlock()
}

// rebalance gives up the partitions (after draining and committing them if
// owned) and rejoins.
func (s *Source) rebalance(ctx context.Context, owned bool) error {
	s.pause()
	if owned {
		s.drain(ctx)
		cctx, cancel := context.WithTimeout(ctx, s.grp.session/2)
		err := s.commitRetrying(cctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("rivven: commit before rebalance failed; the next owner reads those records again",
				"group", s.cfg.ConsumerGroup, "error", err.Error())
		}
	} else {
		s.grp.id = ""
	}
	if err := s.join(ctx); err != nil {
		return err
	}
	// Acknowledgements that arrived after the drain's commit, for
	// partitions kept, are committed now rather than at the next Ack.
	if err := s.commit(ctx, false); err != nil && ctx.Err() == nil {
		s.log.Warn("rivven: commit failed; will retry", "group", s.cfg.ConsumerGroup, "error", err.Error())
	}
	return nil
}

// drain waits until every record handed out was acknowledged, at most
// min(session, rebalance timeout)/2.
func (s *Source) drain(ctx context.Context) {
	timer := time.NewTimer(s.grp.drainMax())
	defer timer.Stop()
	for {
		s.mu.Lock()
		left, ch := s.next-s.head, s.ackCh
		s.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-timer.C:
			s.log.Warn("rivven: records still unacknowledged at rebalance; giving them up (the partition's next owner reads them again)",
				"group", s.cfg.ConsumerGroup, "member", s.grp.id, "records", left)
			return
		}
	}
}

// join joins the group, has the leader assign partitions, syncs, and
// installs this member's assignment.
func (s *Source) join(ctx context.Context) error {
	m := &s.grp
	g := s.cfg.ConsumerGroup
	mismatches := 0
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if attempt > 0 {
			if err := runtime.Sleep(ctx, s.cfg.Retry.Backoff(min(attempt-1, 5))); err != nil {
				return err
			}
		}
		var res *wire.JoinGroupResult
		err := s.retry(ctx, "join consumer group", func() error {
			var err error
			res, err = m.cl.JoinGroup(ctx, &wire.JoinGroup{GroupID: g, MemberID: m.id,
				SessionTimeoutMs: uint32(m.session.Milliseconds()), RebalanceTimeoutMs: uint32(m.rebalance.Milliseconds()),
				ProtocolType: protocolType, Subscriptions: s.cfg.Topics})
			return err
		})
		switch client.GroupReason(err) {
		case client.ReasonUnknownMemberID:
			m.id = ""
			continue
		case client.ReasonRebalanceInProgress, reasonCoordinatorNotAvailable:
			continue
		}
		if err != nil {
			return err
		}
		if res.MemberID != m.id {
			m.synced = false // a new identity: nothing carries over
		}
		m.id, m.gen, m.leader = res.MemberID, res.GenerationID, res.LeaderID == res.MemberID
		var plan []wire.MemberAssignment
		if m.leader {
			if len(res.Members) > 1 {
				// rivvend answers JoinGroup at once: give the other
				// members time to notice the rebalance (one heartbeat)
				// and to give up their partitions before assigning them.
				if err := runtime.Sleep(ctx, m.settle()); err != nil {
					return err
				}
			}
			var err error
			if plan, m.counts, err = s.plan(ctx, res.Members); err != nil {
				return err
			}
		}
		var mine []wire.TopicPartitions
		err = s.retry(ctx, "sync consumer group", func() error {
			var err error
			mine, err = m.cl.SyncGroup(ctx, &wire.SyncGroup{GroupID: g, GenerationID: m.gen, MemberID: m.id, Assignments: plan}, m.rebalance)
			return err
		})
		switch client.GroupReason(err) {
		case "":
		case client.ReasonIllegalGeneration, client.ReasonRebalanceInProgress, client.ReasonRebalanceTimeout,
			reasonInconsistentGroupProtocol, reasonCoordinatorNotAvailable:
			// The group moved on (or the leader's plan named a member
			// that left): join the next generation.
			continue
		case client.ReasonUnknownMemberID:
			m.id = ""
			continue
		}
		if err != nil {
			return err
		}
		if !m.leader && mismatches < 3 {
			// rivvend answers JoinGroup at once, so a member that joined
			// while the leader was assigning is missing from the leader's
			// plan (it gets nothing, for good). Joining again (which
			// disturbs the now stable group) gets everyone a plan made
			// with every member.
			expected, _, err := s.plan(ctx, res.Members)
			if err != nil {
				return err
			}
			if share := shareOf(expected, m.id); !sameShare(share, mine) {
				mismatches++
				s.log.Info("rivven: assignment does not cover this member; joining again",
					"group", g, "member", m.id, "generation", m.gen)
				continue
			}
		}
		if err := s.install(ctx, mine); err != nil {
			return err
		}
		m.lastBeat, m.lastSent = time.Now(), time.Now()
		return nil
	}
}

// plan computes the assignment of members over the partitions of every
// topic they subscribe to.
func (s *Source) plan(ctx context.Context, members []wire.GroupMember) ([]wire.MemberAssignment, map[string]uint32, error) {
	topics := slices.Clone(s.cfg.Topics)
	for _, mb := range members {
		for _, t := range mb.Subscriptions {
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	counts, err := s.partitionCounts(ctx, topics)
	if err != nil {
		return nil, nil, err
	}
	return assign(members, counts), counts, nil
}

func shareOf(plan []wire.MemberAssignment, id string) []wire.TopicPartitions {
	for _, a := range plan {
		if a.MemberID == id {
			return a.Topics
		}
	}
	return nil
}

// sameShare compares two assignments as sets of (topic, partition).
func sameShare(a, b []wire.TopicPartitions) bool {
	set := func(tps []wire.TopicPartitions) []string {
		var out []string
		for _, tp := range tps {
			for _, p := range tp.Partitions {
				out = append(out, fmt.Sprintf("%s/%d", tp.Topic, p))
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(set(a), set(b))
}

// install makes mine this member's partitions (see the doc at the top).
func (s *Source) install(ctx context.Context, mine []wire.TopicPartitions) error {
	m := &s.grp
	type key struct {
		topic string
		id    uint32
	}
	keep := m.synced && m.gen == m.syncedGen+1
	s.mu.Lock()
	old := map[key]*partition{}
	for _, p := range s.parts {
		old[key{p.topic, p.id}] = p
	}
	s.mu.Unlock()
	var parts []*partition
	var names []string
	for _, tp := range mine {
		for _, id := range tp.Partitions {
			k := key{tp.Topic, id}
			if p := old[k]; keep && p != nil {
				parts = append(parts, p)
				delete(old, k)
			} else {
				p := &partition{topic: tp.Topic, id: id}
				if err := s.retry(ctx, "look up start offsets", func() error { return s.startOffset(ctx, p) }); err != nil {
					return err
				}
				parts = append(parts, p)
			}
			names = append(names, fmt.Sprintf("%s/%d", tp.Topic, id))
		}
	}
	slices.SortFunc(parts, func(a, b *partition) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.id, b.id))
	})
	s.mu.Lock()
	for _, p := range s.parts {
		if !slices.Contains(parts, p) {
			p.revoked = true
		}
	}
	s.parts = parts
	s.paused = false
	s.epoch++
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
	m.synced, m.syncedGen = true, m.gen
	slices.Sort(names)
	s.log.Info("rivven: partitions assigned", "group", s.cfg.ConsumerGroup, "member", m.id,
		"generation", m.gen, "leader", m.leader, "partitions", strings.Join(names, ","))
	return nil
}

// partitionCounts looks up the partition count of each topic (0 for one
// that does not exist yet) and schedules the next checks.
func (s *Source) partitionCounts(ctx context.Context, topics []string) (map[string]uint32, error) {
	m := &s.grp
	counts := map[string]uint32{}
	for _, t := range topics {
		var n uint32
		err := s.retry(ctx, "look up topics", func() error {
			var err error
			n, err = s.cl.GetMetadata(ctx, t)
			return err
		})
		if errors.Is(err, client.ErrUnknownTopic) {
			if !m.waitLog[t] {
				m.waitLog[t] = true
				s.log.Info("rivven: waiting for topic to be created", "topic", t, "group", s.cfg.ConsumerGroup)
			}
			n, err = 0, nil
		}
		if err != nil {
			return nil, fmt.Errorf("topic %q: %w", t, err)
		}
		counts[t] = n
	}
	now := time.Now()
	missing := false
	for _, n := range counts {
		missing = missing || n == 0
	}
	if missing {
		m.pendingWait = min(max(2*m.pendingWait, pendingFirst), pendingMax)
	} else {
		m.pendingWait = 0
	}
	m.nextCheck = now.Add(m.pendingWait)
	m.nextRefresh = now.Add(metadataEvery)
	return counts, nil
}

// assign deals every (topic, partition) round-robin to the members sorted
// by id, skipping members not subscribed to the topic.
func assign(members []wire.GroupMember, counts map[string]uint32) []wire.MemberAssignment {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b wire.GroupMember) int { return cmp.Compare(a.MemberID, b.MemberID) })
	topics := make([]string, 0, len(counts))
	for t := range counts {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	shares := make([]map[string][]uint32, len(ms))
	for i := range shares {
		shares[i] = map[string][]uint32{}
	}
	next := 0
	for _, t := range topics {
		for p := range counts[t] {
			for k := range ms {
				j := (next + k) % len(ms)
				if slices.Contains(ms[j].Subscriptions, t) {
					shares[j][t] = append(shares[j][t], p)
					next = j + 1
					break
				}
			}
		}
	}
	out := make([]wire.MemberAssignment, len(ms))
	for i, mb := range ms {
		out[i].MemberID = mb.MemberID
		for _, t := range topics {
			if ps := shares[i][t]; len(ps) > 0 {
				out[i].Topics = append(out[i].Topics, wire.TopicPartitions{Topic: t, Partitions: ps})
			}
		}
	}
	return out
}
