package sink

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
)

// UseLease implements runtime.LeaseUser. Under a cluster singleton's
// lease the sink checks the lease before every Write, and its idempotent
// producers continue the producer ids of the lease's previous holders,
// recorded in the lease's "producers" blob: taking an id over bumps its
// epoch on the broker, which refuses every later publish of the previous
// holder (PRODUCER_FENCED), so a leader that was paused and resumes
// cannot publish what it still holds.
func (s *Sink) UseLease(l runtime.Lease) { s.lease = l }

// newProducer returns the idempotent producer of topic name.
func (s *Sink) newProducer(ctx context.Context, name string) (*client.IdempotentProducer, error) {
	if s.lease == nil {
		return s.cl.NewIdempotentProducer(ctx, name)
	}
	blob := s.lease.Blob("producers")
	ids := map[string]uint64{}
	v, ok, err := blob.Get()
	if err != nil {
		return nil, fmt.Errorf("the producer ids of the cluster (%s): %w", blob.Where(), err)
	}
	if ok {
		if err := json.Unmarshal(v, &ids); err != nil {
			return nil, fmt.Errorf("the producer ids of the cluster (%s): %w", blob.Where(), err)
		}
	}
	if id, ok := ids[name]; ok {
		return s.cl.TakeOverIdempotentProducer(ctx, name, id)
	}
	p, err := s.cl.NewIdempotentProducer(ctx, name)
	if err != nil {
		return nil, err
	}
	ids[name], _ = p.ProducerID()
	v, err = json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	if err := blob.Put(v); err != nil {
		return nil, fmt.Errorf("recording the producer id of topic %q in the cluster (%s): %w", name, blob.Where(), err)
	}
	return p, nil
}
