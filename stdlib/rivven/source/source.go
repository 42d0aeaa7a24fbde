// Package source is the broker-topic source: it consumes topics of a
// Rivven broker (rivvend) as a consumer group and turns the messages back
// into records (see decoder for the formats it reads).
//
// # Consumer group
//
// Sources with the same Config.ConsumerGroup share the partitions of their
// topics through rivvend's group protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup; see group.go for the details): each partition is read by one
// member at a time, and members joining, leaving (Close) or falling silent
// for Config.SessionTimeoutMs move partitions between them. The leader
// assigns round-robin over every partition of every subscribed topic.
// A partition starts at the group's committed offset, else at
// Config.StartOffset ("earliest", the default; "latest"; or "timestamp":
// the first record at or after Config.StartTimestamp), and that start is
// committed at once, so a restart before the first acknowledgement resumes
// there. The leader re-reads the topics' partition counts every 30 s (and
// looks for missing topics sooner) and rebalances when they change.
//
// # Positions
//
// The runtime wants one increasing Position per source, but a broker
// position is a (topic, partition, offset) triple and partitions advance
// independently. So the Source numbers the records it returns itself —
// consecutive Position.Offsets in the order Read returns them, whichever
// partition they come from, and across rebalances — and keeps a queue from
// that number to the record's (partition, offset). Numbering starts at the
// sum of the start offsets of the partitions assigned at Open: with dense
// offsets and a single member that is the number of records the group has
// consumed, so positions carry on across restarts (and equal the broker
// offsets of a single-partition topic read from its beginning). Ack(pos)
// pops every entry up to pos; since the runtime acknowledges a contiguous
// prefix of positions and each partition's records enter the queue in
// offset order, the entries popped for one partition are a prefix of what
// was read from it, and the next offset to read after the last of them is
// committed for that partition — but only while this member owns the
// partition: an entry of a partition that a rebalance took away is popped
// and ignored (its record is read again by the new owner, from the offset
// this member committed when it gave the partition up). A crash replays
// what was not acknowledged and never skips a record. The broker's
// committed offsets are the only state: the Source is not
// runtime.Resumable.
//
// Reading: partitions are read round-robin, at most one Consume per
// partition per pass; when a pass finds nothing, one partition is long
// polled (Config.MaxWaitMs, or at most 200 ms when there are several
// partitions, so that none waits long behind another).
//
// A topic that does not exist yet is waited for (looked up again after 50
// ms, doubling up to every 2 s), unless Config.RequireTopicExists.
//
// Errors: retriable broker errors (lost connections, timeouts, throttling)
// are retried with the backoff of Config.Retry (settings.retry); a
// committed offset that retention removed restarts the partition at its
// earliest offset, with a warning. A failed commit is retried at the next
// Ack and at Close.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Config is the source's plain-data config.
type Config struct {
	// Broker is the connection, from the config block's connection keys
	// (or the top-level broker section); not a key of its own.
	Broker broker.Conn `json:"-"`
	// Topics to consume, all partitions of each.
	Topics []string `json:"topics"`
	// ConsumerGroup names the group whose members share the partitions,
	// and its committed offsets.
	ConsumerGroup string `json:"consumer_group"`
	// StartOffset applies to partitions without a committed offset:
	// "earliest" (default), "latest" or "timestamp" (from the key
	// start_offset, a string or {timestamp}).
	StartOffset string `json:"-"`
	// StartTimestamp is an RFC 3339 time, with StartOffset "timestamp".
	StartTimestamp string `json:"-"`
	// RequireTopicExists fails Open when a topic does not exist; otherwise
	// the Source waits for it to appear.
	RequireTopicExists bool `json:"require_topic_exists"`
	// MaxWaitMs is the long-poll wait; 0 = 1000, at most 30 000.
	MaxWaitMs int `json:"max_wait_ms"`
	// SessionTimeoutMs: a member whose heartbeats stop for this long is
	// expelled from the group and its partitions reassigned; 0 = 10 000
	// (rivvend's default).
	SessionTimeoutMs int `json:"session_timeout_ms"`
	// HeartbeatIntervalMs is the time between heartbeats, below half the
	// session timeout; 0 = 3 000, or a third of the session timeout if less.
	HeartbeatIntervalMs int `json:"heartbeat_interval_ms"`
	// RebalanceTimeoutMs is how long the group waits for its members to
	// rejoin in a rebalance; 0 = 30 000 (rivvend's default).
	RebalanceTimeoutMs int `json:"rebalance_timeout_ms"`
	// Retry is the backoff for retriable broker errors (settings.retry),
	// taken as it is: the zero Retry makes no retries. A checked config
	// gives the retry settings' values or defaults (runtime.DefaultRetry).
	Retry runtime.Retry `json:"-"`
}

const (
	metadataEvery = 30 * time.Second
	pendingFirst  = 50 * time.Millisecond // first re-check of a missing topic, doubling…
	pendingMax    = 2 * time.Second       // …up to this
	commitOnClose = 5 * time.Second
)

// Source consumes broker topics. Read and Ack may run concurrently (as the
// runtime does); Open and Close must not overlap them. A goroutine started
// by Open keeps the group membership (heartbeats, rebalances) until Close.
type Source struct {
	cfg   Config
	start time.Time
	logw  io.Writer
	log   *slog.Logger
	cl    *broker.Client
	link  atomic.Pointer[client.Client] // cl for BrokerConnected (other goroutines)
	dec   decoder

	// read side (the Read goroutine)
	rparts []*partition // copy of parts as of repoch
	repoch uint64
	cursor int

	grp member // the membership goroutine's state

	cmu sync.Mutex // serializes commits (Ack, rebalance, Close)

	mu     sync.Mutex // guards what follows and partition ack/commit state
	parts  []*partition
	epoch  uint64        // bumped with every change of parts or paused
	paused bool          // a rebalance is running: no reads, no commits
	wake   chan struct{} // closed and replaced when parts or paused change
	ackCh  chan struct{} // closed and replaced by every Ack
	fatal  error         // the membership failed; Read returns it
	next   uint64        // Position.Offset of the next record Read returns
	head   uint64        // position of queue[qi]
	queue  []ackEntry
	qi     int
}

type partition struct {
	topic string
	id    uint32
	next  uint64 // next offset to read (Read goroutine; set under mu)

	acked     uint64 // next offset after the acknowledged prefix (under mu)
	committed uint64 // last offset committed (under mu)
	revoked   bool   // no longer assigned to this member (under mu)
}

type ackEntry struct {
	p   *partition
	off uint64
}

// New checks cfg; it does not connect (Open does). Warnings go to log.
func New(cfg Config, log io.Writer) (*Source, error) {
	if err := cfg.Broker.Validate(); err != nil {
		return nil, fmt.Errorf("broker-topic source: %w", err)
	}
	if len(cfg.Topics) == 0 {
		return nil, errors.New("broker-topic source: no topics")
	}
	for _, t := range cfg.Topics {
		if err := broker.ValidateTopic(t); err != nil {
			return nil, fmt.Errorf("broker-topic source: %w", err)
		}
	}
	if cfg.ConsumerGroup == "" {
		return nil, errors.New("broker-topic source: no consumer group")
	}
	s := &Source{cfg: cfg, logw: log, wake: make(chan struct{}), ackCh: make(chan struct{})}
	switch cfg.StartOffset {
	case "", "earliest", "latest":
	case "timestamp":
		t, err := time.Parse(time.RFC3339Nano, cfg.StartTimestamp)
		if err != nil {
			return nil, fmt.Errorf("broker-topic source: start_offset timestamp %q is not an RFC 3339 time", cfg.StartTimestamp)
		}
		s.start = t
	default:
		return nil, fmt.Errorf("broker-topic source: unknown start_offset %q (valid: earliest, latest, {timestamp: RFC3339})", cfg.StartOffset)
	}
	if cfg.MaxWaitMs < 0 || cfg.MaxWaitMs > wire.MaxWaitMsLimit {
		return nil, fmt.Errorf("broker-topic source: max wait %d ms is out of range 0..%d", cfg.MaxWaitMs, wire.MaxWaitMsLimit)
	}
	if err := s.grp.init(cfg); err != nil {
		return nil, fmt.Errorf("broker-topic source: %w", err)
	}
	if log == nil {
		log = io.Discard
	}
	s.log = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return s, nil
}

// Open connects (failing fast when no bootstrap server answers), joins the
// consumer group and looks up the start offsets of the partitions it was
// assigned.
func (s *Source) Open(ctx context.Context) error {
	cl, err := broker.Connect(ctx, s.cfg.Broker, broker.Options{Log: s.logw})
	if err != nil {
		return err
	}
	s.cl = cl
	s.link.Store(cl.Client)
	// Group requests get their own connection: a JoinGroup or SyncGroup
	// may wait for the other members, and a heartbeat must not queue
	// behind a long poll.
	gcl, err := broker.Connect(ctx, s.cfg.Broker, broker.Options{Log: s.logw, PoolSize: 1})
	if err != nil {
		return err
	}
	s.grp.cl = gcl
	if s.cfg.RequireTopicExists {
		for _, t := range s.cfg.Topics {
			err := s.retry(ctx, "look up topics", func() error {
				_, err := s.cl.GetMetadata(ctx, t)
				return err
			})
			if errors.Is(err, client.ErrUnknownTopic) {
				return fmt.Errorf("topic %q does not exist (settings.topic.require_topic_exists is set)", t)
			}
			if err != nil {
				return fmt.Errorf("topic %q: %w", t, err)
			}
		}
	}
	if err := s.join(ctx); err != nil {
		return fmt.Errorf("join consumer group %q: %w", s.cfg.ConsumerGroup, err)
	}
	// Number records from the sum of the partitions' start offsets: the
	// records the group consumed so far, when offsets are dense.
	var base uint64
	s.mu.Lock()
	for _, p := range s.parts {
		base += p.next
	}
	s.next, s.head = base, base
	s.mu.Unlock()
	s.startMembership()
	return nil
}

// Close stops the membership, commits what was acknowledged and not yet
// committed (unless the membership lapsed: the partitions may belong to
// another member by now), leaves the group and closes the connections.
func (s *Source) Close() error {
	if s.cl == nil {
		return nil
	}
	s.stopMembership()
	ctx, cancel := context.WithTimeout(context.Background(), commitOnClose)
	defer cancel()
	var err error
	if s.grp.owns() {
		s.pause()
		err = s.commitRetrying(ctx)
	} else if s.grp.id != "" {
		s.log.Warn("rivven: consumer group membership lapsed; not committing on close",
			"group", s.cfg.ConsumerGroup, "member", s.grp.id)
	}
	if s.grp.cl != nil {
		if s.grp.id != "" {
			if lerr := s.grp.cl.LeaveGroup(ctx, s.cfg.ConsumerGroup, s.grp.id); lerr != nil {
				s.log.Warn("rivven: leave consumer group failed", "group", s.cfg.ConsumerGroup, "member", s.grp.id, "error", lerr.Error())
			}
		}
		s.grp.cl.Close()
	}
	s.cl.Close()
	s.cl, s.grp.cl, s.grp.id = nil, nil, ""
	if err != nil {
		return fmt.Errorf("commit offsets of group %q: %w", s.cfg.ConsumerGroup, err)
	}
	return nil
}

// commitRetrying commits, retrying retriable errors until ctx ends.
// Committing an offset again is harmless, so a commit whose reply was lost
// (a dropped connection) is simply sent again.
func (s *Source) commitRetrying(ctx context.Context) error {
	err := s.commit(ctx, true)
	for wait := 20 * time.Millisecond; err != nil && client.IsRetriable(err) && ctx.Err() == nil; wait = min(2*wait, 500*time.Millisecond) {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		err = s.commit(ctx, true)
	}
	return err
}

// startOffset sets p's first offset: the committed one, else start_offset
// (which is then committed).
func (s *Source) startOffset(ctx context.Context, p *partition) error {
	g := s.cfg.ConsumerGroup
	off, ok, err := s.cl.GetOffset(ctx, g, p.topic, p.id)
	if err != nil {
		return fmt.Errorf("committed offset of group %q on %s/%d: %w", g, p.topic, p.id, err)
	}
	if !ok {
		earliest, latest, err := s.cl.GetOffsetBounds(ctx, p.topic, p.id)
		if err != nil {
			return fmt.Errorf("offsets of %s/%d: %w", p.topic, p.id, err)
		}
		switch s.cfg.StartOffset {
		case "latest":
			off = latest
		case "timestamp":
			o, found, err := s.cl.GetOffsetForTimestamp(ctx, p.topic, p.id, s.start)
			if err != nil {
				return fmt.Errorf("offset for %s of %s/%d: %w", s.cfg.StartTimestamp, p.topic, p.id, err)
			}
			off = latest
			if found {
				off = o
			}
		default:
			off = earliest
		}
		if err := s.cl.CommitOffset(ctx, g, p.topic, p.id, off); err != nil {
			return fmt.Errorf("commit start offset of group %q on %s/%d: %w", g, p.topic, p.id, err)
		}
	}
	p.next, p.acked, p.committed = off, off, off
	return nil
}

// Read returns the next records of the partitions this member owns,
// blocking until there is at least one or ctx ends. During a rebalance it
// waits.
func (s *Source) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s.mu.Lock()
		if s.fatal != nil {
			err := s.fatal
			s.mu.Unlock()
			return 0, err
		}
		if s.repoch != s.epoch {
			s.rparts = append(s.rparts[:0], s.parts...)
			s.repoch = s.epoch
			s.cursor = 0
		}
		paused, wake := s.paused, s.wake
		s.mu.Unlock()
		if paused || len(s.rparts) == 0 {
			select {
			case <-wake:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			continue
		}
		parts := s.rparts
		n := 0
		if len(parts) > 1 {
			for i := 0; i < len(parts) && n < len(batch); i++ {
				p := parts[(s.cursor+i)%len(parts)]
				k, err := s.consume(ctx, p, batch[n:], 0)
				if err != nil {
					return n, err
				}
				n += k
			}
			s.cursor = (s.cursor + 1) % len(parts)
			if n > 0 {
				return n, nil
			}
		}
		wait := time.Duration(s.cfg.MaxWaitMs) * time.Millisecond
		if wait == 0 {
			wait = time.Second
		}
		if len(parts) > 1 {
			wait = min(wait, 200*time.Millisecond)
		}
		n, err := s.consume(ctx, parts[s.cursor], batch, wait)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// consume reads up to len(dst) records of p into dst. Records that arrive
// after a rebalance paused reading, or after p was revoked, are dropped
// unread (p.next stays, so nothing is skipped).
func (s *Source) consume(ctx context.Context, p *partition, dst []runtime.Record, wait time.Duration) (int, error) {
	var msgs []wire.MessageData
	err := s.retry(ctx, "consume "+p.topic, func() error {
		var err error
		msgs, err = s.cl.Consume(ctx, p.topic, p.id, p.next, client.ConsumeOptions{
			MaxMessages: uint32(min(len(dst), 10_000)), MaxWait: wait,
		})
		if client.CodeOf(err) == client.CodeOffsetOutOfRange {
			earliest, latest, berr := s.cl.GetOffsetBounds(ctx, p.topic, p.id)
			if berr != nil {
				return berr
			}
			s.log.Warn("rivven: offset out of range; restarting the partition at its earliest offset",
				"topic", p.topic, "partition", p.id, "offset", p.next, "earliest", earliest, "latest", latest)
			s.mu.Lock()
			p.next = earliest
			s.mu.Unlock()
			return runtime.Retriable(err)
		}
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("consume %s/%d at offset %d: %w", p.topic, p.id, p.next, err)
	}
	n := min(len(msgs), len(dst))
	if n == 0 {
		return 0, nil
	}
	for i := range msgs[:n] {
		s.dec.decode(&dst[i], p.topic, &msgs[i])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused || p.revoked {
		return 0, nil
	}
	for i := range msgs[:n] {
		dst[i].Position = runtime.Position{Offset: s.next}
		s.next++
		s.queue = append(s.queue, ackEntry{p: p, off: msgs[i].Offset})
	}
	p.next = msgs[n-1].Offset + 1
	return n, nil
}

// Ack commits, per owned partition, the offset after the acknowledged
// prefix. Entries of revoked partitions are popped without effect.
func (s *Source) Ack(ctx context.Context, pos runtime.Position) error {
	s.mu.Lock()
	for s.qi < len(s.queue) && s.head <= pos.Offset {
		e := s.queue[s.qi]
		if !e.p.revoked {
			e.p.acked = e.off + 1
		}
		s.queue[s.qi] = ackEntry{}
		s.qi++
		s.head++
	}
	if s.qi > 1024 && s.qi*2 > len(s.queue) {
		s.queue = append(s.queue[:0], s.queue[s.qi:]...)
		s.qi = 0
	}
	close(s.ackCh)
	s.ackCh = make(chan struct{})
	s.mu.Unlock()
	err := s.commit(ctx, false)
	if err != nil && client.IsRetriable(err) && ctx.Err() == nil {
		// The offsets stay acknowledged: the next Ack (or Close) commits
		// them; a crash before then only replays.
		s.log.Warn("rivven: commit failed; will retry", "group", s.cfg.ConsumerGroup, "error", err.Error())
		return nil
	}
	return err
}

// commit commits every owned partition whose acknowledged offset moved.
// During a rebalance only the rebalance itself commits (rebalancing set).
func (s *Source) commit(ctx context.Context, rebalancing bool) error {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.mu.Lock()
	if s.paused && !rebalancing {
		s.mu.Unlock()
		return nil
	}
	var todo []*partition
	for _, p := range s.parts {
		if p.acked > p.committed {
			todo = append(todo, p)
		}
	}
	offs := make([]uint64, len(todo))
	for i, p := range todo {
		offs[i] = p.acked
	}
	s.mu.Unlock()
	var errs []error
	for i, p := range todo {
		if err := s.cl.CommitOffset(ctx, s.cfg.ConsumerGroup, p.topic, p.id, offs[i]); err != nil {
			errs = append(errs, fmt.Errorf("%s/%d offset %d: %w", p.topic, p.id, offs[i], err))
			continue
		}
		s.mu.Lock()
		p.committed = max(p.committed, offs[i])
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// retry runs f, retrying retriable errors with the backoff of Config.Retry
// (MaxRetries 0: none).
func (s *Source) retry(ctx context.Context, what string, f func() error) error {
	limit := max(s.cfg.Retry.MaxRetries, 0)
	for n := 0; ; n++ {
		err := f()
		if err == nil || !runtime.IsRetriable(err) || n >= limit || ctx.Err() != nil {
			if err != nil && n > 0 {
				err = fmt.Errorf("%w (after %d retries)", err, n)
			}
			return err
		}
		wait := s.cfg.Retry.Backoff(n)
		s.log.Warn("rivven: "+what+" failed; retrying", "retry", n+1, "of", limit, "backoff", wait,
			"error", strings.TrimPrefix(err.Error(), "rivven: "))
		if err := runtime.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// BrokerConnected implements runtime.BrokerLink.
func (s *Source) BrokerConnected() bool {
	cl := s.link.Load()
	return cl != nil && cl.Connected()
}

// Probe implements runtime.Prober: the broker's version and whether each
// topic exists (a missing one is waited for unless require_topic_exists).
func (s *Source) Probe(ctx context.Context) ([]runtime.Finding, error) {
	topics := make([]broker.TopicPlan, len(s.cfg.Topics))
	for i, t := range s.cfg.Topics {
		topics[i] = broker.TopicPlan{Name: t, Wait: !s.cfg.RequireTopicExists}
	}
	return broker.Probe(ctx, s.cfg.Broker, topics)
}
