package runtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ClusterStatusStream is the stream of the records a node publishes to
// the cluster topic, one per (node, pipeline) and moment, with
// ClusterStatusSchema: the node, the pipeline, its role there (leader,
// standby or stopped), the lease epoch it leads at (0 when it does
// not; a scalable pipeline's group generation), the pipeline's state and
// counters, when (at_ms, unix milliseconds), and the tasks of a scalable
// pipeline it runs ("0,3"; "" for none and for other modes), and how far
// behind it is: lag_ms, the event lag of the newest record read (-1 before
// any), and source_lag in source_lag_unit, the source's own measure (-1
// when it has none; see Lagger). Their row key is (node, pipeline).
const ClusterStatusStream = "rivven-connect-status"

// ClusterStatusSchema is the schema of ClusterStatusStream's records.
var ClusterStatusSchema = &Schema{Fields: []Field{
	{Name: "node", Type: Type{Kind: KindString}},
	{Name: "pipeline", Type: Type{Kind: KindString}},
	{Name: "role", Type: Type{Kind: KindString}},
	{Name: "epoch", Type: Type{Kind: KindInt}},
	{Name: "state", Type: Type{Kind: KindString}},
	{Name: "in", Type: Type{Kind: KindInt}},
	{Name: "out", Type: Type{Kind: KindInt}},
	{Name: "heartbeat_ms", Type: Type{Kind: KindInt}},
	{Name: "failure_timeout_ms", Type: Type{Kind: KindInt}},
	{Name: "at_ms", Type: Type{Kind: KindInt}},
	{Name: "tasks", Type: Type{Kind: KindString}},
	{Name: "lag_ms", Type: Type{Kind: KindInt}},
	{Name: "source_lag", Type: Type{Kind: KindInt}},
	{Name: "source_lag_unit", Type: Type{Kind: KindString}},
}, Key: []int{0, 1}}

// Roles of a node in a singleton pipeline, as published.
const (
	RoleLeader  = "leader"
	RoleStandby = "standby"
	RoleMember  = "member" // a partitioned pipeline's: the group deals its share
	RoleStopped = "stopped"
)

// statusInterval is how often a node republishes its state: often
// enough that a reader can tell a silent node (older than the failure
// timeout) from a live one.
func statusInterval(c Cluster) time.Duration {
	return min(max(c.Heartbeat(), c.FailureTimeout()/3), 5*time.Second)
}

// statusPublisher publishes a singleton's state on this node to the
// cluster topic: at every change of role and every statusInterval. A
// failure to publish is logged (once per distinct error) and never stops
// the pipeline. The sink is the rivven sink check implies for the
// cluster topic: after a failed Open it is closed and opened again at the
// next attempt, which that sink allows.
type statusPublisher struct {
	p    *Pipeline
	c    Cluster
	sink Sink

	mu    sync.Mutex
	role  string
	epoch uint64
	tasks string

	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

// RunMember runs p (RunAbortable) on this node of its cluster as one of
// the members that share its work (mode partitioned: the source's
// consumer group deals the partitions), publishing the node's state to
// the cluster topic.
func (p *Pipeline) RunMember(ctx, abort context.Context) error {
	c, err := p.Settings.Cluster.named()
	if err != nil {
		return p.fail(fmt.Errorf("pipeline %q: %w", p.Name, err))
	}
	status := p.startStatus(c, RoleMember)
	defer status.stop(RoleStopped)
	return p.RunAbortable(ctx, abort)
}

// startStatus starts p's publisher in role; nil when p has no
// ClusterStatus.
func (p *Pipeline) startStatus(c Cluster, role string) *statusPublisher {
	if p.ClusterStatus == nil {
		return nil
	}
	s := &statusPublisher{p: p, c: c, sink: p.ClusterStatus, role: role,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// set records a change of role and publishes it soon.
func (s *statusPublisher) set(role string, epoch uint64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.role, s.epoch = role, epoch
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// lagMs is st's event lag in milliseconds, -1 when unknown.
func lagMs(st Status) int64 {
	if !st.HasEventLag {
		return -1
	}
	return st.EventLag.Milliseconds()
}

// sourceLag is st's source lag, -1 when the source has none.
func sourceLag(st Status) int64 {
	if !st.HasSourceLag {
		return -1
	}
	return int64(min(st.SourceLag, 1<<62))
}

// setTasks records the tasks a scalable pipeline runs on this node (with
// the next set).
func (s *statusPublisher) setTasks(tasks []int) {
	if s == nil {
		return
	}
	parts := make([]string, len(tasks))
	for i, t := range tasks {
		parts[i] = strconv.Itoa(t)
	}
	s.mu.Lock()
	s.tasks = strings.Join(parts, ",")
	s.mu.Unlock()
}

// stop publishes the final role and closes the sink.
func (s *statusPublisher) stop(role string) {
	if s == nil {
		return
	}
	s.setTasks(nil)
	s.set(role, 0)
	close(s.quit)
	<-s.done
}

func (s *statusPublisher) run() {
	defer close(s.done)
	every := statusInterval(s.c)
	t := time.NewTicker(every)
	defer t.Stop()
	opened := false
	var seq uint64
	var lastErr string
	log := s.p.logger().With("pipeline", s.p.Name, "cluster_topic", s.c.Topic)
	publish := func() {
		ctx, cancel := context.WithTimeout(context.Background(), every)
		defer cancel()
		if !opened {
			if err := s.sink.Open(ctx); err != nil {
				if msg := s.p.redact(err.Error()); msg != lastErr {
					lastErr = msg
					log.Warn("cannot publish this node's state to the cluster topic", "error", msg)
				}
				_ = s.sink.Close()
				return
			}
			opened = true
		}
		s.mu.Lock()
		role, epoch, tasks := s.role, s.epoch, s.tasks
		s.mu.Unlock()
		st := s.p.Status()
		seq++
		rec := Record{Stream: ClusterStatusStream, Op: OpInsert, Schema: ClusterStatusSchema, Time: time.Now(),
			Position: Position{Offset: seq},
			After: []Value{String(s.c.Node), String(s.p.Name), String(role), Int(int64(epoch)), String(st.State.String()),
				Int(int64(st.In)), Int(int64(st.Out)), Int(int64(s.c.HeartbeatMs)), Int(int64(s.c.FailureTimeoutMs)), Int(time.Now().UnixMilli()), String(tasks),
				Int(lagMs(st)), Int(sourceLag(st)), String(st.SourceLagUnit)}}
		if err := s.sink.Write(ctx, []Record{rec}); err != nil {
			if msg := s.p.redact(err.Error()); msg != lastErr {
				lastErr = msg
				log.Warn("cannot publish this node's state to the cluster topic", "error", msg)
			}
			return
		}
		lastErr = ""
	}
	if l, ok := s.sink.(Logged); ok {
		l.UseLogger(log)
	}
	for {
		select {
		case <-s.quit:
			publish()
			if opened {
				_ = s.sink.Close()
			}
			return
		case <-s.kick:
		case <-t.C:
		}
		publish()
	}
}
