package sink_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	// schema's row key is id (as a table's primary key would be).
	schema = &runtime.Schema{Fields: []runtime.Field{
		{Name: "id", Type: runtime.Type{Kind: runtime.KindString}},
		{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}},
	}, Key: []int{0}}
)

func startBroker(t testing.TB, cfg brokertest.Config) *brokertest.Server {
	t.Helper()
	s, err := brokertest.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func open(t testing.TB, cfg sink.Config) *sink.Sink {
	t.Helper()
	s, err := sink.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func config(addr, topic string) sink.Config {
	return sink.Config{Broker: broker.Conn{BootstrapServers: []string{addr}}, Topic: topic,
		Idempotent: true, AutoCreate: true, Format: "source_event"}
}

// rec builds a record at position pos.
func rec(pos uint64, op runtime.Op, id string) runtime.Record {
	r := runtime.Record{Stream: "s", Op: op, Schema: schema, Time: t0, Position: runtime.Position{Offset: pos}}
	row := []runtime.Value{runtime.String(id), runtime.Int(int64(pos))}
	if op == runtime.OpDelete {
		r.Before = row
	} else {
		r.After = row
	}
	return r
}

func recs(from, n int, op runtime.Op) []runtime.Record {
	out := make([]runtime.Record, n)
	for i := range out {
		out[i] = rec(uint64(from+i), op, fmt.Sprintf("k%d", (from+i)%7))
	}
	return out
}

// values returns every value of topic, by partition.
func values(s *brokertest.Server, topic string, parts uint32) [][]string {
	out := make([][]string, parts)
	for p := range parts {
		for _, m := range s.Records(topic, p) {
			out[p] = append(out[p], string(m.Value))
		}
	}
	return out
}

func count(vs [][]string) int {
	n := 0
	for _, p := range vs {
		n += len(p)
	}
	return n
}

func TestKeysAndPartitions(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	cfg := config(b.Addr(), "t")
	cfg.Partitions = 4
	s := open(t, cfg)
	ctx := context.Background()
	// Change events are keyed by id: one key, one partition.
	if err := s.Write(ctx, recs(0, 70, runtime.OpInsert)); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, recs(70, 30, runtime.OpDelete)); err != nil {
		t.Fatal(err)
	}
	partOf := map[string]uint32{}
	total := 0
	for p := range uint32(4) {
		for _, m := range b.Records("t", p) {
			total++
			k := string(m.Key)
			if q, ok := partOf[k]; ok && q != p {
				t.Fatalf("key %s in partitions %d and %d", k, q, p)
			}
			partOf[k] = p
		}
	}
	if total != 100 || len(partOf) != 7 {
		t.Fatalf("%d records, %d keys; want 100 and 7", total, len(partOf))
	}
	// Plain records are not keyed (no key_field): one Write, one partition.
	if err := s.Write(ctx, recs(100, 50, runtime.OpRecord)); err != nil {
		t.Fatal(err)
	}
	keyless := map[uint32]int{}
	for p := range uint32(4) {
		for _, m := range b.Records("t", p) {
			if m.Key == nil {
				keyless[p]++
			}
		}
	}
	if len(keyless) != 1 {
		t.Fatalf("keyless records of one Write spread over partitions %v", keyless)
	}
	// key_field keys every record; ints are keyed by their JSON text.
	cfg.Topic, cfg.KeyField = "t2", "n"
	s2 := open(t, cfg)
	if err := s2.Write(ctx, recs(0, 3, runtime.OpRecord)); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for p := range uint32(4) {
		for _, m := range b.Records("t2", p) {
			keys = append(keys, string(m.Key))
		}
	}
	if strings.Join(keys, ",") == "" || len(keys) != 3 {
		t.Fatalf("keys %q", keys)
	}
	cfg.Topic, cfg.KeyField = "t3", "nope"
	s3 := open(t, cfg)
	err := s3.Write(ctx, recs(0, 1, runtime.OpRecord))
	if err == nil || !strings.Contains(err.Error(), `key_field "nope" is not a field of stream "s" (fields: id, n)`) || runtime.IsRetriable(err) {
		t.Fatalf("unknown key field: %v", err)
	}
}

func TestFormats(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	up := rec(5, runtime.OpUpdate, "a")
	up.Before = []runtime.Value{runtime.String("a"), runtime.Int(4)}
	up.Namespace = "public"
	up.Meta = (&runtime.Object{}).Set("cdc", runtime.String("x"))
	want := map[string]string{
		"source_event": `{"event_type":"update","stream":"s","namespace":"public","timestamp":"2026-01-02T03:04:05.006Z","data":{"before":{"id":"a","n":4},"after":{"id":"a","n":5}},"metadata":{"position":"5","sequence":5,"cdc":"x"}}`,
		"debezium":     `{"before":{"id":"a","n":4},"after":{"id":"a","n":5},"source":{"connector":"rivven-connect","name":"s","schema":"public","table":"s","ts_ms":1767323045006,"sequence":"5","event_type":"update","cdc":"x"},"op":"u","ts_ms":1767323045006}`,
		"row":          `{"id":"a","n":5}`,
	}
	for format, w := range want {
		cfg := config(b.Addr(), "f-"+strings.ReplaceAll(format, "_", "-"))
		cfg.Format = format
		s := open(t, cfg)
		if err := s.Write(context.Background(), []runtime.Record{up}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range values(b, cfg.Topic, 3) {
			got = append(got, p...)
		}
		if len(got) != 1 || got[0] != w {
			t.Errorf("%s: got %q\nwant %q", format, got, w)
		}
	}
	// Typed formats need the process's schema registry (runtime.Env.Formats).
	for _, f := range []string{"avro", "protobuf"} {
		cfg := config(b.Addr(), "x")
		cfg.Format = f
		s, err := sink.New(cfg, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := s.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "needs a schema registry") {
			t.Errorf("%s without a registry: %v", f, err)
		}
		s.Close()
	}
}

func TestTopicTemplate(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	s := open(t, config(b.Addr(), "cdc.{schema}.{table}"))
	ctx := context.Background()
	a := rec(0, runtime.OpInsert, "x")
	a.Stream, a.Namespace = "users", "public"
	c := rec(1, runtime.OpInsert, "y")
	c.Stream = "inventory.items" // no namespace: schema from the stream
	if err := s.Write(ctx, []runtime.Record{a, c, a}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Topics(), " "); got != "cdc.inventory.items cdc.public.users" {
		t.Fatalf("topics %q", got)
	}
	if n := count(values(b, "cdc.public.users", 3)); n != 2 {
		t.Fatalf("cdc.public.users has %d records", n)
	}
	// A stream that makes an invalid topic name: refused before sending.
	bad := rec(2, runtime.OpInsert, "z")
	bad.Stream, bad.Namespace = "has space", "public"
	err := s.Write(ctx, []runtime.Record{bad})
	if err == nil || runtime.IsRetriable(err) || !strings.Contains(err.Error(), `topic name "cdc.public.has space" contains ' '`) {
		t.Fatalf("bad topic: %v", err)
	}
	// {database} needs the metadata key.
	s2 := open(t, config(b.Addr(), "{database}.{stream}"))
	err = s2.Write(ctx, []runtime.Record{a})
	if err == nil || !strings.Contains(err.Error(), `needs the string metadata key "database"`) {
		t.Fatalf("database: %v", err)
	}
	a.Meta = (&runtime.Object{}).Set("database", runtime.String("shop"))
	if err := s2.Write(ctx, []runtime.Record{a}); err != nil {
		t.Fatal(err)
	}
	if n := count(values(b, "shop.users", 3)); n != 1 {
		t.Fatalf("shop.users has %d records", n)
	}
}

func TestTopicCreation(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	cfg := config(b.Addr(), "absent")
	cfg.AutoCreate = false
	s, err := sink.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), `topic "absent" does not exist and topic auto-creation is off`) {
		t.Fatalf("open: %v", err)
	}
	cfg.AutoCreate, cfg.Partitions = true, 5
	open(t, cfg)
	c, err := client.New(client.Config{BootstrapServers: []string{b.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.GetMetadata(context.Background(), "absent"); err != nil || n != 5 {
		t.Fatalf("created with %d partitions (%v), want 5", n, err)
	}
	if _, err := sink.New(config(b.Addr(), "_schemas"), nil); err == nil || !strings.Contains(err.Error(), "starts with '_'") {
		t.Fatalf("_schemas: %v", err)
	}
}

// faultOn drops the connection on the given 1-based occurrences of kind.
func faultOn(kind wire.RequestKind, action brokertest.Action, nth ...int) (brokertest.FaultFunc, *atomic.Int32) {
	var seen, hit atomic.Int32
	return func(ri brokertest.RequestInfo) brokertest.Fault {
		if ri.Kind != kind {
			return brokertest.Fault{}
		}
		n := int(seen.Add(1))
		for _, x := range nth {
			if n == x {
				hit.Add(1)
				return brokertest.Fault{Action: action}
			}
		}
		return brokertest.Fault{}
	}, &hit
}

// TestRetryNoDuplicates: a chunk applied whose reply was lost, resent by
// the runtime's retry (same records), is not appended twice; chunks of the
// failed Write that had succeeded are not resent.
func TestRetryNoDuplicates(t *testing.T) {
	for _, idem := range []bool{true, false} {
		t.Run(fmt.Sprintf("idempotent=%v", idem), func(t *testing.T) {
			b := startBroker(t, brokertest.Config{})
			cfg := config(b.Addr(), "{stream}")
			cfg.Idempotent = idem
			kind := wire.KindPublishBatch
			if idem {
				kind = wire.KindIdempotentPublishBatch
			}
			s := open(t, cfg)
			ctx := context.Background()
			// Two streams → two chunks; the second one is not applied.
			batch := recs(0, 20, runtime.OpRecord)
			for i := 10; i < 20; i++ {
				batch[i].Stream = "other"
			}
			f, hit := faultOn(kind, brokertest.DropBeforeHandling, 2)
			b.SetFault(f)
			err := s.Write(ctx, batch)
			if err == nil || !runtime.IsRetriable(err) {
				t.Fatalf("first write: %v (retriable %v)", err, runtime.IsRetriable(err))
			}
			if hit.Load() != 1 {
				t.Fatal("no fault")
			}
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if n, m := count(values(b, "s", 3)), count(values(b, "other", 3)); n != 10 || m != 10 {
				t.Fatalf("s %d, other %d records; want 10 each", n, m)
			}
			if !idem {
				return
			}
			// Applied, reply lost: the resend is a duplicate for the broker.
			f, hit = faultOn(kind, brokertest.DropAfterHandling, 1)
			b.SetFault(f)
			next := recs(20, 10, runtime.OpRecord)
			if err := s.Write(ctx, next); err == nil || hit.Load() != 1 {
				t.Fatalf("write with lost reply: %v", err)
			}
			if err := s.Write(ctx, next); err != nil {
				t.Fatal(err)
			}
			if n := count(values(b, "s", 3)); n != 20 {
				t.Fatalf("s has %d records after the resend, want 20", n)
			}
			// Applied, reply lost, and then the runtime moves on to other
			// records of the same size (on_error: skip): they must be
			// appended, not taken for the duplicate.
			f, _ = faultOn(kind, brokertest.DropAfterHandling, 1)
			b.SetFault(f)
			if err := s.Write(ctx, recs(30, 10, runtime.OpRecord)); err == nil {
				t.Fatal("no error")
			}
			if err := s.Write(ctx, recs(40, 10, runtime.OpRecord)); err != nil {
				t.Fatal(err)
			}
			if n := count(values(b, "s", 3)); n != 40 {
				t.Fatalf("s has %d records, want 40", n)
			}
		})
	}
}

// TestIsolation: after a failed Write the runtime may write the records
// one at a time (on_error: skip); records already acknowledged by the
// broker are not sent again.
func TestIsolation(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	s := open(t, config(b.Addr(), "{stream}"))
	batch := recs(0, 6, runtime.OpRecord)
	for i := 3; i < 6; i++ {
		batch[i].Stream = "other"
	}
	f, _ := faultOn(wire.KindIdempotentPublishBatch, brokertest.DropBeforeHandling, 2)
	b.SetFault(f)
	if err := s.Write(context.Background(), batch); err == nil {
		t.Fatal("no error")
	}
	for i := range batch {
		if err := s.Write(context.Background(), batch[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if n, m := count(values(b, "s", 3)), count(values(b, "other", 3)); n != 3 || m != 3 {
		t.Fatalf("s %d, other %d; want 3 each", n, m)
	}
}

func TestChunks(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	cfg := config(b.Addr(), "big")
	cfg.Partitions = 1
	s := open(t, cfg)
	var batches atomic.Int32
	b.SetFault(func(ri brokertest.RequestInfo) brokertest.Fault {
		if ri.Kind == wire.KindIdempotentPublishBatch {
			batches.Add(1)
		}
		return brokertest.Fault{}
	})
	if err := s.Write(context.Background(), recs(0, 25_000, runtime.OpRecord)); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Records("big", 0)); n != 25_000 {
		t.Fatalf("%d records", n)
	}
	if n := batches.Load(); n != 3 {
		t.Fatalf("%d batches, want 3 (10 000 records at most each)", n)
	}
}

func TestConnectErrors(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	addr := b.Addr()
	b.Close()
	s, err := sink.New(config(addr, "t"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Open(context.Background())
	if want := "cannot connect to the broker at " + addr + ": connection refused"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	var ce *broker.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("%T", err)
	}
}

// fakeFormats encodes every record as "<subject>|<stream>".
type fakeFormats struct{}

func (fakeFormats) NewEncoder(format string) (runtime.RecordEncoder, error) {
	return fakeEncoder{}, nil
}

type fakeEncoder struct{}

func (fakeEncoder) Append(_ context.Context, buf []byte, subject string, r *runtime.Record) ([]byte, error) {
	return append(buf, subject+"|"+r.Stream...), nil
}

func TestTypedFormatUsesTopicSubject(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	cfg := config(b.Addr(), "orders.{stream}")
	cfg.Format = "avro"
	s, err := sink.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.UseFormats(fakeFormats{})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(context.Background(), recs(1, 1, runtime.OpInsert)); err != nil {
		t.Fatal(err)
	}
	if got := values(b, "orders.s", 3); count(got) != 1 || strings.Join(slices.Concat(got...), "") != "orders.s-value|s" {
		t.Fatalf("values %q", got)
	}
}

// A composite row key is the compact JSON object of its fields, in key
// order; a key field that is null leaves the record unkeyed, and so does a
// key field a transform removed.
func TestCompositeAndRemovedRowKeys(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	cfg := config(b.Addr(), "ck")
	cfg.Partitions = 3
	s := open(t, cfg)
	ctx := context.Background()
	composite := &runtime.Schema{Fields: []runtime.Field{
		{Name: "a", Type: runtime.Type{Kind: runtime.KindInt}},
		{Name: "b", Type: runtime.Type{Kind: runtime.KindString}},
		{Name: "v", Type: runtime.Type{Kind: runtime.KindString}},
	}, Key: []int{1, 0}}
	removed := &runtime.Schema{Fields: []runtime.Field{
		{Name: "id", Type: runtime.Type{Kind: runtime.KindAbsent}},
		{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}},
	}, Key: []int{0}}
	batch := []runtime.Record{
		{Stream: "s", Op: runtime.OpInsert, Schema: composite, Time: t0, Position: runtime.Position{Offset: 1},
			After: []runtime.Value{runtime.Int(7), runtime.String("x"), runtime.String("first")}},
		{Stream: "s", Op: runtime.OpDelete, Schema: composite, Time: t0, Position: runtime.Position{Offset: 2},
			Before: []runtime.Value{runtime.Int(7), runtime.String("x"), runtime.Absent()}},
		{Stream: "s", Op: runtime.OpInsert, Schema: composite, Time: t0, Position: runtime.Position{Offset: 3},
			After: []runtime.Value{runtime.Null(), runtime.String("x"), runtime.String("null key")}},
		{Stream: "s", Op: runtime.OpInsert, Schema: removed, Time: t0, Position: runtime.Position{Offset: 4},
			After: []runtime.Value{runtime.Absent(), runtime.Int(1)}},
	}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var keys []string
	keyless := 0
	for p := range uint32(3) {
		for _, m := range b.Records("ck", p) {
			if m.Key == nil {
				keyless++
				continue
			}
			keys = append(keys, fmt.Sprintf("%s@%d", m.Key, p))
		}
	}
	if keyless != 2 || len(keys) != 2 || keys[0] != keys[1] || !strings.HasPrefix(keys[0], `{"b":"x","a":7}@`) {
		t.Fatalf("keys %v, %d keyless; want the insert and the delete both keyed {\"b\":\"x\",\"a\":7} on one partition, 2 keyless", keys, keyless)
	}
}
