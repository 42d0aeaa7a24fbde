package brokertest

import (
	"hash/fnv"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// store is the in-memory log: topics, offsets and idempotent producer state,
// all under one mutex (a test double favours obviousness over throughput).
type store struct {
	cfg Config

	mu        sync.Mutex
	topics    map[string]*topic
	offsets   map[string]uint64 // group \x00 topic \x00 partition → offset
	producers map[uint64]*producer
	nextPID   uint64
	changed   chan struct{} // closed and replaced on every append (long-poll wakeup)
}

type topic struct {
	partitions []*partLog
	sticky     uint32
}

// partLog is one partition: msgs[i] has offset start+i. Offsets below start
// were discarded (Config.DiscardRecords), as retention would.
type partLog struct {
	msgs  []wire.MessageData
	start uint64
}

func (l *partLog) next() uint64 { return l.start + uint64(len(l.msgs)) }

// producer mirrors rivvend's IdempotentProducerManager: sequence state is kept
// per producer and partition number (not per topic).
type producer struct {
	epoch uint16
	parts map[uint32]*seqState
}

// seqState remembers the next expected sequence and the last 5 batches.
type seqState struct {
	next   int32
	recent []batchMark // oldest first, at most 5
}

type batchMark struct {
	seq    int32
	offset uint64
	count  int
}

type idem struct {
	id     uint64
	epoch  uint16
	seq    int32
	single bool
}

func (st *store) init(cfg Config) {
	st.cfg = cfg
	st.topics = map[string]*topic{}
	st.offsets = map[string]uint64{}
	st.producers = map[uint64]*producer{}
	st.nextPID = 1
	st.changed = make(chan struct{})
}

var topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$`)

func validateTopicName(name string) *wire.ErrorResponse {
	switch {
	case name == "":
		return errResp("INVALID_TOPIC_NAME: topic name must not be empty")
	case strings.HasPrefix(name, "_"):
		return errResp("INVALID_TOPIC_NAME: topic name '%s' must not start with '_' (reserved for internal topics)", name)
	case strings.Contains(name, ".."):
		return errResp("INVALID_TOPIC_NAME: topic name '%s' must not contain '..'", name)
	case !topicNameRE.MatchString(name):
		return errResp("INVALID_TOPIC_NAME: topic name '%s' must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$", name)
	}
	return nil
}

// lookup returns the topic and the partition log, or an error response.
// Callers hold st.mu.
func (st *store) lookup(name string, partition uint32) (*topic, wire.Response) {
	if e := validateTopicName(name); e != nil {
		return nil, e
	}
	t := st.topics[name]
	if t == nil {
		return nil, errResp("Topic not found: %s", name)
	}
	if int(partition) >= len(t.partitions) {
		return nil, errResp("INVALID_PARTITION: partition %d out of range (topic '%s' has %d partitions)", partition, name, len(t.partitions))
	}
	return t, nil
}

func (st *store) createLocked(name string, n uint32) *topic {
	t := &topic{partitions: make([]*partLog, n)}
	for i := range t.partitions {
		t.partitions[i] = &partLog{}
	}
	st.topics[name] = t
	return t
}

func (st *store) createTopic(r *wire.CreateTopic) wire.Response {
	if e := validateTopicName(r.Name); e != nil {
		return e
	}
	n := r.Partitions.Or(st.cfg.DefaultPartitions)
	if n == 0 || n > 1000 {
		return errResp("INVALID_PARTITION_COUNT: must be between 1 and 1000, got %d", n)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.topics[r.Name] != nil {
		return errResp("Topic '%s' already exists", r.Name)
	}
	st.createLocked(r.Name, n)
	return &wire.TopicCreated{Name: r.Name, Partitions: n}
}

func (st *store) listTopics() wire.Response {
	st.mu.Lock()
	defer st.mu.Unlock()
	names := make([]string, 0, len(st.topics))
	for n := range st.topics {
		names = append(names, n)
	}
	slices.Sort(names)
	return &wire.Topics{Topics: names}
}

func (st *store) deleteTopic(r *wire.DeleteTopic) wire.Response {
	if e := validateTopicName(r.Name); e != nil {
		return e
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.topics[r.Name] == nil {
		return errResp("Topic not found: %s", r.Name)
	}
	delete(st.topics, r.Name)
	return &wire.TopicDeleted{}
}

func (st *store) getMetadata(r *wire.GetMetadata) wire.Response {
	if e := validateTopicName(r.Topic); e != nil {
		return e
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.topics[r.Topic]
	if t == nil {
		return errResp("Topic not found: %s", r.Topic)
	}
	return &wire.Metadata{Name: r.Topic, Partitions: uint32(len(t.partitions))}
}

func (st *store) clusterMetadata(r *wire.GetClusterMetadata, addr string) wire.Response {
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	st.mu.Lock()
	defer st.mu.Unlock()
	names := r.Topics
	if len(names) == 0 {
		for n := range st.topics {
			names = append(names, n)
		}
		slices.Sort(names)
	}
	out := &wire.ClusterMetadata{
		ControllerID: wire.Some("0"),
		Brokers:      []wire.BrokerInfo{{NodeID: "0", Host: host, Port: uint16(port)}},
	}
	for _, n := range names {
		t := st.topics[n]
		if t == nil {
			continue
		}
		tm := wire.TopicMetadata{Name: n}
		for p := range t.partitions {
			tm.Partitions = append(tm.Partitions, wire.PartitionMetadata{
				Partition: uint32(p), Leader: wire.Some("0"), Replicas: []string{"0"}, ISR: []string{"0"},
			})
		}
		out.Topics = append(out.Topics, tm)
	}
	return out
}

func (st *store) initProducer(r *wire.InitProducerID) wire.Response {
	st.mu.Lock()
	defer st.mu.Unlock()
	if pid, ok := r.ProducerID.Get(); ok {
		if p := st.producers[pid]; p != nil {
			p.epoch++
			p.parts = map[uint32]*seqState{}
			return &wire.ProducerIDInitialized{ProducerID: pid, ProducerEpoch: p.epoch}
		}
		st.producers[pid] = &producer{parts: map[uint32]*seqState{}}
		return &wire.ProducerIDInitialized{ProducerID: pid}
	}
	pid := st.nextPID
	st.nextPID++
	st.producers[pid] = &producer{parts: map[uint32]*seqState{}}
	return &wire.ProducerIDInitialized{ProducerID: pid}
}

// publish appends records to one partition. With id set it first applies
// rivvend's idempotence rules: fenced epoch, unknown producer, duplicate
// (a remembered base sequence: nothing appended, the original offset
// returned), or out-of-order sequence.
func (st *store) publish(name string, part wire.Option[uint32], records []wire.Record, id *idem) wire.Response {
	if len(records) == 0 {
		if id != nil {
			return &wire.IdempotentPublishedBatch{}
		}
		return &wire.PublishedBatch{}
	}
	if e := validateTopicName(name); e != nil {
		return e
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.topics[name]
	if t == nil {
		if st.cfg.DisableAutoCreate {
			return errResp("Topic not found: %s", name)
		}
		t = st.createLocked(name, st.cfg.DefaultPartitions)
	}
	n := uint32(len(t.partitions))
	p, ok := part.Get()
	if !ok {
		if k := records[0].Key; k != nil {
			h := fnv.New32a()
			h.Write(k)
			p = h.Sum32() % n
		} else {
			p = t.sticky % n
			t.sticky++
		}
	}
	if p >= n {
		return errResp("INVALID_PARTITION: partition %d out of range (topic '%s' has %d partitions)", p, name, n)
	}
	var ss *seqState
	if id != nil {
		pr := st.producers[id.id]
		if pr == nil {
			return errResp("UNKNOWN_PRODUCER_ID: producer %d not initialized", id.id)
		}
		if id.epoch < pr.epoch {
			return errResp("PRODUCER_FENCED: current epoch %d, received %d", pr.epoch, id.epoch)
		}
		if id.epoch > pr.epoch {
			pr.epoch = id.epoch
			pr.parts = map[uint32]*seqState{}
		}
		ss = pr.parts[p]
		expected := int32(0)
		if ss != nil {
			expected = ss.next
			for _, m := range ss.recent {
				if m.seq == id.seq {
					return idemReply(id, m.offset, p, len(records), true)
				}
			}
		}
		if id.seq != expected {
			return errResp("OUT_OF_ORDER_SEQUENCE: expected %d, got %d", expected, id.seq)
		}
		if ss == nil {
			ss = &seqState{}
			pr.parts[p] = ss
		}
	}
	log := t.partitions[p]
	base := log.next()
	if st.cfg.DiscardRecords {
		log.start += uint64(len(records))
	} else {
		now := st.cfg.Now().UnixMilli()
		for i, r := range records {
			log.msgs = append(log.msgs, wire.MessageData{
				Offset: base + uint64(i), Partition: p,
				Key: clone(r.Key), Value: clone(r.Value), Timestamp: now,
			})
		}
	}
	close(st.changed)
	st.changed = make(chan struct{})
	if id != nil {
		ss.next = id.seq + int32(len(records))
		ss.recent = append(ss.recent, batchMark{seq: id.seq, offset: base, count: len(records)})
		if len(ss.recent) > 5 {
			ss.recent = ss.recent[1:]
		}
		return idemReply(id, base, p, len(records), false)
	}
	return &wire.PublishedBatch{BaseOffset: base, Partition: p, RecordCount: uint32(len(records))}
}

func idemReply(id *idem, offset uint64, p uint32, n int, dup bool) wire.Response {
	if id.single {
		return &wire.IdempotentPublished{Offset: offset, Partition: p, Duplicate: dup}
	}
	return &wire.IdempotentPublishedBatch{BaseOffset: offset, Partition: p, RecordCount: uint32(n), Duplicate: dup}
}

// clone copies b, keeping nil (None) distinct from empty.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// consume reads from a partition, long-polling up to MaxWaitMs (capped at
// 30 s) when nothing is there yet.
func (st *store) consume(r *wire.Consume, done <-chan struct{}) wire.Response {
	maxMsgs := min(int(r.MaxMessages), 10_000)
	wait := time.Duration(min(r.MaxWaitMs.Or(0), wire.MaxWaitMsLimit)) * time.Millisecond
	deadline := time.Now().Add(wait)
	for {
		st.mu.Lock()
		t, e := st.lookup(r.Topic, r.Partition)
		if e != nil {
			st.mu.Unlock()
			return e
		}
		log := t.partitions[r.Partition]
		from := max(r.Offset, log.start)
		if from < log.next() || wait == 0 {
			var msgs []wire.MessageData
			if from < log.next() {
				i := from - log.start
				end := min(uint64(len(log.msgs)), i+uint64(maxMsgs))
				msgs = slices.Clone(log.msgs[i:end])
			}
			st.mu.Unlock()
			return &wire.Messages{Messages: msgs}
		}
		changed := st.changed
		st.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return &wire.Messages{}
		}
		timer := time.NewTimer(left)
		select {
		case <-changed:
		case <-timer.C:
		case <-done:
		}
		timer.Stop()
		select {
		case <-done:
			return &wire.Messages{}
		default:
		}
	}
}

func offsetKey(group, topic string, p uint32) string {
	return group + "\x00" + topic + "\x00" + strconv.FormatUint(uint64(p), 10)
}

func (st *store) commitOffset(r *wire.CommitOffset) wire.Response {
	if r.ConsumerGroup == "" {
		return errResp("INVALID_CONSUMER_GROUP: consumer group must not be empty")
	}
	if e := validateTopicName(r.Topic); e != nil {
		return e
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.topics[r.Topic]
	if t == nil {
		return errResp("UNKNOWN_TOPIC: topic '%s' does not exist", r.Topic)
	}
	if int(r.Partition) >= len(t.partitions) {
		return errResp("UNKNOWN_PARTITION: partition %d does not exist in topic '%s'", r.Partition, r.Topic)
	}
	if latest := t.partitions[r.Partition].next(); r.Offset > latest {
		return errResp("OFFSET_OUT_OF_RANGE: offset %d exceeds latest offset %d for partition %d", r.Offset, latest, r.Partition)
	}
	st.offsets[offsetKey(r.ConsumerGroup, r.Topic, r.Partition)] = r.Offset
	return &wire.OffsetCommitted{}
}

func (st *store) getOffset(r *wire.GetOffset) wire.Response {
	if r.ConsumerGroup == "" {
		return errResp("INVALID_CONSUMER_GROUP: consumer group must not be empty")
	}
	if e := validateTopicName(r.Topic); e != nil {
		return e
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	off, ok := st.offsets[offsetKey(r.ConsumerGroup, r.Topic, r.Partition)]
	return &wire.Offset{Offset: wire.Option[uint64]{Value: off, Valid: ok}}
}

func (st *store) offsetBounds(r *wire.GetOffsetBounds) wire.Response {
	st.mu.Lock()
	defer st.mu.Unlock()
	t, e := st.lookup(r.Topic, r.Partition)
	if e != nil {
		return e
	}
	log := t.partitions[r.Partition]
	return &wire.OffsetBounds{Earliest: log.start, Latest: log.next()}
}

func (st *store) offsetForTimestamp(r *wire.GetOffsetForTimestamp) wire.Response {
	st.mu.Lock()
	defer st.mu.Unlock()
	t, e := st.lookup(r.Topic, r.Partition)
	if e != nil {
		return e
	}
	for _, m := range t.partitions[r.Partition].msgs {
		if m.Timestamp >= r.TimestampMs {
			return &wire.OffsetForTimestamp{Offset: wire.Some(m.Offset)}
		}
	}
	return &wire.OffsetForTimestamp{}
}

// Records returns a copy of a partition's log (nil if the topic or partition
// does not exist).
func (s *Server) Records(topic string, partition uint32) []wire.MessageData {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t := s.st.topics[topic]
	if t == nil || int(partition) >= len(t.partitions) {
		return nil
	}
	return slices.Clone(t.partitions[partition].msgs)
}

// Topics returns the topic names, sorted.
func (s *Server) Topics() []string {
	return s.st.listTopics().(*wire.Topics).Topics
}
