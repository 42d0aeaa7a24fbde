package sink_test

import (
	"context"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
)

func TestBrokerConnected(t *testing.T) {
	srv := startBroker(t, brokertest.Config{})
	s, err := sink.New(config(srv.Addr(), "t"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var link runtime.BrokerLink = s
	if link.BrokerConnected() {
		t.Fatal("connected before Open")
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !link.BrokerConnected() {
		t.Fatal("not connected after Open")
	}
	srv.Close()
	// The next write finds the broker gone.
	if err := s.Write(context.Background(), recs(1, 1, runtime.OpInsert)); err == nil {
		t.Fatal("write to a closed broker succeeded")
	}
	if link.BrokerConnected() {
		t.Fatal("still connected after the broker went away")
	}
	s.Close()
	if link.BrokerConnected() {
		t.Fatal("connected after Close")
	}
}
