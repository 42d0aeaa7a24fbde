package schemaformat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rivven/rivven-connect/schemas/registry"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// DefaultTopic is the broker topic of the embedded registry's log when
// schema_registry.topic is not set (rivvend refuses names starting with _).
const DefaultTopic = "rivven-connect-schemas"

// storeTimeout bounds loading the log and each append.
const storeTimeout = 30 * time.Second

// BrokerStore is a registry.Store on a one-partition broker topic: each
// event is one record (its JSON), appended through an idempotent producer
// so a resend after a lost reply is not duplicated, and replayed from the
// topic's first offset. The registry must be the topic's only writer (one
// process per topic). Used by one registry; not for concurrent use.
type BrokerStore struct {
	cl    *broker.Client
	topic string
	prod  *client.IdempotentProducer
}

var _ registry.Store = (*BrokerStore)(nil)

// OpenBrokerStore connects to the broker and makes sure topic exists with
// one partition (creating it when missing).
func OpenBrokerStore(ctx context.Context, conn broker.Conn, topic string) (*BrokerStore, error) {
	if topic == "" {
		topic = DefaultTopic
	}
	if err := broker.ValidateTopic(topic); err != nil {
		return nil, fmt.Errorf("schema_registry.topic: %w", err)
	}
	cl, err := broker.Connect(ctx, conn, broker.Options{})
	if err != nil {
		return nil, err
	}
	n, err := cl.GetMetadata(ctx, topic)
	if errors.Is(err, client.ErrUnknownTopic) {
		n, err = cl.CreateTopic(ctx, topic, 1)
		if errors.Is(err, client.ErrTopicAlreadyExists) {
			n, err = cl.GetMetadata(ctx, topic)
		}
	}
	if err == nil && n != 1 {
		err = fmt.Errorf("has %d partitions; the registry's log needs exactly one (order matters)", n)
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("schema registry topic %q: %w", topic, err)
	}
	prod, err := cl.NewIdempotentProducer(ctx, topic)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("schema registry topic %q: %w", topic, err)
	}
	return &BrokerStore{cl: cl, topic: topic, prod: prod}, nil
}

// Load reads every event from the topic's first offset to its end.
func (s *BrokerStore) Load() ([]registry.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	first, end, err := s.cl.GetOffsetBounds(ctx, s.topic, 0)
	if err != nil {
		return nil, fmt.Errorf("schema registry topic %q: %w", s.topic, err)
	}
	var out []registry.Event
	for off := first; off < end; {
		msgs, err := s.cl.Consume(ctx, s.topic, 0, off, client.ConsumeOptions{MaxMessages: 1000})
		if err != nil {
			return nil, fmt.Errorf("schema registry topic %q at offset %d: %w", s.topic, off, err)
		}
		if len(msgs) == 0 {
			return nil, fmt.Errorf("schema registry topic %q: no record at offset %d below the end %d", s.topic, off, end)
		}
		for _, m := range msgs {
			var ev registry.Event
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				return nil, fmt.Errorf("schema registry topic %q: record at offset %d is not a registry event: %v", s.topic, m.Offset, err)
			}
			out = append(out, ev)
			off = m.Offset + 1
		}
	}
	return out, nil
}

// Append publishes ev and returns once the broker acknowledged it.
func (s *BrokerStore) Append(ev registry.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_, before, err := s.cl.GetOffsetBounds(ctx, s.topic, 0)
	if err != nil {
		return fmt.Errorf("schema registry topic %q: %w", s.topic, err)
	}
	if _, err := s.prod.PublishBatch(ctx, 0, []wire.Record{{Value: b}}); err != nil {
		// In doubt (a lost reply): the registry is the topic's only writer,
		// so a longer log means the event is there.
		if _, after, berr := s.cl.GetOffsetBounds(ctx, s.topic, 0); berr == nil && after > before {
			return nil
		}
		return fmt.Errorf("schema registry topic %q: %w", s.topic, err)
	}
	return nil
}

// Close closes the broker connection.
func (s *BrokerStore) Close() error { return s.cl.Close() }
