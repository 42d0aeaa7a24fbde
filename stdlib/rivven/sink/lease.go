package sink

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/tasks"
)

// UseLease implements runtime.LeaseUser. Under a cluster singleton's
// lease the sink checks the lease before every Write, and its idempotent
// producers continue the producer ids of the lease's previous holders,
// recorded in the lease (one blob per topic, "producer:<topic>"): taking
// an id over bumps its epoch on the broker, which refuses every later
// publish of the previous holder (PRODUCER_FENCED), so a leader that was
// paused and resumes cannot publish what it still holds.
func (s *Sink) UseLease(l runtime.Lease) { s.lease = l }

// newProducer returns the idempotent producer of topic name.
func (s *Sink) newProducer(ctx context.Context, name string) (*client.IdempotentProducer, error) {
	if s.lease == nil {
		return s.cl.NewIdempotentProducer(ctx, name)
	}
	blob := s.lease.Blob("producer:" + name)
	v, ok, err := blob.Get()
	if err != nil {
		return nil, fmt.Errorf("the producer id of topic %q in the cluster (%s): %w", name, blob.Where(), err)
	}
	if ok {
		id, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the producer id of topic %q in the cluster (%s): %q is not a producer id", name, blob.Where(), v)
		}
		return s.cl.TakeOverIdempotentProducer(ctx, name, id)
	}
	p, err := s.cl.NewIdempotentProducer(ctx, name)
	if err != nil {
		return nil, err
	}
	id, _ := p.ProducerID()
	if err := blob.Put(strconv.AppendUint(nil, id, 10)); err != nil {
		return nil, fmt.Errorf("recording the producer id of topic %q in the cluster (%s): %w", name, blob.Where(), err)
	}
	return p, nil
}

// JoinTasks implements runtime.TaskCoordinator: the sink that publishes
// the cluster's status reaches the cluster's broker, through which the
// nodes share a scalable pipeline's tasks (package tasks). The group has
// a connection of its own.
func (s *Sink) JoinTasks(c runtime.Cluster, pipeline string, n int, log *slog.Logger) (runtime.TaskGroup, error) {
	return tasks.New(s.cfg.Broker, c, pipeline, n, log)
}
