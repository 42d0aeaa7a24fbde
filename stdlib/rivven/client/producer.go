package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// IdempotentProducer publishes batches to one topic exactly once per batch,
// even across lost replies and reconnects: it keeps a sequence per partition
// and resends a batch whose reply was lost with the same base sequence, which
// the broker answers with Duplicate instead of appending again.
//
// A producer is bound to one topic because rivvend keeps idempotence state
// per (producer id, partition number) without the topic: two topics sharing a
// producer id would collide on their partition numbers.
//
// Concurrency: safe for concurrent use; batches to the same partition are
// sent one at a time in call order, different partitions proceed in
// parallel. Lifecycle: create with NewIdempotentProducer; it holds no
// connection of its own and needs no Close.
type IdempotentProducer struct {
	c     *Client
	topic string

	resetMu sync.Mutex // serializes Reset
	mu      sync.Mutex // guards id, epoch, parts; taken after a partition's mu
	id      uint64
	epoch   uint16
	parts   map[uint32]*partitionSeq
}

type partitionSeq struct {
	mu      sync.Mutex
	next    int32
	pending *inDoubt // a batch whose outcome is unknown
}

type inDoubt struct {
	base  int32
	count int
}

// NewIdempotentProducer obtains a fresh producer id for topic.
func (c *Client) NewIdempotentProducer(ctx context.Context, topic string) (*IdempotentProducer, error) {
	r, err := c.InitProducerID(ctx, wire.None[uint64]())
	if err != nil {
		return nil, err
	}
	return &IdempotentProducer{c: c, topic: topic, id: r.ProducerID, epoch: r.ProducerEpoch, parts: map[uint32]*partitionSeq{}}, nil
}

// TakeOverIdempotentProducer continues producer id for topic under a new
// epoch (InitProducerId with id): the broker then refuses every publish
// of the epochs before with PRODUCER_FENCED, so a node that inherits
// another's producer id fences that node's producer. The sequences start
// over.
func (c *Client) TakeOverIdempotentProducer(ctx context.Context, topic string, id uint64) (*IdempotentProducer, error) {
	r, err := c.InitProducerID(ctx, wire.Some(id))
	if err != nil {
		return nil, err
	}
	return &IdempotentProducer{c: c, topic: topic, id: r.ProducerID, epoch: r.ProducerEpoch, parts: map[uint32]*partitionSeq{}}, nil
}

// ProducerID returns the producer id and epoch in use.
func (p *IdempotentProducer) ProducerID() (id uint64, epoch uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id, p.epoch
}

// Topic returns the producer's topic.
func (p *IdempotentProducer) Topic() string { return p.topic }

// lockPartition returns partition n's state, locked, with the current id and
// epoch; it retries if a Reset replaced the state meanwhile.
func (p *IdempotentProducer) lockPartition(n uint32) (*partitionSeq, uint64, uint16) {
	for {
		p.mu.Lock()
		ps := p.parts[n]
		if ps == nil {
			ps = &partitionSeq{}
			p.parts[n] = ps
		}
		p.mu.Unlock()
		ps.mu.Lock()
		p.mu.Lock()
		current, id, epoch := p.parts[n] == ps, p.id, p.epoch
		p.mu.Unlock()
		if current {
			return ps, id, epoch
		}
		ps.mu.Unlock()
	}
}

// PublishBatch appends records to partition exactly once. Lost replies and
// dropped connections are retried inside the call (same base sequence)
// until success, a non-retriable error, Config.Retry.MaxRetries, or ctx.
//
// If it returns an error with InDoubt set, the batch may or may not be in
// the log: call PublishBatch again with the same records for the same
// partition (it resends with the same sequence, so the broker dedupes), or
// call Reset to give up on exactly-once for it. A different batch on that
// partition before then fails with ErrInDoubtBatch. The result's Duplicate
// is true when the broker already had the batch (its BaseOffset is the
// original one). records are not retained.
func (p *IdempotentProducer) PublishBatch(ctx context.Context, partition uint32, records []wire.Record) (wire.IdempotentPublishedBatch, error) {
	if len(records) == 0 {
		return wire.IdempotentPublishedBatch{Partition: partition}, nil
	}
	ps, id, epoch := p.lockPartition(partition)
	defer ps.mu.Unlock()
	base := ps.next
	if pd := ps.pending; pd != nil {
		if pd.count != len(records) {
			return wire.IdempotentPublishedBatch{}, &Error{Code: CodeInDoubtBatch, Op: "IdempotentPublishBatch",
				Message: fmt.Sprintf("partition %d has an unconfirmed batch of %d records (sequence %d): resend it or Reset", partition, pd.count, pd.base)}
		}
		base = pd.base
	}
	req := &wire.IdempotentPublishBatch{
		Topic: p.topic, Partition: wire.Some(partition), Records: records,
		ProducerID: id, ProducerEpoch: epoch, BaseSequence: base,
	}
	r, err := p.c.IdempotentPublishBatch(ctx, req)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.InDoubt {
			ps.pending = &inDoubt{base: base, count: len(records)}
		}
		return r, err
	}
	ps.pending = nil
	ps.next = base + int32(len(records))
	return r, nil
}

// Reset bumps the producer epoch (InitProducerId with the current id), which
// makes the broker forget all sequences, and restarts every partition at
// sequence 0. Batches left in doubt are abandoned: resending them now may
// duplicate. Reset waits for batches in flight.
func (p *IdempotentProducer) Reset(ctx context.Context) error {
	p.resetMu.Lock()
	defer p.resetMu.Unlock()
	p.mu.Lock()
	keys := slices.Sorted(maps.Keys(p.parts))
	held := make([]*partitionSeq, 0, len(keys))
	for _, k := range keys {
		held = append(held, p.parts[k])
	}
	id := p.id
	p.mu.Unlock()
	for _, ps := range held { // lock order: partition locks before p.mu
		ps.mu.Lock()
		defer ps.mu.Unlock()
	}
	r, err := p.c.InitProducerID(ctx, wire.Some(id))
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.id, p.epoch = r.ProducerID, r.ProducerEpoch
	p.parts = map[uint32]*partitionSeq{}
	p.mu.Unlock()
	return nil
}
