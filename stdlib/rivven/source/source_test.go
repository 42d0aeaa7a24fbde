package source

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/conformance"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestDecodeRoundTrip: every format the sink writes decodes back into a
// record that encodes to the same SourceEvent (metadata and all).
func TestDecodeRoundTrip(t *testing.T) {
	var in []runtime.Record
	for _, pattern := range datagen.Patterns {
		for _, cdc := range []bool{false, true} {
			src, err := datagen.New(datagen.Config{Pattern: pattern, CDCMode: cdc, MaxEvents: 200, Seed: 4, HasSeed: true,
				Namespace: "ns", IncludeSequence: true, IncludeTimestamp: true,
				CustomFields: []datagen.CustomField{{Name: "f", Value: runtime.Float(0.5)}, {Name: "e", Value: runtime.String("<&>\u2028é")}}},
				func() time.Time { return t0 })
			if err != nil {
				t.Fatal(err)
			}
			batch := make([]runtime.Record, 200)
			n, _ := src.Read(context.Background(), batch)
			in = append(in, batch[:n]...)
		}
	}
	encoders := map[string]func([]byte, *runtime.Record) []byte{
		"source_event": func(b []byte, r *runtime.Record) []byte { return runtime.AppendSourceEvent(b, r, true, true) },
		"debezium":     runtime.AppendDebezium,
	}
	for name, enc := range encoders {
		var d decoder
		for i := range in {
			r := &in[i]
			want := string(runtime.AppendSourceEvent(nil, r, true, true))
			var got runtime.Record
			d.decode(&got, "topic", &wire.MessageData{Value: enc(nil, r), Timestamp: 1})
			got.Position = r.Position
			if s := string(runtime.AppendSourceEvent(nil, &got, true, true)); s != want {
				t.Fatalf("%s: record %d\n got %s\nwant %s", name, i, s, want)
			}
		}
	}
	// row: the row comes back as a plain record of stream <topic>.
	var d decoder
	r := &in[0]
	var got runtime.Record
	d.decode(&got, "topic", &wire.MessageData{Value: runtime.AppendJSONRow(nil, r.Schema, r.Row(), "", 0), Timestamp: t0.UnixMilli()})
	if a, b := string(runtime.AppendJSONRow(nil, got.Schema, got.After, "", 0)), string(runtime.AppendJSONRow(nil, r.Schema, r.Row(), "", 0)); a != b || got.Stream != "topic" || !got.Time.Equal(t0) {
		t.Fatalf("row: %s vs %s, stream %q, time %v", a, b, got.Stream, got.Time)
	}
	// Not JSON: the bytes as a string.
	d.decode(&got, "topic", &wire.MessageData{Value: []byte("plain text")})
	if s := string(runtime.AppendJSONRow(nil, got.Schema, got.After, "", 0)); s != `{"value":"plain text"}` {
		t.Fatalf("text: %s", s)
	}
	// Records of one stream and shape share a schema.
	var a, b runtime.Record
	d.decode(&a, "t", &wire.MessageData{Value: []byte(`{"x":1,"y":2}`)})
	d.decode(&b, "t", &wire.MessageData{Value: []byte(`{"x":3,"y":4}`)})
	if a.Schema != b.Schema {
		t.Fatal("schemas not shared")
	}
}

func startBroker(t testing.TB) (*brokertest.Server, *client.Client) {
	t.Helper()
	s, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := client.New(client.Config{BootstrapServers: []string{s.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

// publish appends n records "v<i>" to partition p of topic.
func publish(t testing.TB, c *client.Client, topic string, p uint32, from, n int) {
	t.Helper()
	var rs []wire.Record
	for i := from; i < from+n; i++ {
		rs = append(rs, wire.Record{Value: fmt.Appendf(nil, `{"v":%d,"p":%d}`, i, p)})
	}
	if _, err := c.PublishBatch(context.Background(), topic, client.Partition(p), rs); err != nil {
		t.Fatal(err)
	}
}

func newSource(t testing.TB, addr string, cfg Config) *Source {
	t.Helper()
	cfg.Broker = broker.Conn{BootstrapServers: []string{addr}}
	if cfg.ConsumerGroup == "" {
		cfg.ConsumerGroup = "g"
	}
	cfg.MaxWaitMs = 20
	if cfg.Retry == (runtime.Retry{}) {
		cfg.Retry = runtime.DefaultRetry()
	}
	if cfg.SessionTimeoutMs == 0 {
		cfg.SessionTimeoutMs, cfg.HeartbeatIntervalMs, cfg.RebalanceTimeoutMs = 1000, 50, 2000
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func readN(t testing.TB, s *Source, n int) []runtime.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []runtime.Record
	for len(out) < n {
		batch := make([]runtime.Record, min(7, n-len(out)))
		k, err := s.Read(ctx, batch)
		if err != nil {
			t.Fatalf("after %d records: %v", len(out), err)
		}
		out = append(out, batch[:k]...)
	}
	return out
}

func committed(t testing.TB, c *client.Client, group, topic string, p uint32) uint64 {
	t.Helper()
	off, ok, err := c.GetOffset(context.Background(), group, topic, p)
	if err != nil || !ok {
		t.Fatalf("offset of %s/%d: %v %v", topic, p, ok, err)
	}
	return off
}

func row(r runtime.Record) string {
	return string(runtime.AppendJSONRow(nil, r.Schema, r.After, "", 0))
}

// TestPositionsAndCommits: positions count up across partitions; Ack
// commits, per partition, the offset after the acknowledged prefix.
func TestPositionsAndCommits(t *testing.T) {
	b, c := startBroker(t)
	if _, err := c.CreateTopic(context.Background(), "t", 3); err != nil {
		t.Fatal(err)
	}
	for p := range uint32(3) {
		publish(t, c, "t", p, 0, 10)
	}
	_ = b
	s := newSource(t, b.Addr(), Config{Topics: []string{"t"}})
	rs := readN(t, s, 30)
	where := map[uint64][2]int{} // position → partition, value
	next := map[int]int{}
	for i, r := range rs {
		if r.Position.Offset != uint64(i) {
			t.Fatalf("record %d has position %d", i, r.Position.Offset)
		}
		var v, p int
		fmt.Sscanf(row(r), `{"v":%d,"p":%d}`, &v, &p)
		if v != next[p] {
			t.Fatalf("partition %d: got v%d, want v%d (per-partition order)", p, v, next[p])
		}
		next[p]++
		where[r.Position.Offset] = [2]int{p, v}
	}
	// Acknowledge up to position 12: each partition commits the offset after
	// its last record at or before 12.
	if err := s.Ack(context.Background(), runtime.Position{Offset: 12}); err != nil {
		t.Fatal(err)
	}
	want := map[int]uint64{}
	for pos := uint64(0); pos <= 12; pos++ {
		w := where[pos]
		want[w[0]] = uint64(w[1] + 1)
	}
	for p := range uint32(3) {
		if got := committed(t, c, "g", "t", p); got != want[int(p)] {
			t.Errorf("partition %d committed %d, want %d", p, got, want[int(p)])
		}
	}
	if err := s.Ack(context.Background(), runtime.Position{Offset: 29}); err != nil {
		t.Fatal(err)
	}
	for p := range uint32(3) {
		if got := committed(t, c, "g", "t", p); got != 10 {
			t.Errorf("partition %d committed %d, want 10", p, got)
		}
	}
	// A new source of the group (after this one left) starts there.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	publish(t, c, "t", 1, 10, 1)
	s2 := newSource(t, b.Addr(), Config{Topics: []string{"t"}})
	if r := readN(t, s2, 1); row(r[0]) != `{"v":10,"p":1}` || r[0].Position.Offset != 30 {
		t.Fatalf("resumed with %s at %d", row(r[0]), r[0].Position.Offset)
	}
}

func TestStartOffset(t *testing.T) {
	b, c := startBroker(t)
	publish(t, c, "t", 0, 0, 5) // auto-created with 3 partitions
	latest := newSource(t, b.Addr(), Config{Topics: []string{"t"}, ConsumerGroup: "latest", StartOffset: "latest"})
	earliest := newSource(t, b.Addr(), Config{Topics: []string{"t"}, ConsumerGroup: "earliest"})
	if got := committed(t, c, "latest", "t", 0); got != 5 {
		t.Fatalf("latest: start committed at once as %d, want 5", got)
	}
	publish(t, c, "t", 0, 5, 1)
	if r := readN(t, latest, 1); row(r[0]) != `{"v":5,"p":0}` {
		t.Fatalf("latest read %s", row(r[0]))
	}
	if r := readN(t, earliest, 1); row(r[0]) != `{"v":0,"p":0}` {
		t.Fatalf("earliest read %s", row(r[0]))
	}
	future := newSource(t, b.Addr(), Config{Topics: []string{"t"}, ConsumerGroup: "ts", StartOffset: "timestamp", StartTimestamp: "2999-01-01T00:00:00Z"})
	if got := committed(t, c, "ts", "t", 0); got != 6 {
		t.Fatalf("timestamp after every record: start %d, want 6 (latest)", got)
	}
	_ = future
	past := newSource(t, b.Addr(), Config{Topics: []string{"t"}, ConsumerGroup: "ts0", StartOffset: "timestamp", StartTimestamp: "2000-01-01T00:00:00Z"})
	if r := readN(t, past, 1); row(r[0]) != `{"v":0,"p":0}` {
		t.Fatalf("timestamp in the past read %s", row(r[0]))
	}
}

func TestMissingTopic(t *testing.T) {
	b, c := startBroker(t)
	s, err := New(Config{Broker: broker.Conn{BootstrapServers: []string{b.Addr()}}, Topics: []string{"later"},
		ConsumerGroup: "g", RequireTopicExists: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err == nil || !strings.Contains(err.Error(), `topic "later" does not exist (settings.topic.require_topic_exists is set)`) {
		t.Fatalf("open: %v", err)
	}
	s.Close()
	// Without require_topic_exists the source waits for the topic.
	w := newSource(t, b.Addr(), Config{Topics: []string{"later"}})
	go func() {
		time.Sleep(50 * time.Millisecond)
		publish(t, c, "later", 2, 0, 1)
	}()
	if r := readN(t, w, 1); row(r[0]) != `{"v":0,"p":2}` {
		t.Fatalf("read %s", row(r[0]))
	}
}

func TestNewErrors(t *testing.T) {
	conn := broker.Conn{BootstrapServers: []string{"localhost:9092"}}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Broker: conn, ConsumerGroup: "g"}, "no topics"},
		{Config{Broker: conn, Topics: []string{"_x"}, ConsumerGroup: "g"}, "starts with '_'"},
		{Config{Broker: conn, Topics: []string{"t"}}, "no consumer group"},
		{Config{Broker: conn, Topics: []string{"t"}, ConsumerGroup: "g", StartOffset: "timestamp", StartTimestamp: "yesterday"}, "not an RFC 3339 time"},
		{Config{Broker: conn, Topics: []string{"t"}, ConsumerGroup: "g", StartOffset: "middle"}, "unknown start_offset"},
		{Config{Topics: []string{"t"}, ConsumerGroup: "g"}, "set bootstrap_servers"},
	} {
		if _, err := New(c.cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestConformance runs the shared source suite. Each sub-test consumes
// as its own group (the two sources of crash-replay share theirs), so
// every one starts at the beginning of the 1 200 records.
func TestConformance(t *testing.T) {
	b, c := startBroker(t)
	if _, err := c.CreateTopic(context.Background(), "conf", 3); err != nil {
		t.Fatal(err)
	}
	for p := range uint32(3) {
		publish(t, c, "conf", p, 0, 400)
	}
	conformance.RunSource(t, func(t *testing.T) runtime.Source {
		s, err := New(Config{Broker: broker.Conn{BootstrapServers: []string{b.Addr()}}, Topics: []string{"conf"},
			ConsumerGroup: t.Name(), MaxWaitMs: 20}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, conformance.SourceOptions{Records: 1000, Resumes: true})
}
