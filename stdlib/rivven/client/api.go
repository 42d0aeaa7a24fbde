package client

import (
	"context"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// AnyPartition lets the broker choose the partition (keyed → hash, keyless → sticky).
var AnyPartition = wire.Option[uint32]{}

// Partition selects partition p.
func Partition(p uint32) wire.Option[uint32] { return wire.Some(p) }

// Ping checks that a session is usable (dialing and authenticating if needed).
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.do(ctx, &wire.Ping{}, true, 0)
	if err != nil {
		return err
	}
	if _, ok := resp.(*wire.Pong); !ok {
		return unexpected("Ping", resp)
	}
	return nil
}

// CreateTopic creates a topic with partitions partitions (0 = broker default,
// 3 on rivvend) and returns the partition count. An existing topic yields
// ErrTopicAlreadyExists; rivvend refuses names starting with '_'
// (ErrInvalidTopicName).
func (c *Client) CreateTopic(ctx context.Context, name string, partitions uint32) (uint32, error) {
	req := &wire.CreateTopic{Name: name}
	if partitions > 0 {
		req.Partitions = wire.Some(partitions)
	}
	resp, err := c.do(ctx, req, false, 0)
	if err != nil {
		return 0, err
	}
	r, ok := resp.(*wire.TopicCreated)
	if !ok {
		return 0, unexpected("CreateTopic", resp)
	}
	return r.Partitions, nil
}

// ListTopics returns all topic names.
func (c *Client) ListTopics(ctx context.Context) ([]string, error) {
	resp, err := c.do(ctx, &wire.ListTopics{}, true, 0)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*wire.Topics)
	if !ok {
		return nil, unexpected("ListTopics", resp)
	}
	return r.Topics, nil
}

// GetMetadata returns a topic's partition count (ErrUnknownTopic if absent).
func (c *Client) GetMetadata(ctx context.Context, topic string) (uint32, error) {
	resp, err := c.do(ctx, &wire.GetMetadata{Topic: topic}, true, 0)
	if err != nil {
		return 0, err
	}
	r, ok := resp.(*wire.Metadata)
	if !ok {
		return 0, unexpected("GetMetadata", resp)
	}
	return r.Partitions, nil
}

// GetClusterMetadata returns brokers and the layout of topics (all when none named).
func (c *Client) GetClusterMetadata(ctx context.Context, topics ...string) (*wire.ClusterMetadata, error) {
	resp, err := c.do(ctx, &wire.GetClusterMetadata{Topics: topics}, true, 0)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*wire.ClusterMetadata)
	if !ok {
		return nil, unexpected("GetClusterMetadata", resp)
	}
	return r, nil
}

// PublishBatch appends records to one partition of topic (AnyPartition: the
// broker picks one from the first record's key) and returns the base offset.
// It is not resent after a lost reply: such an error has InDoubt set, and
// resending may duplicate the batch (use an IdempotentProducer to avoid
// that). records are only read, and not retained after return.
func (c *Client) PublishBatch(ctx context.Context, topic string, partition wire.Option[uint32], records []wire.Record) (wire.PublishedBatch, error) {
	resp, err := c.do(ctx, &wire.PublishBatch{Topic: topic, Partition: partition, Records: records}, false, 0)
	if err != nil {
		return wire.PublishedBatch{}, err
	}
	r, ok := resp.(*wire.PublishedBatch)
	if !ok {
		return wire.PublishedBatch{}, unexpected("PublishBatch", resp)
	}
	return *r, nil
}

// InitProducerID obtains an idempotent producer id (previous None) or bumps
// the epoch of a previous one, which also resets its sequences on the broker.
func (c *Client) InitProducerID(ctx context.Context, previous wire.Option[uint64]) (wire.ProducerIDInitialized, error) {
	resp, err := c.do(ctx, &wire.InitProducerID{ProducerID: previous}, true, 0)
	if err != nil {
		return wire.ProducerIDInitialized{}, err
	}
	r, ok := resp.(*wire.ProducerIDInitialized)
	if !ok {
		return wire.ProducerIDInitialized{}, unexpected("InitProducerId", resp)
	}
	return *r, nil
}

// IdempotentPublishBatch sends req as is, resending it unchanged after a lost
// reply (the broker answers a resend with Duplicate set). Sequencing is the
// caller's job; IdempotentProducer does it. req is not retained.
func (c *Client) IdempotentPublishBatch(ctx context.Context, req *wire.IdempotentPublishBatch) (wire.IdempotentPublishedBatch, error) {
	resp, err := c.do(ctx, req, true, 0)
	if err != nil {
		return wire.IdempotentPublishedBatch{}, err
	}
	r, ok := resp.(*wire.IdempotentPublishedBatch)
	if !ok {
		return wire.IdempotentPublishedBatch{}, unexpected("IdempotentPublishBatch", resp)
	}
	return *r, nil
}

// ConsumeOptions tune Consume.
type ConsumeOptions struct {
	// MaxMessages caps the records returned (default 500; rivvend caps at 10 000).
	MaxMessages uint32
	// MaxWait long-polls: with nothing to read the broker waits up to this
	// long (capped at 30 s) for records. Zero answers at once.
	MaxWait time.Duration
	// ReadCommitted hides records of aborted transactions.
	ReadCommitted bool
}

// Consume reads records of one partition starting at offset. An empty result
// means nothing arrived within MaxWait. Without a ctx deadline the request
// may take RequestTimeout+MaxWait; a ctx deadline shorter than MaxWait ends
// the poll with ErrTimeout. The returned records own their memory.
func (c *Client) Consume(ctx context.Context, topic string, partition uint32, offset uint64, opts ConsumeOptions) ([]wire.MessageData, error) {
	req := &wire.Consume{Topic: topic, Partition: partition, Offset: offset, MaxMessages: opts.MaxMessages}
	if req.MaxMessages == 0 {
		req.MaxMessages = 500
	}
	wait := min(opts.MaxWait, wire.MaxWaitMsLimit*time.Millisecond)
	if wait > 0 {
		req.MaxWaitMs = wire.Some(uint64(wait / time.Millisecond))
	}
	if opts.ReadCommitted {
		req.IsolationLevel = wire.Some(wire.ReadCommitted)
	}
	resp, err := c.do(ctx, req, true, wait)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*wire.Messages)
	if !ok {
		return nil, unexpected("Consume", resp)
	}
	return r.Messages, nil
}

// CommitOffset stores group's offset for a partition (the next offset to read).
func (c *Client) CommitOffset(ctx context.Context, group, topic string, partition uint32, offset uint64) error {
	resp, err := c.do(ctx, &wire.CommitOffset{ConsumerGroup: group, Topic: topic, Partition: partition, Offset: offset}, true, 0)
	if err != nil {
		return err
	}
	if _, ok := resp.(*wire.OffsetCommitted); !ok {
		return unexpected("CommitOffset", resp)
	}
	return nil
}

// GetOffset returns group's committed offset for a partition; ok is false
// when none was committed.
func (c *Client) GetOffset(ctx context.Context, group, topic string, partition uint32) (offset uint64, ok bool, err error) {
	resp, err := c.do(ctx, &wire.GetOffset{ConsumerGroup: group, Topic: topic, Partition: partition}, true, 0)
	if err != nil {
		return 0, false, err
	}
	r, isOffset := resp.(*wire.Offset)
	if !isOffset {
		return 0, false, unexpected("GetOffset", resp)
	}
	offset, ok = r.Offset.Get()
	return offset, ok, nil
}

// GetOffsetBounds returns a partition's earliest offset and the next offset
// to be written.
func (c *Client) GetOffsetBounds(ctx context.Context, topic string, partition uint32) (earliest, latest uint64, err error) {
	resp, err := c.do(ctx, &wire.GetOffsetBounds{Topic: topic, Partition: partition}, true, 0)
	if err != nil {
		return 0, 0, err
	}
	r, ok := resp.(*wire.OffsetBounds)
	if !ok {
		return 0, 0, unexpected("GetOffsetBounds", resp)
	}
	return r.Earliest, r.Latest, nil
}

// GetOffsetForTimestamp returns the first offset whose record timestamp is at
// or after ts; ok is false when there is none.
func (c *Client) GetOffsetForTimestamp(ctx context.Context, topic string, partition uint32, ts time.Time) (offset uint64, ok bool, err error) {
	resp, err := c.do(ctx, &wire.GetOffsetForTimestamp{Topic: topic, Partition: partition, TimestampMs: ts.UnixMilli()}, true, 0)
	if err != nil {
		return 0, false, err
	}
	r, isOffset := resp.(*wire.OffsetForTimestamp)
	if !isOffset {
		return 0, false, unexpected("GetOffsetForTimestamp", resp)
	}
	offset, ok = r.Offset.Get()
	return offset, ok, nil
}

// Do sends any request once per attempt and returns the reply; an Error
// reply becomes an *Error. resendable has the meaning of the Client doc: set
// it only if the broker applying req twice is harmless. Authentication
// requests must not be sent this way. req is not retained.
func (c *Client) Do(ctx context.Context, req wire.Request, resendable bool) (wire.Response, error) {
	return c.do(ctx, req, resendable, 0)
}
