package sink_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
)

// memLease is a lease that always passes its check (so that only the
// broker's producer epochs can fence), with blobs in memory shared by
// every lease of the same map.
type memLease struct {
	mu    *sync.Mutex
	blobs map[string][]byte
}

func (l memLease) Epoch() uint64                   { return 1 }
func (l memLease) Done() <-chan struct{}           { return nil }
func (l memLease) Err() error                      { return nil }
func (l memLease) Check(context.Context) error     { return nil }
func (l memLease) Release() error                  { return nil }
func (l memLease) Blob(k string) runtime.StateBlob { return memBlob{l, k} }

type memBlob struct {
	l memLease
	k string
}

func (b memBlob) Get() ([]byte, bool, error) {
	b.l.mu.Lock()
	defer b.l.mu.Unlock()
	v, ok := b.l.blobs[b.k]
	return v, ok, nil
}

func (b memBlob) Put(v []byte) error {
	b.l.mu.Lock()
	defer b.l.mu.Unlock()
	b.l.blobs[b.k] = append([]byte(nil), v...)
	return nil
}

func (b memBlob) Where() string { return "memory " + b.k }

// A new leader's sink continues the old leader's producer id under a new
// epoch: the broker then refuses the old leader's publishes even when
// its own lease check passed (PRODUCER_FENCED, as runtime.ErrFenced).
func TestNewLeaderFencesOldProducer(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	shared := memLease{mu: &sync.Mutex{}, blobs: map[string][]byte{}}
	leased := func() *sink.Sink {
		s, err := sink.New(config(b.Addr(), "rows"), nil)
		if err != nil {
			t.Fatal(err)
		}
		s.UseLease(shared)
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	old := leased()
	if err := old.Write(context.Background(), recs(1, 5, runtime.OpInsert)); err != nil {
		t.Fatalf("the first leader's write: %v", err)
	}
	if _, ok := shared.blobs["producer:rows"]; !ok {
		t.Fatalf("no producer id recorded in the lease: %v", shared.blobs)
	}
	next := leased()
	if err := next.Write(context.Background(), recs(6, 5, runtime.OpInsert)); err != nil {
		t.Fatalf("the new leader's write: %v", err)
	}
	err := old.Write(context.Background(), recs(11, 5, runtime.OpInsert))
	if !errors.Is(err, runtime.ErrFenced) {
		t.Fatalf("the old leader's write after the take-over: %v, want ErrFenced", err)
	}
	if n := count(values(b, "rows", 16)); n != 10 {
		t.Errorf("%d records in the topic, want 10 (the fenced write added none)", n)
	}
}
