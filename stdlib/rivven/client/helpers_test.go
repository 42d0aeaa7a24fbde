package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
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

// testConfig is a client config with fast backoff, for loopback tests.
func testConfig(addrs ...string) Config {
	return Config{
		BootstrapServers:  addrs,
		ConnectionTimeout: 2 * time.Second,
		RequestTimeout:    5 * time.Second,
		Retry:             &RetryPolicy{MaxRetries: 5, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Multiplier: 2},
	}
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func records(prefix string, n int) []wire.Record {
	rs := make([]wire.Record, n)
	for i := range rs {
		rs[i] = wire.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("%s-%d", prefix, i))}
	}
	return rs
}

// values lists a partition's record values in offset order.
func values(ms []wire.MessageData) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Value)
	}
	return out
}
