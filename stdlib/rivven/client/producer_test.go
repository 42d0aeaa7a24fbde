package client

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// publishAll sends batches of 10 records named b<i>-<j> and returns how many
// replies were marked duplicate.
func publishAll(t *testing.T, p *IdempotentProducer, partition uint32, batches int) (dups int) {
	t.Helper()
	ctx := testCtx(t)
	for i := 0; i < batches; i++ {
		r, err := p.PublishBatch(ctx, partition, records(fmt.Sprintf("b%d", i), 10))
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if r.RecordCount != 10 || r.BaseOffset != uint64(10*i) {
			t.Fatalf("batch %d: %+v", i, r)
		}
		if r.Duplicate {
			dups++
		}
	}
	return dups
}

func wantExactlyOnce(t *testing.T, s *brokertest.Server, topic string, partition uint32, batches int) {
	t.Helper()
	var want []string
	for i := 0; i < batches; i++ {
		for j := 0; j < 10; j++ {
			want = append(want, fmt.Sprintf("b%d-%d", i, j))
		}
	}
	if got := values(s.Records(topic, partition)); !slices.Equal(got, want) {
		t.Fatalf("log holds %d records:\n%v\nwant each of %d exactly once, in order", len(got), got, len(want))
	}
}

func TestIdempotentResendAfterLostReply(t *testing.T) {
	// The broker appends the 3rd batch, then drops the connection before replying.
	s := startBroker(t, brokertest.Config{
		RequireAuth: true, Users: map[string]string{"sink": "s3cret"},
		Fault: brokertest.DropAfter(wire.KindIdempotentPublishBatch, 3, brokertest.DropAfterHandling),
	})
	cfg := testConfig(s.Addr())
	cfg.Auth = Auth{Username: "sink", Password: "s3cret"}
	c := newClient(t, cfg)
	p, err := c.NewIdempotentProducer(testCtx(t), "events")
	if err != nil {
		t.Fatal(err)
	}
	if dups := publishAll(t, p, 1, 6); dups != 1 {
		t.Fatalf("%d duplicate replies, want 1 (the resent batch)", dups)
	}
	wantExactlyOnce(t, s, "events", 1, 6)
	if st := s.Stats(); st.Connections != 2 {
		t.Fatalf("connections = %d, want 2 (one reconnect)", st.Connections)
	}
}

func TestIdempotentResendAfterDropBeforeHandling(t *testing.T) {
	s := startBroker(t, brokertest.Config{Fault: brokertest.DropAfter(wire.KindIdempotentPublishBatch, 2, brokertest.DropBeforeHandling)})
	c := newClient(t, testConfig(s.Addr()))
	p, err := c.NewIdempotentProducer(testCtx(t), "events")
	if err != nil {
		t.Fatal(err)
	}
	if dups := publishAll(t, p, 0, 4); dups != 0 {
		t.Fatalf("%d duplicate replies, want 0 (the lost batch was never applied)", dups)
	}
	wantExactlyOnce(t, s, "events", 0, 4)
}

func TestIdempotentManyDropsAcrossPartitions(t *testing.T) {
	var n atomic.Int32
	s := startBroker(t, brokertest.Config{})
	s.SetFault(func(ri brokertest.RequestInfo) brokertest.Fault {
		if ri.Kind != wire.KindIdempotentPublishBatch {
			return brokertest.Fault{}
		}
		if n.Add(1)%3 == 0 {
			return brokertest.Fault{Action: brokertest.DropAfterHandling}
		}
		return brokertest.Fault{}
	})
	c := newClient(t, testConfig(s.Addr()))
	p, err := c.NewIdempotentProducer(testCtx(t), "events")
	if err != nil {
		t.Fatal(err)
	}
	for part := uint32(0); part < 3; part++ {
		publishAll(t, p, part, 5)
	}
	for part := uint32(0); part < 3; part++ {
		wantExactlyOnce(t, s, "events", part, 5)
	}
}

func TestIdempotentInDoubtBatchMustBeResent(t *testing.T) {
	// Every IdempotentPublishBatch reply is lost, so the call runs out of retries.
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	p, err := c.NewIdempotentProducer(testCtx(t), "events")
	if err != nil {
		t.Fatal(err)
	}
	s.SetFault(func(ri brokertest.RequestInfo) brokertest.Fault {
		if ri.Kind == wire.KindIdempotentPublishBatch {
			return brokertest.Fault{Action: brokertest.DropAfterHandling}
		}
		return brokertest.Fault{}
	})
	ctx := testCtx(t)
	_, err = p.PublishBatch(ctx, 0, records("b0", 10))
	var e *Error
	if !errors.As(err, &e) || !e.InDoubt {
		t.Fatalf("want an in-doubt error, got %v", err)
	}
	if _, err := p.PublishBatch(ctx, 0, records("other", 3)); !errors.Is(err, ErrInDoubtBatch) {
		t.Fatalf("a different batch while one is in doubt: %v", err)
	}
	s.SetFault(nil)
	r, err := p.PublishBatch(ctx, 0, records("b0", 10))
	if err != nil || !r.Duplicate {
		t.Fatalf("resend of the in-doubt batch: %+v %v", r, err)
	}
	if _, err := p.PublishBatch(ctx, 0, records("b1", 10)); err != nil {
		t.Fatal(err)
	}
	wantExactlyOnce(t, s, "events", 0, 2)
}

func TestIdempotentResetAndFencing(t *testing.T) {
	s := startBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	ctx := testCtx(t)
	p, err := c.NewIdempotentProducer(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	id, epoch := p.ProducerID()
	publishAll(t, p, 0, 1)
	if err := p.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	id2, epoch2 := p.ProducerID()
	if id2 != id || epoch2 != epoch+1 {
		t.Fatalf("after Reset: id %d→%d epoch %d→%d", id, id2, epoch, epoch2)
	}
	if r, err := p.PublishBatch(ctx, 0, records("b1", 10)); err != nil || r.Duplicate || r.BaseOffset != 10 {
		t.Fatalf("first batch after Reset: %+v %v", r, err)
	}
	// The old epoch is fenced.
	_, err = c.IdempotentPublishBatch(ctx, &wire.IdempotentPublishBatch{
		Topic: "events", Partition: Partition(0), Records: records("z", 1), ProducerID: id, ProducerEpoch: epoch, BaseSequence: 10,
	})
	if !errors.Is(err, ErrProducerFenced) || IsRetriable(err) {
		t.Fatalf("old epoch: %v", err)
	}
	_, err = c.IdempotentPublishBatch(ctx, &wire.IdempotentPublishBatch{
		Topic: "events", Partition: Partition(0), Records: records("z", 1), ProducerID: id2, ProducerEpoch: epoch2, BaseSequence: 99,
	})
	if !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("sequence gap: %v", err)
	}
	_, err = c.IdempotentPublishBatch(ctx, &wire.IdempotentPublishBatch{Topic: "events", Records: records("z", 1), ProducerID: 999})
	if !errors.Is(err, ErrUnknownProducerID) {
		t.Fatalf("unknown producer: %v", err)
	}
}
