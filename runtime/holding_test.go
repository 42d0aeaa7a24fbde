package runtime

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// unitSink is a HoldingSink that stores units of size records (counted
// across writes), each after a random delay on its own goroutine, so units
// complete out of order.
type unitSink struct {
	size    int
	rng     *rand.Rand
	failAt  int64 // a unit holding this value is lost (0 = none)
	mu      sync.Mutex
	open    []int64
	dones   []HeldPiece
	stored  map[int64]bool
	ends    map[int64]bool // last value of every stored unit
	wg      sync.WaitGroup
	settled int
	closed  bool
}

func (u *unitSink) Open(context.Context) error { return nil }
func (u *unitSink) Write(context.Context, []Record) error {
	return errors.New("unitSink: Write is not used")
}
func (u *unitSink) Close() error {
	u.wg.Wait()
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	return nil
}

func (u *unitSink) Hold(_ context.Context, recs []Record, piece func(int) HeldPiece) error {
	for i := range recs {
		u.open = append(u.open, recs[i].After[0].AsInt())
		if len(u.open) == u.size {
			u.dones = append(u.dones, piece(i))
			u.cut()
		}
	}
	if len(u.open) > 0 { // the last record is in the open unit
		u.dones = append(u.dones, piece(len(recs)-1))
	}
	return nil
}

// cut stores the open unit asynchronously.
func (u *unitSink) cut() {
	vals, dones := u.open, u.dones
	u.open, u.dones = nil, nil
	if len(vals) == 0 {
		return
	}
	wait := time.Duration(u.rng.Int64N(int64(2 * time.Millisecond)))
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		time.Sleep(wait)
		var err error
		u.mu.Lock()
		for _, v := range vals {
			if u.failAt != 0 && v == u.failAt {
				err = errors.New("unit lost")
			}
		}
		if err == nil {
			if u.stored == nil {
				u.stored, u.ends = map[int64]bool{}, map[int64]bool{}
			}
			for _, v := range vals {
				u.stored[v] = true
			}
			u.ends[vals[len(vals)-1]] = true
		}
		u.mu.Unlock()
		HeldStored(dones, err)
	}()
}

func (u *unitSink) Settle(context.Context) error {
	u.settled++
	u.cut()
	u.wg.Wait()
	return nil
}

// unitChecker fails the test when an acknowledged position is not the end
// of a stored unit with every record before it stored.
type unitChecker struct {
	*seqSource
	sink *unitSink
	t    *testing.T
}

func (c *unitChecker) Ack(ctx context.Context, p Position) error {
	c.sink.mu.Lock()
	for o := int64(0); o <= int64(p.Offset); o++ {
		if !c.sink.stored[o] {
			c.t.Errorf("acknowledged %d while record %d is not stored", p.Offset, o)
			break
		}
	}
	if !c.sink.ends[int64(p.Offset)] {
		c.t.Errorf("acknowledged %d, which ends no stored unit", p.Offset)
	}
	c.sink.mu.Unlock()
	return c.seqSource.Ack(ctx, p)
}

func TestHoldingSinkAcksOnlyStoredUnitEnds(t *testing.T) {
	for _, batch := range []int{1, 7, 32, 256} {
		sink := &unitSink{size: 50, rng: rand.New(rand.NewPCG(1, uint64(batch)))}
		src := &unitChecker{seqSource: newSeqSource(2013), sink: sink, t: t}
		p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: batch}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if sink.settled != 1 || len(sink.stored) != 2013 || p.Stats.Out.Load() != 2013 {
			t.Fatalf("batch %d: settled %d times, %d stored, Out %d; want 1, 2013, 2013", batch, sink.settled, len(sink.stored), p.Stats.Out.Load())
		}
		if last := src.acks[len(src.acks)-1]; last != 2012 {
			t.Errorf("batch %d: last ack %d, want 2012 (the unit Settle stored)", batch, last)
		}
	}
}

func TestHoldingSinkWithSinkBatches(t *testing.T) {
	sink := &unitSink{size: 64, rng: rand.New(rand.NewPCG(2, 2))}
	src := &unitChecker{seqSource: newSeqSource(1000), sink: sink, t: t}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll),
		Settings: Settings{BatchSize: 30, SinkBatch: SinkBatch{MaxRecords: 45}}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.stored) != 1000 || src.acks[len(src.acks)-1] != 999 {
		t.Fatalf("%d stored, last ack %d; want 1000 and 999", len(sink.stored), src.acks[len(src.acks)-1])
	}
}

func TestHoldingSinkLostUnitStopsBeforeIt(t *testing.T) {
	sink := &unitSink{size: 50, rng: rand.New(rand.NewPCG(3, 3)), failAt: 420}
	src := &unitChecker{seqSource: newSeqSource(2000), sink: sink, t: t}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 16}}
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unit lost") || !strings.Contains(err.Error(), "held records") {
		t.Fatalf("err = %v, want the lost unit", err)
	}
	for _, a := range src.acks {
		if a >= 400 {
			t.Fatalf("acknowledged %d, at or past the lost unit 400..449", a)
		}
	}
	if !sink.closed {
		t.Error("sink not closed")
	}
}

func TestHoldingSinkNotSettledOnFailure(t *testing.T) {
	sink := &unitSink{size: 100, rng: rand.New(rand.NewPCG(4, 4))}
	src := &unitChecker{seqSource: newSeqSource(1000), sink: sink, t: t}
	fail := func(r *Record) (bool, error) {
		if r.After[0].AsInt() == 555 {
			return false, errors.New("bad record")
		}
		return true, nil
	}
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(fail), Settings: Settings{BatchSize: 10}}
	if err := p.Run(context.Background()); err == nil {
		t.Fatal("run succeeded; want the program's failure")
	}
	if sink.settled != 0 {
		t.Error("Settle called on a failed run")
	}
	for _, a := range src.acks {
		if a >= 500 {
			t.Fatalf("acknowledged %d: the unit 500..599 was never stored", a)
		}
	}
}

func TestHoldingSinkGracefulStopSettles(t *testing.T) {
	sink := &unitSink{size: 1000, rng: rand.New(rand.NewPCG(5, 5))}
	src := &unitChecker{seqSource: newSeqSource(1 << 30), sink: sink, t: t}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(func(r *Record) (bool, error) {
		if r.After[0].AsInt() == 2500 {
			cancel()
		}
		return true, nil
	}), Settings: Settings{BatchSize: 64}}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if sink.settled != 1 {
		t.Fatalf("settled %d times, want 1", sink.settled)
	}
	last := src.acks[len(src.acks)-1]
	if int(last)+1 != len(sink.stored) || last < 2500 {
		t.Fatalf("last ack %d with %d records stored; want every record read stored and acknowledged", last, len(sink.stored))
	}
}
