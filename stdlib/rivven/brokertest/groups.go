package brokertest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// The group coordinator of the test double: JoinGroup, SyncGroup, Heartbeat
// and LeaveGroup with rivvend's reply shapes and error wording
// ("JOIN_GROUP_FAILED: …", "SYNC_GROUP_FAILED: UNKNOWN_MEMBER_ID: …",
// "HEARTBEAT_FAILED: ILLEGAL_GENERATION: …", HeartbeatResult code 27 while
// the group is not stable).
//
// Its timing is Kafka's rather than rivvend 0.0.22's: a JoinGroup waits at
// a barrier until every member of the group has (re)joined and at least
// Config.GroupRebalanceDelay has passed since the rebalance began (members
// that do not rejoin within their rebalance timeout are removed), and the
// generation is bumped when that join phase completes. rivvend answers
// JoinGroup at once and bumps the generation when a stable group is
// disturbed, so its members see ILLEGAL_GENERATION where these see code 27;
// clients must treat both as "rejoin". Members whose last JoinGroup,
// SyncGroup or valid Heartbeat is older than their session timeout are
// expelled (checked every 10 ms), as rivvend's heartbeat checker does.

type groupState int

const (
	groupEmpty groupState = iota
	groupPreparing
	groupCompleting
	groupStable
)

type coordinator struct {
	delay   time.Duration
	rivvend bool // Config.RivvendGroupTiming
	done    <-chan struct{}

	mu      sync.Mutex
	groups  map[string]*group
	nextID  uint64
	changed chan struct{} // closed and replaced on every state change
	ticker  sync.Once
	expired uint64
}

type group struct {
	rivvend    bool
	state      groupState
	gen        uint32
	leader     string
	members    map[string]*member
	roundStart time.Time
}

type member struct {
	id           string
	protocolType string
	subs         []string
	session      time.Duration
	rebalance    time.Duration
	lastSeen     time.Time
	joined       bool   // joined in the current round
	waiting      int    // requests blocked at a barrier (not expired meanwhile)
	joinSeq      uint64 // counts JoinGroups; a newer one supersedes a waiting one
	result       *wire.JoinGroupResult
	assignment   []wire.TopicPartitions
}

func (c *coordinator) init(delay time.Duration, rivvend bool, done <-chan struct{}) {
	c.delay = delay
	c.rivvend = rivvend
	c.done = done
	c.groups = map[string]*group{}
	c.changed = make(chan struct{})
}

// notifyLocked wakes every request waiting at a barrier.
func (c *coordinator) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// wait releases c.mu until the state changes or the server closes (false).
func (c *coordinator) wait() bool {
	ch := c.changed
	c.mu.Unlock()
	defer c.mu.Lock()
	select {
	case <-ch:
		return true
	case <-c.done:
		return false
	}
}

func (c *coordinator) startTicker() {
	c.ticker.Do(func() {
		go func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					c.tick(time.Now())
				case <-c.done:
					return
				}
			}
		}()
	})
}

// tick expels members whose session ran out and completes join phases.
func (c *coordinator) tick(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	for _, g := range c.groups {
		for id, m := range g.members {
			if m.waiting == 0 && now.Sub(m.lastSeen) > m.session {
				c.expired++
				g.remove(id, now)
				changed = true
			}
		}
		if g.tryComplete(now, c.delay) {
			changed = true
		}
	}
	if changed {
		c.notifyLocked()
	}
}

// rebalance starts a join phase (a no-op if one is running). With
// rivvend's timing it bumps the generation of a stable group instead.
func (g *group) rebalance(now time.Time) {
	if g.rivvend {
		if g.state == groupStable {
			g.gen++
		}
		g.state = groupPreparing
		return
	}
	if g.state == groupPreparing {
		return
	}
	g.state = groupPreparing
	g.roundStart = now
	for _, m := range g.members {
		m.joined = false
	}
}

func (g *group) remove(id string, now time.Time) {
	delete(g.members, id)
	if g.leader == id {
		g.leader = ""
	}
	if len(g.members) == 0 {
		g.state, g.gen, g.leader = groupEmpty, 0, ""
		return
	}
	if g.rivvend && g.leader == "" {
		g.leader = slices.Min(slices.Collect(maps.Keys(g.members)))
	}
	g.rebalance(now)
}

// tryComplete ends the join phase when every member rejoined and the
// rebalance delay passed, or when the longest rebalance timeout passed
// (members that did not rejoin are removed).
func (g *group) tryComplete(now time.Time, delay time.Duration) bool {
	if g.rivvend || g.state != groupPreparing {
		return false
	}
	all := true
	var timeout time.Duration
	for _, m := range g.members {
		all = all && m.joined
		timeout = max(timeout, m.rebalance)
	}
	switch {
	case all && now.Sub(g.roundStart) >= delay:
	case now.Sub(g.roundStart) >= timeout:
		for id, m := range g.members {
			if !m.joined {
				delete(g.members, id)
			}
		}
	default:
		return false
	}
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		g.state, g.gen, g.leader = groupEmpty, 0, ""
		return true
	}
	g.gen++
	g.state = groupCompleting
	if g.members[g.leader] == nil {
		g.leader = ids[0]
	}
	for _, id := range ids {
		m := g.members[id]
		m.assignment = nil
		m.result = g.result(id, m)
	}
	return true
}

// result is the JoinGroupResult for member id of the current generation.
func (g *group) result(id string, m *member) *wire.JoinGroupResult {
	ids := slices.Sorted(maps.Keys(g.members))
	list := make([]wire.GroupMember, len(ids))
	for i, id := range ids {
		list[i] = wire.GroupMember{MemberID: id, Subscriptions: slices.Clone(g.members[id].subs)}
	}
	return &wire.JoinGroupResult{GenerationID: g.gen, ProtocolType: m.protocolType,
		MemberID: id, LeaderID: g.leader, Members: list}
}

func (c *coordinator) joinGroup(r *wire.JoinGroup) wire.Response {
	if r.GroupID == "" {
		return errResp("JOIN_GROUP_FAILED: INVALID_GROUP_ID: group id must not be empty")
	}
	c.startTicker()
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[r.GroupID]
	if g == nil {
		g = &group{rivvend: c.rivvend, members: map[string]*member{}}
		c.groups[r.GroupID] = g
	}
	id := r.MemberID
	if id == "" {
		c.nextID++
		id = fmt.Sprintf("%s-%04d", r.ProtocolType, c.nextID)
	}
	m := g.members[id]
	if m == nil {
		m = &member{id: id}
		g.members[id] = m
	}
	m.protocolType = r.ProtocolType
	m.subs = slices.Clone(r.Subscriptions)
	m.session = msOr(r.SessionTimeoutMs, 10*time.Second)
	m.rebalance = msOr(r.RebalanceTimeoutMs, 30*time.Second)
	m.lastSeen = now
	m.result = nil
	m.joinSeq++
	seq := m.joinSeq
	if g.rivvend {
		// rivvend: (re)joining replaces the member, disturbs a stable
		// group, and is answered at once with every member.
		m.assignment = nil
		if g.leader == "" {
			g.leader = id
		}
		g.rebalance(now)
		g.state = groupCompleting
		c.notifyLocked()
		return g.result(id, m)
	}
	g.rebalance(now)
	m.joined = true
	c.notifyLocked()
	m.waiting++
	defer func() { m.waiting--; m.lastSeen = time.Now() }()
	for {
		if m.joinSeq != seq {
			return errResp("JOIN_GROUP_FAILED: REBALANCE_IN_PROGRESS: superseded by a later JoinGroup of '%s'", id)
		}
		if m.result != nil {
			break
		}
		if g.members[id] != m {
			return errResp("JOIN_GROUP_FAILED: UNKNOWN_MEMBER_ID: '%s' left group '%s' while joining", id, r.GroupID)
		}
		if g.tryComplete(time.Now(), c.delay) {
			c.notifyLocked()
			continue
		}
		if !c.wait() {
			return errResp("JOIN_GROUP_FAILED: COORDINATOR_NOT_AVAILABLE: server closed")
		}
	}
	res := m.result
	m.result = nil
	return res
}

func msOr(ms uint32, def time.Duration) time.Duration {
	if ms == 0 {
		return def
	}
	return time.Duration(ms) * time.Millisecond
}

// lookup finds a group member or returns rivvend's error.
func (c *coordinator) lookup(prefix, groupID, id string) (*group, *member, wire.Response) {
	g := c.groups[groupID]
	if g == nil {
		return nil, nil, errResp("%s: UNKNOWN_GROUP: '%s'", prefix, groupID)
	}
	m := g.members[id]
	if m == nil {
		return nil, nil, errResp("%s: UNKNOWN_MEMBER_ID: '%s' in group '%s'", prefix, id, groupID)
	}
	return g, m, nil
}

func (c *coordinator) syncGroup(r *wire.SyncGroup) wire.Response {
	const prefix = "SYNC_GROUP_FAILED"
	c.mu.Lock()
	defer c.mu.Unlock()
	g, m, e := c.lookup(prefix, r.GroupID, r.MemberID)
	if e != nil {
		return e
	}
	m.lastSeen = time.Now()
	m.waiting++
	defer func() { m.waiting--; m.lastSeen = time.Now() }()
	for {
		switch {
		case g.members[r.MemberID] != m:
			return errResp("%s: UNKNOWN_MEMBER_ID: '%s' in group '%s'", prefix, r.MemberID, r.GroupID)
		case r.GenerationID != g.gen:
			return errResp("%s: ILLEGAL_GENERATION: expected %d, got %d", prefix, g.gen, r.GenerationID)
		case g.state == groupPreparing && !g.rivvend:
			return errResp("%s: REBALANCE_IN_PROGRESS: group '%s' is rebalancing", prefix, r.GroupID)
		case g.state == groupStable:
			return &wire.SyncGroupResult{Assignments: slices.Clone(m.assignment)}
		case g.leader == r.MemberID && len(r.Assignments) > 0:
			for _, a := range r.Assignments {
				if g.members[a.MemberID] == nil {
					return errResp("%s: INCONSISTENT_GROUP_PROTOCOL: assignment references unknown member '%s'", prefix, a.MemberID)
				}
			}
			for _, a := range r.Assignments {
				tps := slices.Clone(a.Topics)
				slices.SortFunc(tps, func(x, y wire.TopicPartitions) int { return cmp.Compare(x.Topic, y.Topic) })
				g.members[a.MemberID].assignment = tps
			}
			g.state = groupStable
			c.notifyLocked()
			continue
		}
		if !c.wait() {
			return errResp("%s: COORDINATOR_NOT_AVAILABLE: server closed", prefix)
		}
	}
}

func (c *coordinator) heartbeat(r *wire.Heartbeat) wire.Response {
	const prefix = "HEARTBEAT_FAILED"
	c.mu.Lock()
	defer c.mu.Unlock()
	g, m, e := c.lookup(prefix, r.GroupID, r.MemberID)
	if e != nil {
		return e
	}
	if r.GenerationID != g.gen {
		return errResp("%s: ILLEGAL_GENERATION: expected %d, got %d", prefix, g.gen, r.GenerationID)
	}
	m.lastSeen = time.Now()
	if g.state != groupStable {
		return &wire.HeartbeatResult{ErrorCode: wire.HeartbeatRebalanceInProgress}
	}
	return &wire.HeartbeatResult{ErrorCode: wire.HeartbeatOK}
}

func (c *coordinator) leaveGroup(r *wire.LeaveGroup) wire.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, _, e := c.lookup("LEAVE_GROUP_FAILED", r.GroupID, r.MemberID)
	if e != nil {
		return e
	}
	g.remove(r.MemberID, time.Now())
	c.notifyLocked()
	return &wire.LeaveGroupResult{}
}

// GroupState describes a consumer group of the coordinator, for tests.
type GroupState struct {
	Generation uint32
	Leader     string
	Stable     bool
	// Members maps member ids to their assignment (topic → partitions),
	// as of the last completed SyncGroup.
	Members map[string]map[string][]uint32
}

// Group returns a snapshot of a group (ok false if it never existed).
func (s *Server) Group(id string) (st GroupState, ok bool) {
	c := &s.groups
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[id]
	if g == nil {
		return GroupState{}, false
	}
	st = GroupState{Generation: g.gen, Leader: g.leader, Stable: g.state == groupStable, Members: map[string]map[string][]uint32{}}
	for mid, m := range g.members {
		a := map[string][]uint32{}
		for _, tp := range m.assignment {
			a[tp.Topic] = slices.Clone(tp.Partitions)
		}
		st.Members[mid] = a
	}
	return st, true
}

// ExpiredMembers counts the members expelled for a lapsed session.
func (s *Server) ExpiredMembers() uint64 {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	return s.groups.expired
}
