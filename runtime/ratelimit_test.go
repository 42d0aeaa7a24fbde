package runtime

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// virtualClock is a clock whose time moves only when the limiter sleeps.
// Before it moves, settle (when set) waits until the rest of the pipeline
// has caught up, so everything granted is delivered at the time it was
// granted.
type virtualClock struct {
	mu     sync.Mutex
	t      time.Time
	settle func()
	// after runs (without the lock) once the time has moved.
	after func(now time.Time)
}

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *virtualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *virtualClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.settle != nil {
		c.settle()
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	now := c.t
	c.mu.Unlock()
	if c.after != nil {
		c.after(now)
	}
	return ctx.Err()
}

// windows returns the most stamps (sorted) within any window [s, s+width)
// that starts at a stamp, and the number before from+width.
func windows(stamps []time.Time, from time.Time, width time.Duration) (most, first int) {
	j := 0
	for i, s := range stamps {
		for j < len(stamps) && stamps[j].Sub(s) < width {
			j++
		}
		most = max(most, j-i)
		if s.Before(from.Add(width)) {
			first++
		}
	}
	return most, first
}

func TestLimiterStartsEmptyAndHoldsATenth(t *testing.T) {
	for _, rate := range []int{1, 7, 50, 1000, 25_000} {
		c := &virtualClock{t: epoch}
		l := newLimiter(rate, c)
		if want := max(1, rate/10); l.burst() != want {
			t.Fatalf("rate %d: burst %d, want %d", rate, l.burst(), want)
		}
		rng := rand.New(rand.NewPCG(uint64(rate), 1))
		var stamps []time.Time
		for c.now().Sub(epoch) < 10*time.Second {
			if rng.IntN(20) == 0 { // an idle spell refills the bucket
				c.t = c.t.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			}
			n := 1 + rng.IntN(l.burst())
			if err := l.wait(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			for range n {
				stamps = append(stamps, c.now())
			}
		}
		most, first := windows(stamps, epoch, time.Second)
		if first > rate {
			t.Errorf("rate %d: %d records granted in the first second", rate, first)
		}
		if most > rate+l.burst() {
			t.Errorf("rate %d: %d records granted within one second (bound: rate + burst = %d)", rate, most, rate+l.burst())
		}
	}
}

func TestLimiterCancelledWaitGrantsNothing(t *testing.T) {
	c := &virtualClock{t: epoch}
	l := newLimiter(10, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx, 1); err == nil {
		t.Fatal("a wait with a cancelled context succeeded")
	}
	if err := l.wait(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if got := c.now().Sub(epoch); got != 100*time.Millisecond {
		t.Errorf("first granted record after %v, want 100ms (the cancelled wait must give its token back)", got)
	}
	if err := l.wait(context.Background(), 2); err == nil {
		t.Error("a wait beyond the burst was accepted")
	}
}

// pacedSource produces records as fast as it is read and remembers the
// size of its last batch.
type pacedSource struct {
	seqSource
	produced, last atomic.Int64
}

func (s *pacedSource) Read(ctx context.Context, batch []Record) (int, error) {
	s.n = s.next + len(batch) + 1
	n, err := s.seqSource.Read(ctx, batch)
	s.produced.Add(int64(n))
	s.last.Store(int64(n))
	return n, err
}

// stampSink records the clock's time at which each record was delivered.
type stampSink struct {
	clock  *virtualClock
	mu     sync.Mutex
	stamps []time.Time
}

func (s *stampSink) Open(context.Context) error { return nil }
func (s *stampSink) Close() error               { return nil }
func (s *stampSink) Write(_ context.Context, rs []Record) error {
	now := s.clock.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for range rs {
		s.stamps = append(s.stamps, now)
	}
	return nil
}

func (s *stampSink) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.stamps))
}

// TestRateLimitFirstSecond runs a source that can deliver full batches at
// once (like datagen) under rate_limit, on a virtual clock, for three
// seconds: no second delivers more than the rate — the first included —,
// the rate is reached, and the batch read when the stop comes does not
// pass without being granted.
func TestRateLimitFirstSecond(t *testing.T) {
	for _, tc := range []struct{ rate, batch int }{{50, 0}, {1000, 0}, {3, 0}, {100_000, 64}} {
		clk := &virtualClock{t: epoch}
		src := &pacedSource{seqSource: *newSeqSource(0)}
		sink := &stampSink{clock: clk}
		ctx, cancel := context.WithCancel(context.Background())
		end := epoch.Add(3 * time.Second)
		clk.settle = func() {
			// Everything read before the batch being granted is delivered.
			deadline := time.Now().Add(10 * time.Second)
			for sink.count() < src.produced.Load()-src.last.Load() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Microsecond)
			}
		}
		clk.after = func(now time.Time) {
			if now.After(end) {
				cancel()
			}
		}
		p := &Pipeline{Name: "p", Source: src, Sink: sink, Program: ProgramFunc(keepAll),
			Settings: Settings{RateLimit: tc.rate, BatchSize: tc.batch}, limitClock: clk}
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		burst := max(1, tc.rate/10)
		most, first := windows(sink.stamps, epoch, time.Second)
		total := len(sink.stamps)
		if first > tc.rate {
			t.Errorf("rate %d: %d records delivered in the first second", tc.rate, first)
		}
		if most > tc.rate+burst {
			t.Errorf("rate %d: %d records delivered within one second", tc.rate, most)
		}
		if total < 3*tc.rate-burst || total > 3*tc.rate {
			t.Errorf("rate %d: %d records delivered in 3 s, want about %d", tc.rate, total, 3*tc.rate)
		}
		if last := sink.stamps[total-1]; last.After(end) {
			t.Errorf("rate %d: a batch was delivered at %v, after the stop at %v, without being granted", tc.rate, last.Sub(epoch), end.Sub(epoch))
		}
		if in := p.Stats.In.Load(); in != uint64(total) {
			t.Errorf("rate %d: %d records counted in, %d delivered: ungranted records must not enter the pipeline", tc.rate, in, total)
		}
	}
}
