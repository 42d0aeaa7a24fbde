package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// The tasks' state lives in one topic of the broker, the cluster topic's
// name + StateTopicSuffix, one partition: a record per Put, keyed
// "<pipeline>/<task>/<name>", its value {"gen": G, "value": bytes}. A
// task's state is, per name, the value of the last record of the highest
// generation: a node that ran the task in an older generation and writes
// late (it was paused) cannot overwrite what the task's owner since
// wrote. The topic is read from its start each time a node is given
// tasks.
const StateTopicSuffix = "-tasks"

// stateRecord is a record's value.
type stateRecord struct {
	Gen   uint64 `json:"gen"`
	Value []byte `json:"value"`
}

// stateEntry is a name's current value.
type stateEntry struct {
	gen   uint64
	value []byte
}

// store holds the tasks' state as read from the topic and written since.
type store struct {
	cl    *client.Client
	topic string

	mu      sync.Mutex
	entries map[string]stateEntry
}

func stateKey(pipeline string, task int, name string) string {
	return pipeline + "/" + strconv.Itoa(task) + "/" + name
}

// ensure creates the state topic (one partition) when it does not exist.
func (s *store) ensure(ctx context.Context) error {
	_, err := s.cl.GetMetadata(ctx, s.topic)
	if errors.Is(err, client.ErrUnknownTopic) {
		_, err = s.cl.CreateTopic(ctx, s.topic, 1)
		if errors.Is(err, client.ErrTopicAlreadyExists) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("the tasks' state topic %q: %w", s.topic, err)
	}
	return nil
}

// load reads the records of pipeline's tasks from the start of the topic
// to its end, replacing what the store held.
func (s *store) load(ctx context.Context, pipeline string) error {
	_, end, err := s.cl.GetOffsetBounds(ctx, s.topic, 0)
	if err != nil {
		return fmt.Errorf("reading the tasks' state topic %q: %w", s.topic, err)
	}
	entries := map[string]stateEntry{}
	prefix := pipeline + "/"
	for off := uint64(0); off < end; {
		msgs, err := s.cl.Consume(ctx, s.topic, 0, off, client.ConsumeOptions{MaxMessages: 10000})
		if err != nil {
			return fmt.Errorf("reading the tasks' state topic %q at offset %d: %w", s.topic, off, err)
		}
		if len(msgs) == 0 {
			break // the start was deleted (retention) up to end
		}
		for _, m := range msgs {
			off = m.Offset + 1
			k := string(m.Key)
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			var r stateRecord
			if json.Unmarshal(m.Value, &r) != nil {
				continue // not ours
			}
			if cur, ok := entries[k]; !ok || r.Gen >= cur.gen {
				entries[k] = stateEntry{r.Gen, r.Value}
			}
		}
	}
	s.mu.Lock()
	s.entries = entries
	s.mu.Unlock()
	return nil
}

func (s *store) get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	return e.value, ok
}

// put publishes value under key for generation gen and keeps it.
func (s *store) put(ctx context.Context, key string, gen uint64, value []byte) error {
	v, err := json.Marshal(stateRecord{Gen: gen, Value: value})
	if err != nil {
		return err
	}
	if _, err := s.cl.PublishBatch(ctx, s.topic, wire.Some[uint32](0), []wire.Record{{Key: []byte(key), Value: v}}); err != nil {
		return fmt.Errorf("the tasks' state topic %q, key %q: %w", s.topic, key, err)
	}
	s.mu.Lock()
	s.entries[key] = stateEntry{gen, append([]byte(nil), value...)}
	s.mu.Unlock()
	return nil
}
