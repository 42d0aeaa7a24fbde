package source

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Group timing for these tests: heartbeats every 50 ms, a session of 1 s
// (so a rebalance drains for at most 500 ms).
func groupConfig(addr string) Config {
	return Config{Broker: broker.Conn{BootstrapServers: []string{addr}}, Topics: []string{"t"}, ConsumerGroup: "g",
		MaxWaitMs: 20, SessionTimeoutMs: 1000, HeartbeatIntervalMs: 50, RebalanceTimeoutMs: 2000, Retry: runtime.DefaultRetry()}
}

// openGroup opens n members of one group at once (so they usually land in
// one generation).
func openGroup(t *testing.T, cfg Config, n int) []*Source {
	t.Helper()
	out := make([]*Source, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range out {
		s, err := New(cfg, testLog)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = s
		t.Cleanup(func() { s.Close() })
		wg.Go(func() { errs[i] = s.Open(context.Background()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// testLog receives the members' logs (set to os.Stderr to debug).
var testLog io.Writer

// rec identifies a published record: partition and value.
type rec struct{ p, v int }

func parse(t testing.TB, r runtime.Record) rec {
	var x rec
	if _, err := fmt.Sscanf(row(r), `{"v":%d,"p":%d}`, &x.v, &x.p); err != nil {
		t.Errorf("record %s: %v", row(r), err)
	}
	return x
}

// collector gathers what consumer loops read, by member.
type collector struct {
	mu   sync.Mutex
	seen map[rec][]int // record → members that read it, in order
	n    int
}

func (c *collector) add(member int, r rec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[rec][]int{}
	}
	c.seen[r] = append(c.seen[r], member)
	c.n++
}

func (c *collector) waitFor(t *testing.T, distinct int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.seen)
		c.mu.Unlock()
		if n >= distinct {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %d distinct records, want %d", n, distinct)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// check: every record of parts×perPart seen exactly once; returns the
// partitions each member read.
func (c *collector) exactlyOnce(t *testing.T, parts, perPart int) map[int][]int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	byMember := map[int][]int{}
	for p := range parts {
		for v := range perPart {
			ms := c.seen[rec{p, v}]
			if len(ms) != 1 {
				t.Errorf("record p%d v%d read %d times (members %v)", p, v, len(ms), ms)
				continue
			}
			if !slices.Contains(byMember[ms[0]], p) {
				byMember[ms[0]] = append(byMember[ms[0]], p)
			}
		}
	}
	if len(c.seen) != parts*perPart {
		t.Errorf("saw %d distinct records, want %d", len(c.seen), parts*perPart)
	}
	return byMember
}

// loop reads and acknowledges at once, as a pipeline with a fast sink
// would, until ctx ends.
func loop(ctx context.Context, t *testing.T, s *Source, member int, c *collector) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		batch := make([]runtime.Record, 7)
		for {
			n, err := s.Read(ctx, batch)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("member %d: %v", member, err)
				}
				return
			}
			for _, r := range batch[:n] {
				c.add(member, parse(t, r))
			}
			if n > 0 {
				if err := s.Ack(ctx, batch[n-1].Position); err != nil && ctx.Err() == nil {
					t.Errorf("member %d: ack: %v", member, err)
				}
			}
		}
	})
	return &wg
}

func createTopic(t *testing.T, c *client.Client, parts uint32) {
	t.Helper()
	if _, err := c.CreateTopic(context.Background(), "t", parts); err != nil {
		t.Fatal(err)
	}
}

// owned returns the partitions of topic t a member owns (sorted).
func owned(s *Source) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, p := range s.parts {
		out = append(out, int(p.id))
	}
	return out
}

// settle waits until no member is rebalancing and together they own total
// partitions.
func settle(t *testing.T, total int, ms ...*Source) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, busy := 0, false
		for _, s := range ms {
			s.mu.Lock()
			n += len(s.parts)
			busy = busy || s.paused
			s.mu.Unlock()
		}
		if n == total && !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members own %d partitions (busy %v), want %d", n, busy, total)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// timings runs f against a broker with each of brokertest's group
// timings: Kafka's join barrier and rivvend 0.0.22's immediate joins.
func timings(t *testing.T, f func(t *testing.T, b *brokertest.Server, c *client.Client)) {
	for _, rivvend := range []bool{false, true} {
		name := "join-barrier"
		if rivvend {
			name = "rivvend"
		}
		t.Run(name, func(t *testing.T) {
			b, err := brokertest.Start(brokertest.Config{RivvendGroupTiming: rivvend})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			c, err := client.New(client.Config{BootstrapServers: []string{b.Addr()}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			f(t, b, c)
		})
	}
}

// TestGroupSplit: two members split the four partitions, no overlap, and
// together read every record exactly once.
func TestGroupSplit(t *testing.T) {
	timings(t, func(t *testing.T, b *brokertest.Server, c *client.Client) {
		createTopic(t, c, 4)
		for p := range uint32(4) {
			publish(t, c, "t", p, 0, 50)
		}
		ms := openGroup(t, groupConfig(b.Addr()), 2)
		settle(t, 4, ms...)
		a0, a1 := owned(ms[0]), owned(ms[1])
		if len(a0) != 2 || len(a1) != 2 {
			t.Fatalf("assignments %v and %v, want two partitions each", a0, a1)
		}
		var col collector
		ctx, cancel := context.WithCancel(context.Background())
		w0, w1 := loop(ctx, t, ms[0], 0, &col), loop(ctx, t, ms[1], 1, &col)
		col.waitFor(t, 200)
		time.Sleep(100 * time.Millisecond) // a duplicate would show up now
		cancel()
		w0.Wait()
		w1.Wait()
		by := col.exactlyOnce(t, 4, 50)
		slices.Sort(by[0])
		slices.Sort(by[1])
		if !slices.Equal(by[0], a0) || !slices.Equal(by[1], a1) {
			t.Fatalf("member 0 read %v (assigned %v), member 1 read %v (assigned %v)", by[0], a0, by[1], a1)
		}
		st, _ := b.Group("g")
		if len(st.Members) != 2 || !st.Stable {
			t.Fatalf("group %+v", st)
		}
		for p := range uint32(4) {
			if got := committed(t, c, "g", "t", p); got != 50 {
				t.Errorf("partition %d committed %d, want 50", p, got)
			}
		}
	})
}

// TestGroupThirdMemberJoins: a third member joins while two consume and
// records keep arriving; the rebalance loses nothing, and since every
// record handed out is acknowledged at once, the drain lets it duplicate
// nothing either.
func TestGroupThirdMemberJoins(t *testing.T) {
	timings(t, func(t *testing.T, b *brokertest.Server, c *client.Client) {
		createTopic(t, c, 4)
		const per = 150
		cfg := groupConfig(b.Addr())
		ms := openGroup(t, cfg, 2)
		settle(t, 4, ms...)
		var col collector
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ws := []*sync.WaitGroup{loop(ctx, t, ms[0], 0, &col), loop(ctx, t, ms[1], 1, &col)}
		var pub sync.WaitGroup
		pub.Go(func() {
			for i := 0; i < per; i += 5 {
				for p := range uint32(4) {
					publish(t, c, "t", p, i, 5)
				}
				time.Sleep(3 * time.Millisecond)
			}
		})
		col.waitFor(t, 100)
		third := openGroup(t, cfg, 1)[0]
		ws = append(ws, loop(ctx, t, third, 2, &col))
		pub.Wait()
		col.waitFor(t, 4*per)
		time.Sleep(100 * time.Millisecond)
		cancel()
		for _, w := range ws {
			w.Wait()
		}
		col.exactlyOnce(t, 4, per)
		st, _ := b.Group("g")
		if len(st.Members) != 3 || !st.Stable {
			t.Fatalf("group %+v", st)
		}
		if n := len(owned(third)); n == 0 {
			t.Fatal("the third member got no partition")
		}
		col.mu.Lock()
		defer col.mu.Unlock()
		thirdRead := 0
		for _, m := range col.seen {
			if m[0] == 2 {
				thirdRead++
			}
		}
		if thirdRead == 0 {
			t.Fatal("the third member read nothing")
		}
	})
}

// TestGroupDrainTimeout: a member with unacknowledged records at a
// rebalance waits, gives up, commits only the acknowledged prefix; the new
// owner of a partition re-reads exactly its unacknowledged records, and
// acknowledging them late on the old member commits nothing; partitions the
// old member keeps carry on without re-reading.
func TestGroupDrainTimeout(t *testing.T) {
	timings(t, func(t *testing.T, b *brokertest.Server, c *client.Client) {
		createTopic(t, c, 4)
		for p := range uint32(4) {
			publish(t, c, "t", p, 0, 10)
		}
		cfg := groupConfig(b.Addr())
		a := openGroup(t, cfg, 1)[0]
		rs := readN(t, a, 40)
		ackedPrefix := map[int]int{} // partition → records acknowledged
		for _, r := range rs {
			if r.Position.Offset <= 19 {
				ackedPrefix[parse(t, r).p]++
			}
		}
		if err := a.Ack(context.Background(), runtime.Position{Offset: 19}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		bm := openGroup(t, cfg, 1)[0] // returns once a has given up waiting
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Fatalf("the rebalance took %v: the old member did not wait for its acknowledgements", d)
		}
		settle(t, 4, a, bm)
		kept, moved := owned(a), owned(bm)
		if len(kept) != 2 || len(moved) != 2 {
			t.Fatalf("assignments %v and %v", kept, moved)
		}
		for _, p := range moved {
			if got := committed(t, c, "g", "t", uint32(p)); got != uint64(ackedPrefix[p]) {
				t.Fatalf("moved partition %d committed %d, want the acknowledged prefix %d", p, got, ackedPrefix[p])
			}
		}
		// The new owner reads the moved partitions from the acknowledged prefix.
		want := 0
		for _, p := range moved {
			want += 10 - ackedPrefix[p]
		}
		got := map[rec]bool{}
		for _, r := range readN(t, bm, want) {
			x := parse(t, r)
			if !slices.Contains(moved, x.p) || x.v < ackedPrefix[x.p] || got[x] {
				t.Fatalf("new owner read p%d v%d", x.p, x.v)
			}
			got[x] = true
		}
		// A late acknowledgement on the old member commits its kept
		// partitions, never the moved ones.
		if err := a.Ack(context.Background(), runtime.Position{Offset: 39}); err != nil {
			t.Fatal(err)
		}
		for p := range 4 {
			want := uint64(10)
			if slices.Contains(moved, p) {
				want = uint64(ackedPrefix[p])
			}
			if got := committed(t, c, "g", "t", uint32(p)); got != want {
				t.Errorf("partition %d committed %d, want %d", p, got, want)
			}
		}
		// The old member carries on with its kept partitions, numbering on.
		for p := range uint32(4) {
			publish(t, c, "t", p, 10, 1)
		}
		for i, r := range readN(t, a, 2) {
			x := parse(t, r)
			if !slices.Contains(kept, x.p) || x.v != 10 || r.Position.Offset != uint64(40+i) {
				t.Fatalf("old member read p%d v%d at %d", x.p, x.v, r.Position.Offset)
			}
		}
	})
}

// takeOver: after member 0 stops (how is up to stop), member 1 owns every
// partition and reads exactly its own unread records plus member 0's
// unacknowledged ones.
func takeOver(t *testing.T, b *brokertest.Server, c *client.Client, cfg Config, stop func(*Source)) {
	createTopic(t, c, 4)
	for p := range uint32(4) {
		publish(t, c, "t", p, 0, 10)
	}
	ms := openGroup(t, cfg, 2)
	settle(t, 4, ms...)
	first, second := ms[0], ms[1]
	mine := owned(first)
	rs := readN(t, first, 20)
	if err := first.Ack(context.Background(), runtime.Position{Offset: rs[9].Position.Offset}); err != nil {
		t.Fatal(err)
	}
	want := map[rec]bool{}
	for _, r := range rs[10:] {
		want[parse(t, r)] = true
	}
	for _, p := range owned(second) {
		for v := range 10 {
			want[rec{p, v}] = true
		}
	}
	stop(first)
	for _, r := range readN(t, second, len(want)) {
		x := parse(t, r)
		if !want[x] {
			t.Fatalf("read p%d v%d: not expected (or twice)", x.p, x.v)
		}
		delete(want, x)
	}
	if got := owned(second); len(got) != 4 {
		t.Fatalf("second member owns %v after the first left (first owned %v)", got, mine)
	}
}

// TestGroupLeave: a member that closes (LeaveGroup) hands its partitions
// over from its committed offsets.
func TestGroupLeave(t *testing.T) {
	timings(t, func(t *testing.T, b *brokertest.Server, c *client.Client) {
		takeOver(t, b, c, groupConfig(b.Addr()), func(s *Source) {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
		if n := b.ExpiredMembers(); n != 0 {
			t.Fatalf("%d members expired; want a clean leave", n)
		}
	})
}

// TestGroupExpiry: a member that stops heartbeating (a hung process) is
// expelled after the session timeout and its partitions reassigned from its
// committed offsets; closing it later commits nothing.
func TestGroupExpiry(t *testing.T) {
	timings(t, func(t *testing.T, b *brokertest.Server, c *client.Client) {
		cfg := groupConfig(b.Addr())
		cfg.SessionTimeoutMs = 400
		var hung *Source
		start := time.Now()
		takeOver(t, b, c, cfg, func(s *Source) {
			hung = s
			s.grp.frozen.Store(true)
		})
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Fatalf("taken over after %v, before the session timeout", d)
		}
		if n := b.ExpiredMembers(); n != 1 {
			t.Fatalf("%d members expired, want 1", n)
		}
		before := map[uint32]uint64{}
		for p := range uint32(4) {
			before[p] = committed(t, c, "g", "t", p)
		}
		hung.mu.Lock()
		for _, p := range hung.parts {
			p.acked = p.committed + 5 // as if acknowledged, to show Close does not commit them
		}
		hung.mu.Unlock()
		if err := hung.Close(); err != nil {
			t.Fatal(err)
		}
		for p := range uint32(4) {
			if got := committed(t, c, "g", "t", p); got != before[p] {
				t.Errorf("partition %d: the expelled member committed %d over %d", p, got, before[p])
			}
		}
	})
}

// TestAssign: round-robin over every (topic, partition), members by id,
// skipping members that do not subscribe to a topic.
func TestAssign(t *testing.T) {
	got := assign([]wire.GroupMember{
		{MemberID: "m2", Subscriptions: []string{"a", "b"}},
		{MemberID: "m1", Subscriptions: []string{"a"}},
		{MemberID: "m3", Subscriptions: []string{"a", "b"}},
	}, map[string]uint32{"b": 3, "a": 4})
	want := []wire.MemberAssignment{
		{MemberID: "m1", Topics: []wire.TopicPartitions{{Topic: "a", Partitions: []uint32{0, 3}}}},
		{MemberID: "m2", Topics: []wire.TopicPartitions{{Topic: "a", Partitions: []uint32{1}}, {Topic: "b", Partitions: []uint32{0, 2}}}},
		{MemberID: "m3", Topics: []wire.TopicPartitions{{Topic: "a", Partitions: []uint32{2}}, {Topic: "b", Partitions: []uint32{1}}}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

// TestGroupConnectionDrops: a lost SyncGroup reply and dropped heartbeat
// connections are retried; the members still split the partitions and read
// every record exactly once.
func TestGroupConnectionDrops(t *testing.T) {
	timings(t, func(t *testing.T, b *brokertest.Server, c *client.Client) {
		createTopic(t, c, 4)
		for p := range uint32(4) {
			publish(t, c, "t", p, 0, 50)
		}
		syncDrop := brokertest.DropAfter(wire.KindSyncGroup, 1, brokertest.DropAfterHandling)
		beat := brokertest.DropAfter(wire.KindHeartbeat, 2, brokertest.DropBeforeHandling)
		b.SetFault(func(ri brokertest.RequestInfo) brokertest.Fault {
			if f := syncDrop(ri); f.Action != brokertest.Proceed {
				return f
			}
			return beat(ri)
		})
		ms := openGroup(t, groupConfig(b.Addr()), 2)
		settle(t, 4, ms...)
		var col collector
		ctx, cancel := context.WithCancel(context.Background())
		w0, w1 := loop(ctx, t, ms[0], 0, &col), loop(ctx, t, ms[1], 1, &col)
		col.waitFor(t, 200)
		time.Sleep(200 * time.Millisecond) // several heartbeats, one of them dropped
		cancel()
		w0.Wait()
		w1.Wait()
		col.exactlyOnce(t, 4, 50)
		if st, _ := b.Group("g"); len(st.Members) != 2 {
			t.Fatalf("group %+v", st)
		}
	})
}
