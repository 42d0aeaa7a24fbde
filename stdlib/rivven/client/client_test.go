package client

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

func TestCreatePublishConsumeCommit(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	ctx := testCtx(t)

	n, err := c.CreateTopic(ctx, "orders", 2)
	if err != nil || n != 2 {
		t.Fatalf("CreateTopic = %d, %v", n, err)
	}
	if topics, err := c.ListTopics(ctx); err != nil || !slices.Equal(topics, []string{"orders"}) {
		t.Fatalf("ListTopics = %v, %v", topics, err)
	}
	if n, err := c.GetMetadata(ctx, "orders"); err != nil || n != 2 {
		t.Fatalf("GetMetadata = %d, %v", n, err)
	}
	cm, err := c.GetClusterMetadata(ctx)
	if err != nil || len(cm.Brokers) != 1 || len(cm.Topics) != 1 || len(cm.Topics[0].Partitions) != 2 {
		t.Fatalf("GetClusterMetadata = %+v, %v", cm, err)
	}

	before := time.Now().Add(-time.Second)
	res, err := c.PublishBatch(ctx, "orders", Partition(1), records("a", 3))
	if err != nil || res != (wire.PublishedBatch{BaseOffset: 0, Partition: 1, RecordCount: 3}) {
		t.Fatalf("PublishBatch = %+v, %v", res, err)
	}
	res, err = c.PublishBatch(ctx, "orders", Partition(1), records("b", 2))
	if err != nil || res.BaseOffset != 3 {
		t.Fatalf("second PublishBatch = %+v, %v", res, err)
	}
	msgs, err := c.Consume(ctx, "orders", 1, 0, ConsumeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := values(msgs), []string{"a-0", "a-1", "a-2", "b-0", "b-1"}; !slices.Equal(got, want) {
		t.Fatalf("Consume = %v, want %v", got, want)
	}
	if string(msgs[0].Key) != "k0" || msgs[4].Offset != 4 || msgs[4].Partition != 1 {
		t.Fatalf("message fields: %+v", msgs[4])
	}
	msgs, err = c.Consume(ctx, "orders", 1, 3, ConsumeOptions{MaxMessages: 1})
	if err != nil || !slices.Equal(values(msgs), []string{"b-0"}) {
		t.Fatalf("Consume from 3 = %v, %v", values(msgs), err)
	}

	if _, ok, err := c.GetOffset(ctx, "g1", "orders", 1); err != nil || ok {
		t.Fatalf("GetOffset before commit: ok=%v, %v", ok, err)
	}
	if err := c.CommitOffset(ctx, "g1", "orders", 1, 5); err != nil {
		t.Fatal(err)
	}
	if off, ok, err := c.GetOffset(ctx, "g1", "orders", 1); err != nil || !ok || off != 5 {
		t.Fatalf("GetOffset = %d %v %v", off, ok, err)
	}
	if err := c.CommitOffset(ctx, "g1", "orders", 1, 99); CodeOf(err) != CodeOffsetOutOfRange {
		t.Fatalf("commit beyond the log: %v", err)
	}
	if lo, hi, err := c.GetOffsetBounds(ctx, "orders", 1); err != nil || lo != 0 || hi != 5 {
		t.Fatalf("GetOffsetBounds = %d %d %v", lo, hi, err)
	}
	if off, ok, err := c.GetOffsetForTimestamp(ctx, "orders", 1, before); err != nil || !ok || off != 0 {
		t.Fatalf("GetOffsetForTimestamp(past) = %d %v %v", off, ok, err)
	}
	if _, ok, err := c.GetOffsetForTimestamp(ctx, "orders", 1, time.Now().Add(time.Hour)); err != nil || ok {
		t.Fatalf("GetOffsetForTimestamp(future) ok=%v %v", ok, err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConsumeLongPoll(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	ctx := testCtx(t)
	if _, err := c.CreateTopic(ctx, "lp", 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	msgs, err := c.Consume(ctx, "lp", 0, 0, ConsumeOptions{MaxWait: 150 * time.Millisecond})
	if err != nil || len(msgs) != 0 || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("empty long poll: %v %v after %v", msgs, err, time.Since(start))
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.PublishBatch(context.Background(), "lp", Partition(0), records("x", 1))
	}()
	start = time.Now()
	msgs, err = c.Consume(ctx, "lp", 0, 0, ConsumeOptions{MaxWait: 10 * time.Second})
	if err != nil || len(msgs) != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("woken long poll: %v %v after %v", values(msgs), err, time.Since(start))
	}
}

func TestTopicErrors(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	ctx := testCtx(t)
	if _, err := c.CreateTopic(ctx, "t", 1); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateTopic(ctx, "t", 1)
	if !errors.Is(err, ErrTopicAlreadyExists) || IsRetriable(err) || !strings.Contains(err.Error(), "Topic 't' already exists") {
		t.Fatalf("duplicate topic: %v", err)
	}
	for _, name := range []string{"_schemas", "_connect_status"} {
		if _, err := c.CreateTopic(ctx, name, 1); !errors.Is(err, ErrInvalidTopicName) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := c.GetMetadata(ctx, "missing"); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("missing topic: %v", err)
	}
	if _, err := c.PublishBatch(ctx, "t", Partition(7), records("x", 1)); !errors.Is(err, ErrInvalidPartition) {
		t.Fatalf("bad partition: %v", err)
	}
}

func TestPublishBatchLostReplyIsInDoubtAndNotResent(t *testing.T) {
	s := startBroker(t, brokertest.Config{Fault: brokertest.DropAfter(wire.KindPublishBatch, 1, brokertest.DropAfterHandling)})
	c := newClient(t, testConfig(s.Addr()))
	ctx := testCtx(t)
	_, err := c.PublishBatch(ctx, "t", Partition(0), records("x", 2))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeConnection || !e.InDoubt || !e.Retriable() {
		t.Fatalf("lost reply: %#v", err)
	}
	if got := len(s.Records("t", 0)); got != 2 {
		t.Fatalf("log holds %d records, want 2 (applied once, not resent)", got)
	}
	if _, err := c.PublishBatch(ctx, "t", Partition(0), records("y", 1)); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
}

func TestStaleIdleConnectionIsReplaced(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	ctx := testCtx(t)
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s.DropConnections()
	time.Sleep(20 * time.Millisecond) // let the close reach the client side
	if _, err := c.PublishBatch(ctx, "t", Partition(0), records("x", 1)); err != nil {
		t.Fatalf("publish on a re-dialed connection: %v", err)
	}
	if st := s.Stats(); st.Connections != 2 {
		t.Fatalf("connections = %d, want 2", st.Connections)
	}
}

func TestWrongCorrelationIDClosesConnection(t *testing.T) {
	s := startBroker(t, brokertest.Config{Fault: brokertest.DropAfter(wire.KindCreateTopic, 1, brokertest.WrongCorrelationID)})
	c := newClient(t, testConfig(s.Addr()))
	ctx := testCtx(t)
	_, err := c.CreateTopic(ctx, "t", 1)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "correlation id") {
		t.Fatalf("got %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Connections != 2 {
		t.Fatalf("connections = %d, want 2 (the confused one closed)", st.Connections)
	}
}

func TestResendableRequestSurvivesDrop(t *testing.T) {
	s := startBroker(t, brokertest.Config{Fault: brokertest.DropAfter(wire.KindListTopics, 1, brokertest.DropBeforeHandling)})
	c := newClient(t, testConfig(s.Addr()))
	if _, err := c.ListTopics(testCtx(t)); err != nil {
		t.Fatalf("ListTopics after a drop: %v", err)
	}
}

func TestRequestTimeout(t *testing.T) {
	s := startBroker(t, brokertest.Config{Fault: func(ri brokertest.RequestInfo) brokertest.Fault {
		if ri.Kind == wire.KindGetMetadata {
			return brokertest.Fault{Delay: 2 * time.Second}
		}
		return brokertest.Fault{}
	}})
	c := newClient(t, testConfig(s.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetMetadata(ctx, "t")
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
	// The connection that timed out was discarded; a new request works.
	if err := c.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func unusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestBootstrapServersInOrder(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(unusedAddr(t), s.Addr()))
	if err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("second bootstrap server not used: %v", err)
	}
}

func TestReconnectBackoffGivesUp(t *testing.T) {
	cfg := testConfig(unusedAddr(t))
	cfg.Retry = &RetryPolicy{MaxRetries: 3, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Multiplier: 2}
	c := newClient(t, cfg)
	start := time.Now()
	err := c.Ping(testCtx(t))
	if !errors.Is(err, ErrConnection) || !IsRetriable(err) {
		t.Fatalf("got %v", err)
	}
	// Four dial rounds with backoffs of 10-20, 20-40 and 20-40 ms between them.
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Fatalf("gave up after %v", d)
	}
}

func TestReconnectWhenBrokerComesBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(addr)
	cfg.Retry = &RetryPolicy{MaxRetries: 50, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Multiplier: 2}
	c := newClient(t, cfg)
	done := make(chan error, 1)
	go func() { done <- c.Ping(testCtx(t)) }()
	time.Sleep(100 * time.Millisecond)
	// Bring a broker up on the same port (a minimal proxy to a brokertest).
	s := startBroker(t, brokertest.Config{})
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port reuse not possible: %v", err)
	}
	defer ln.Close()
	go proxy(ln, s.Addr())
	if err := <-done; err != nil {
		t.Fatalf("Ping while the broker came back: %v", err)
	}
}

// proxy forwards each accepted connection to target.
func proxy(ln net.Listener, target string) {
	for {
		a, err := ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", target)
		if err != nil {
			a.Close()
			continue
		}
		go func() { defer a.Close(); defer b.Close(); copyConn(b, a) }()
		go func() { defer a.Close(); defer b.Close(); copyConn(a, b) }()
	}
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	cfg := testConfig(s.Addr())
	cfg.PoolSize = 3
	c := newClient(t, cfg)
	ctx := testCtx(t)
	if _, err := c.CreateTopic(ctx, "c", 4); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for p := uint32(0); p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := c.PublishBatch(ctx, "c", Partition(p), records("v", 5)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for p := uint32(0); p < 4; p++ {
		if n := len(s.Records("c", p)); n != 100 {
			t.Errorf("partition %d holds %d records", p, n)
		}
	}
	if st := s.Stats(); st.Connections > 3 {
		t.Errorf("%d connections for a pool of 3", st.Connections)
	}
}

func TestClosedClient(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	if err := c.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := c.Ping(testCtx(t)); !errors.Is(err, ErrClosed) || IsRetriable(err) {
		t.Fatalf("after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"no servers", Config{}},
		{"bad address", Config{BootstrapServers: []string{"localhost"}}},
		{"plain without tls", Config{BootstrapServers: []string{"a:1"}, Auth: Auth{Mechanism: MechanismPlain, Username: "u", Password: "p"}}},
		{"unknown mechanism", Config{BootstrapServers: []string{"a:1"}, Auth: Auth{Mechanism: "MD5", Username: "u"}}},
		{"cert without key", Config{BootstrapServers: []string{"a:1"}, TLS: TLSConfig{Enabled: true, CertPath: "c.pem"}}},
		{"missing ca", Config{BootstrapServers: []string{"a:1"}, TLS: TLSConfig{Enabled: true, CAPath: "/nonexistent/ca.pem"}}},
	} {
		if _, err := New(c.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
}
