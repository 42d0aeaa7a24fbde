// Package sink is the `rivven` sink: it publishes records to topics of a
// Rivven broker (rivvend) and returns from Write only once the broker has
// acknowledged every record, so the runtime acknowledges source positions
// only for records the broker holds.
//
// # Topics
//
// Config.Topic is one topic, or a template routing each record by its
// stream ("cdc.{database}.{schema}.{table}", "{stream}"; see
// broker.Placeholders). Names are checked against rivvend's rules before
// anything is sent (broker.ValidateTopic: names starting with '_' are
// refused). A topic the broker does not have is created with
// Config.Partitions partitions when Config.AutoCreate is set, else Write
// fails (not retriable).
//
// # Partitions and keys
//
// The sink picks every record's partition itself, so that a key always
// lands on the same partition and per-key order holds: a keyed record goes
// to FNV-1a-32(key) mod partitions; the keyless records of one Write go
// together to one partition derived from the Write's first position. The
// key is the text of a field (a string as is, any other value as compact
// JSON; null means no key): Config.KeyField for every record, else, for
// change events (insert, update, delete, snapshot), the row key of the
// record's schema (runtime.Schema.Key: a table's primary key or replica
// identity, datagen's id field; several key fields make a compact JSON
// object). Deletes are keyed by their old row.
//
// # Formats
//
// Config.Format: "source_event" (default; runtime.AppendSourceEvent with
// timestamp and metadata, the original rivven-connect's envelope; "json" is
// an alias), "debezium" (runtime.AppendDebezium) or "row" (the row alone).
// "avro", "protobuf" and "json_schema" encode records with the process's
// typed formats (UseFormats), registering each stream schema under the
// subject "<topic>-value" (Confluent wire format).
//
// # Delivery
//
// Records are sent in chunks (PublishBatch, at most 10 000 records and
// about 4 MiB each) per (topic, partition), in order. With
// Config.Idempotent (the default) each topic has a client.IdempotentProducer,
// so a chunk resent after a lost reply is recognised by the broker and not
// appended twice. A failed Write returns the client's error, whose
// Retriable() says whether the runtime should retry; the sink remembers
// which records of a failed Write the broker already acknowledged (by
// position) and does not send them again when the runtime retries or
// isolates records, and it resends an in-doubt chunk only if the retry
// holds exactly the same records — otherwise it resets the topic's producer
// epoch first, so that a different chunk can never be mistaken for a
// duplicate. (A chunk still in doubt when the runtime gives up on it and
// writes its records one by one may therefore be duplicated: at-least-once.)
// Without Idempotent a retry after a lost reply may duplicate that chunk.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Config is the sink's plain-data config. The json tags name the keys of
// a rivven sink's `config` block (cue/connectors.cue, #Rivven, which holds
// the defaults): the compiler decodes the block into a Config through
// them. The fields tagged "-" are set by the compiler: Broker from the
// block's connection keys (Broker's own tags), AutoCreate and Partitions
// from topic_config and settings.topic.
type Config struct {
	Broker broker.Conn `json:"-"`
	// Topic is a topic name or a template with {placeholders}.
	Topic string `json:"topic"`
	// Idempotent publishes through an idempotent producer (exactly once per
	// chunk across lost replies). The config default is true.
	Idempotent bool `json:"idempotent"`
	// KeyField keys every record by this field; "" keys change events by
	// their row key (runtime.Schema.Key).
	KeyField string `json:"key_field"`
	// Format is source_event (the config default; New also takes ""),
	// debezium, row, json (= source_event), or a typed format (avro,
	// protobuf, json_schema).
	Format string `json:"format"`
	// AutoCreate creates missing topics; without it a missing topic fails
	// the write.
	AutoCreate bool `json:"-"`
	// Partitions is the partition count of auto-created topics; 0 = the
	// broker's default.
	Partitions int `json:"-"`
}

// Formats are the value formats New accepts.
var Formats = []string{"source_event", "debezium", "row", "json", "avro", "protobuf", "json_schema"}

const (
	maxChunkRecords = 10_000  // rivvend's limit on list lengths
	maxChunkBytes   = 4 << 20 // well under the 10 MiB request limit
	maxRecordBytes  = wire.MaxPayloadSize - 64<<10
)

// Sink publishes records to rivvend. See the package documentation.
type Sink struct {
	cfg  Config
	log  io.Writer
	tmpl *broker.Template
	enc  func([]byte, *runtime.Record) []byte
	cl   *broker.Client
	link atomic.Pointer[client.Client] // cl for BrokerConnected (other goroutines)

	formats runtime.TypedFormats  // for typed formats (UseFormats)
	typed   runtime.RecordEncoder // the avro/protobuf encoder, from Open

	topics map[string]*topicState
	fixed  *topicState // the topic when Config.Topic has no placeholders
	// cache of the last templated topic, by stream and namespace
	lastStream, lastNS string
	lastTopic          *topicState

	key keyCache

	// per-Write scratch, reused
	buf     []byte
	entries []entry
	order   []int
	groups  []group
	recs    []wire.Record

	// done holds the positions of records that the broker acknowledged in
	// a Write that failed as a whole; nil when there are none.
	done map[uint64]struct{}
	// doubt maps a (topic, partition) to the positions of its chunk whose
	// outcome is unknown (idempotent mode).
	doubt map[doubtKey][]uint64

	lease runtime.Lease // a cluster singleton's (UseLease); nil on one node
}

type topicState struct {
	name       string
	partitions uint32
	producer   *client.IdempotentProducer
}

type entry struct {
	topic  *topicState
	part   uint32
	pos    uint64
	k0, k1 int // key bytes in buf; k0 < 0: no key
	v0, v1 int // value bytes in buf
	group  int
	keyed  bool
	skip   bool // already acknowledged by the broker
}

type group struct {
	topic  *topicState
	part   uint32
	n, off int // count and start in order
}

type doubtKey struct {
	topic *topicState
	part  uint32
}

// New checks cfg and returns a sink; it does not connect (Open does).
// Warnings (tls.insecure, reconnects) go to log.
func New(cfg Config, log io.Writer) (*Sink, error) {
	if err := cfg.Broker.Validate(); err != nil {
		return nil, fmt.Errorf("rivven sink: %w", err)
	}
	if cfg.Topic == "" {
		return nil, errors.New("rivven sink: no topic")
	}
	t, err := broker.ParseTemplate(cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("rivven sink: %w", err)
	}
	s := &Sink{cfg: cfg, log: log, tmpl: t, topics: map[string]*topicState{}}
	switch cfg.Format {
	case "", "source_event", "json":
		s.enc = func(b []byte, r *runtime.Record) []byte { return runtime.AppendSourceEvent(b, r, true, true) }
	case "debezium":
		s.enc = runtime.AppendDebezium
	case "row":
		s.enc = func(b []byte, r *runtime.Record) []byte { return runtime.AppendJSONRow(b, r.Schema, r.Row(), "", 0) }
	case "avro", "protobuf", "json_schema":
		// Encoded by s.typed (UseFormats, then Open).
	default:
		return nil, fmt.Errorf("rivven sink: unknown format %q (valid: %s)", cfg.Format, strings.Join(Formats, ", "))
	}
	if cfg.Partitions < 0 || cfg.Partitions > 1000 {
		return nil, fmt.Errorf("rivven sink: partitions %d is out of range 1..1000", cfg.Partitions)
	}
	return s, nil
}

// Open connects to the broker (failing fast, with the reason, when no
// bootstrap server answers) and, for a fixed topic, makes sure the topic
// exists (creating it if allowed).
func (s *Sink) Open(ctx context.Context) error {
	if runtime.IsTypedFormat(s.cfg.Format) {
		enc, err := runtime.NewEncoder(s.formats, s.cfg.Format)
		if err != nil {
			return fmt.Errorf("rivven sink: %w", err)
		}
		s.typed = enc
	}
	cl, err := broker.Connect(ctx, s.cfg.Broker, broker.Options{Log: s.log})
	if err != nil {
		return err
	}
	s.cl = cl
	s.link.Store(cl.Client)
	if s.tmpl.Fixed() {
		ts, err := s.topic(ctx, s.cfg.Topic)
		if err != nil {
			return err
		}
		s.fixed = ts
	}
	return nil
}

// Close closes the connections.
func (s *Sink) Close() error {
	if s.cl != nil {
		s.cl.Close()
	}
	return nil
}

// topic returns the state of topic name, looking it up (and creating it
// when allowed) on first use.
func (s *Sink) topic(ctx context.Context, name string) (*topicState, error) {
	if ts := s.topics[name]; ts != nil {
		return ts, nil
	}
	if err := broker.ValidateTopic(name); err != nil {
		return nil, err
	}
	n, err := s.cl.GetMetadata(ctx, name)
	if errors.Is(err, client.ErrUnknownTopic) {
		if !s.cfg.AutoCreate {
			return nil, fmt.Errorf("topic %q does not exist and topic auto-creation is off for this sink (its topic_config.auto_create: false, or settings.topic.auto_create: false or settings.topic.require_topic_exists: true): create the topic, or let the sink create it", name)
		}
		n, err = s.cl.CreateTopic(ctx, name, uint32(s.cfg.Partitions))
		if errors.Is(err, client.ErrTopicAlreadyExists) {
			n, err = s.cl.GetMetadata(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", name, err)
	}
	if n == 0 {
		return nil, runtime.Retriable(fmt.Errorf("topic %q has no partitions yet", name))
	}
	ts := &topicState{name: name, partitions: n}
	if s.cfg.Idempotent {
		p, err := s.newProducer(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("topic %q: idempotent producer: %w", name, err)
		}
		ts.producer = p
	}
	s.topics[name] = ts
	return ts, nil
}

// forget drops a topic's state (after the broker said it is gone or has
// other partitions), so the next use looks it up again.
func (s *Sink) forget(ts *topicState) {
	delete(s.topics, ts.name)
	if s.fixed == ts {
		s.fixed = nil
	}
	if s.lastTopic == ts {
		s.lastTopic = nil
	}
	for k := range s.doubt {
		if k.topic == ts {
			delete(s.doubt, k)
		}
	}
}

// recordTopic returns the topic of r.
func (s *Sink) recordTopic(ctx context.Context, r *runtime.Record) (*topicState, error) {
	if s.tmpl.Fixed() {
		if s.fixed == nil {
			ts, err := s.topic(ctx, s.cfg.Topic)
			if err != nil {
				return nil, err
			}
			s.fixed = ts
		}
		return s.fixed, nil
	}
	cacheable := !s.tmpl.Uses("database")
	if cacheable && s.lastTopic != nil && r.Stream == s.lastStream && r.Namespace == s.lastNS {
		return s.lastTopic, nil
	}
	name, err := s.tmpl.Render(r)
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", s.cfg.Topic, err)
	}
	ts, err := s.topic(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("record of stream %q, topic %q: %w", r.Stream, s.cfg.Topic, err)
	}
	if cacheable {
		s.lastStream, s.lastNS, s.lastTopic = r.Stream, r.Namespace, ts
	}
	return ts, nil
}

// Write publishes records and returns once the broker acknowledged all of
// them. See the package documentation for retries.
func (s *Sink) Write(ctx context.Context, records []runtime.Record) error {
	if len(records) == 0 {
		return nil
	}
	if s.lease != nil {
		if err := s.lease.Check(ctx); err != nil {
			return err
		}
	}
	if err := s.encode(ctx, records); err != nil {
		return err
	}
	s.arrange()
	var maxPos uint64
	for i := range s.entries {
		maxPos = max(maxPos, s.entries[i].pos)
	}
	for gi := range s.groups {
		g := &s.groups[gi]
		idx := s.order[g.off : g.off+g.n]
		for len(idx) > 0 {
			n, bytes := 0, 0
			for n < len(idx) && n < maxChunkRecords {
				e := &s.entries[idx[n]]
				sz := e.v1 - e.v0 + max(e.k1-e.k0, 0) + 16
				if n > 0 && bytes+sz > maxChunkBytes {
					break
				}
				bytes += sz
				n++
			}
			if err := s.send(ctx, g, idx[:n]); err != nil {
				return err
			}
			idx = idx[n:]
		}
	}
	// Success: forget acknowledged positions this Write covered.
	for p := range s.done {
		if p <= maxPos {
			delete(s.done, p)
		}
	}
	if len(s.done) == 0 {
		s.done = nil
	}
	return nil
}

// encode fills s.entries and s.buf for records, skipping the records the
// broker already acknowledged.
func (s *Sink) encode(ctx context.Context, records []runtime.Record) error {
	s.buf = s.buf[:0]
	s.entries = slices.Grow(s.entries[:0], len(records))[:len(records)]
	sticky := mix(records[0].Position.Offset)
	for i := range records {
		r := &records[i]
		e := &s.entries[i]
		*e = entry{pos: r.Position.Offset, k0: -1, k1: -1}
		if _, ok := s.done[e.pos]; ok {
			e.skip = true
			continue
		}
		ts, err := s.recordTopic(ctx, r)
		if err != nil {
			return err
		}
		e.topic = ts
		k0 := len(s.buf)
		var keyed bool
		if s.buf, keyed, err = s.key.appendKey(s.buf, &s.cfg, r); err != nil {
			return err
		}
		if keyed {
			e.k0 = k0
			e.k1 = len(s.buf)
			e.keyed = true
			e.part = fnv32a(s.buf[e.k0:e.k1]) % ts.partitions
		} else {
			e.part = uint32(sticky % uint64(ts.partitions))
		}
		e.v0 = len(s.buf)
		if s.typed != nil {
			if s.buf, err = s.typed.Append(ctx, s.buf, ts.name+"-value", r); err != nil {
				return err
			}
		} else {
			s.buf = s.enc(s.buf, r)
		}
		e.v1 = len(s.buf)
		if e.v1-e.v0 > maxRecordBytes {
			return fmt.Errorf("record at position %d of stream %q encodes to %d bytes, over the broker's 10 MiB request limit", e.pos, r.Stream, e.v1-e.v0)
		}
	}
	return nil
}

// arrange groups the entries by (topic, partition), in order of first
// appearance, keeping record order inside each group (a counting sort).
func (s *Sink) arrange() {
	s.groups = s.groups[:0]
	last := -1
	for i := range s.entries {
		e := &s.entries[i]
		if e.skip {
			continue
		}
		if last >= 0 && s.groups[last].topic == e.topic && s.groups[last].part == e.part {
			e.group = last
			s.groups[last].n++
			continue
		}
		last = -1
		for gi := range s.groups {
			if s.groups[gi].topic == e.topic && s.groups[gi].part == e.part {
				last = gi
				break
			}
		}
		if last < 0 {
			s.groups = append(s.groups, group{topic: e.topic, part: e.part})
			last = len(s.groups) - 1
		}
		e.group = last
		s.groups[last].n++
	}
	off := 0
	for gi := range s.groups {
		s.groups[gi].off = off
		off += s.groups[gi].n
		s.groups[gi].n = 0
	}
	s.order = slices.Grow(s.order[:0], off)[:off]
	for i := range s.entries {
		e := &s.entries[i]
		if e.skip {
			continue
		}
		g := &s.groups[e.group]
		s.order[g.off+g.n] = i
		g.n++
	}
}

// send publishes one chunk (entries idx of group g).
func (s *Sink) send(ctx context.Context, g *group, idx []int) error {
	s.recs = slices.Grow(s.recs[:0], len(idx))[:len(idx)]
	for j, i := range idx {
		e := &s.entries[i]
		var k []byte
		if e.keyed {
			k = s.buf[e.k0:e.k1:e.k1]
		}
		s.recs[j] = wire.Record{Key: k, Value: s.buf[e.v0:e.v1:e.v1]}
	}
	ts := g.topic
	var err error
	if ts.producer == nil {
		_, err = s.cl.PublishBatch(ctx, ts.name, client.Partition(g.part), s.recs)
	} else {
		err = s.sendIdempotent(ctx, g, idx)
	}
	clear(s.recs) // do not keep references into buf
	if err == nil {
		return nil
	}
	// Later chunks may still go out on a retry; the ones before this one
	// must not go out twice.
	s.markDone(idx)
	switch {
	case errors.Is(err, client.ErrUnknownTopic), errors.Is(err, client.ErrInvalidPartition):
		// The topic was deleted or repartitioned: look it up again on retry.
		s.forget(ts)
		err = runtime.Retriable(err)
	}
	return fmt.Errorf("publish %d records to topic %q partition %d: %w", len(idx), ts.name, g.part, err)
}

// markDone records, after a failed chunk, the positions of the chunks of
// this Write that the broker acknowledged before it.
func (s *Sink) markDone(failed []int) {
	if s.done == nil {
		s.done = map[uint64]struct{}{}
	}
	first := failed[0]
	for gi := range s.groups {
		g := &s.groups[gi]
		for _, i := range s.order[g.off : g.off+g.n] {
			if i == first {
				return
			}
			s.done[s.entries[i].pos] = struct{}{}
		}
	}
}

func (s *Sink) sendIdempotent(ctx context.Context, g *group, idx []int) error {
	ts := g.topic
	dk := doubtKey{ts, g.part}
	if prev, ok := s.doubt[dk]; ok && !s.samePositions(prev, idx) {
		// A different chunk than the one in doubt: start a new epoch so the
		// broker cannot take it for a duplicate of the old one.
		if err := ts.producer.Reset(ctx); err != nil {
			return err
		}
		for k := range s.doubt {
			if k.topic == ts {
				delete(s.doubt, k)
			}
		}
	}
	_, err := ts.producer.PublishBatch(ctx, g.part, s.recs)
	if err == nil {
		delete(s.doubt, dk)
		return nil
	}
	if s.lease != nil && errors.Is(err, client.ErrProducerFenced) {
		return fmt.Errorf("%w (the broker refused this node's producer epoch): %w", runtime.ErrFenced, err)
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.InDoubt {
		if s.doubt == nil {
			s.doubt = map[doubtKey][]uint64{}
		}
		ps := make([]uint64, len(idx))
		for j, i := range idx {
			ps[j] = s.entries[i].pos
		}
		s.doubt[dk] = ps
		return err
	}
	if errors.Is(err, client.ErrUnknownProducerID) || errors.Is(err, client.ErrOutOfOrderSequence) || errors.Is(err, client.ErrInDoubtBatch) {
		// The broker lost (or we abandoned) this producer's sequence state:
		// start a new epoch and let the runtime retry.
		if rerr := ts.producer.Reset(ctx); rerr != nil {
			return rerr
		}
		for k := range s.doubt {
			if k.topic == ts {
				delete(s.doubt, k)
			}
		}
		return runtime.Retriable(err)
	}
	return err
}

func (s *Sink) samePositions(prev []uint64, idx []int) bool {
	if len(prev) != len(idx) {
		return false
	}
	for j, i := range idx {
		if s.entries[i].pos != prev[j] {
			return false
		}
	}
	return true
}

// keyCache finds the key fields of records, remembering the last schema.
type keyCache struct {
	schema *runtime.Schema
	field  string
	idx    []int // positions of the key fields; nil: the record is not keyed
}

// appendKey appends r's key to buf and reports whether r is keyed. With
// Config.KeyField every record is keyed by that field; otherwise change
// events are keyed by their schema's row key (runtime.Schema.Key). A key of
// one field is that field's text (a string as is, any other value as
// compact JSON); a key of several fields is a compact JSON object of them,
// in key order. A record whose key fields are null, absent, or removed by
// a transform is not keyed.
func (k *keyCache) appendKey(buf []byte, cfg *Config, r *runtime.Record) ([]byte, bool, error) {
	field := cfg.KeyField
	if field == "" {
		switch r.Op {
		case runtime.OpInsert, runtime.OpUpdate, runtime.OpDelete, runtime.OpSnapshot:
		default:
			return buf, false, nil
		}
	}
	if r.Schema == nil {
		return buf, false, nil
	}
	if k.schema != r.Schema || k.field != field {
		k.schema, k.field, k.idx = r.Schema, field, nil
		if field != "" {
			i := r.Schema.Index(field)
			if i < 0 {
				k.schema = nil
				return buf, false, fmt.Errorf("key_field %q is not a field of stream %q (fields: %s)", field, r.Stream, strings.Join(r.Schema.Names(), ", "))
			}
			k.idx = []int{i}
		} else {
			for _, i := range r.Schema.Key {
				if i < 0 || i >= len(r.Schema.Fields) || r.Schema.Fields[i].Type.Kind == runtime.KindAbsent {
					k.idx = nil // a key field was removed: no key
					break
				}
				k.idx = append(k.idx, i)
			}
		}
	}
	if len(k.idx) == 0 {
		return buf, false, nil
	}
	row := r.Row()
	for _, i := range k.idx {
		if i >= len(row) || row[i].IsNull() || row[i].Kind() == runtime.KindAbsent {
			return buf, false, nil
		}
	}
	if len(k.idx) == 1 {
		v := row[k.idx[0]]
		if v.Kind() == runtime.KindString {
			return append(buf, v.AsString()...), true, nil
		}
		return runtime.AppendJSON(buf, v), true, nil
	}
	buf = append(buf, '{')
	for j, i := range k.idx {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = runtime.AppendJSONString(buf, r.Schema.Fields[i].Name)
		buf = append(buf, ':')
		buf = runtime.AppendJSON(buf, row[i])
	}
	return append(buf, '}'), true, nil
}

// fnv32a is FNV-1a, 32 bits.
func fnv32a(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// mix is splitmix64's finaliser: it spreads consecutive positions.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// BrokerConnected implements runtime.BrokerLink.
func (s *Sink) BrokerConnected() bool {
	cl := s.link.Load()
	return cl != nil && cl.Connected()
}

// Probe implements runtime.Prober: the broker's version and whether the
// topic exists or will be created (a templated topic is known only per
// record, so only the broker is checked).
func (s *Sink) Probe(ctx context.Context) ([]runtime.Finding, error) {
	var topics []broker.TopicPlan
	if s.tmpl.Fixed() {
		topics = append(topics, broker.TopicPlan{Name: s.cfg.Topic, Create: s.cfg.AutoCreate})
	}
	out, err := broker.Probe(ctx, s.cfg.Broker, topics)
	if err == nil && !s.tmpl.Fixed() {
		out = append(out, runtime.Finding{Check: "topic " + s.cfg.Topic, Level: runtime.FindingOK,
			Detail: "a template: each record's topic is looked up (and created when auto-create is on) when first used"})
	}
	return out, err
}

// UseFormats gives the sink the process's typed formats (its schema
// registry), which the typed formats need (Open fails without them). Call
// before Open.
func (s *Sink) UseFormats(f runtime.TypedFormats) { s.formats = f }
