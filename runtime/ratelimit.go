package runtime

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// limiter paces a pipeline's records to Settings.RateLimit per second.
//
// It is a token bucket that starts empty and holds at most a tenth of a
// second's worth of records (at least one): over the first second at most
// rate records are granted, and over any one-second window at most rate
// plus that tenth (the bucket refilled during an idle spell). The driver
// reads at most burst records at a time and lets a batch through only once
// every record in it has been granted.
type limiter struct {
	lim   *rate.Limiter
	clock clock
}

// clock is the limiter's time: the wall clock, or a virtual one in tests.
type clock interface {
	now() time.Time
	// sleep waits d or until ctx is done (returning ctx.Err()).
	sleep(ctx context.Context, d time.Duration) error
}

type wallClock struct{}

func (wallClock) now() time.Time                                   { return time.Now() }
func (wallClock) sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

// newLimiter returns a limiter of perSec (> 0) records per second on c
// (nil = the wall clock).
func newLimiter(perSec int, c clock) *limiter {
	if c == nil {
		c = wallClock{}
	}
	burst := max(1, perSec/10)
	l := &limiter{lim: rate.NewLimiter(rate.Limit(perSec), burst), clock: c}
	l.lim.AllowN(c.now(), burst) // start empty: nothing is granted before it accrues
	return l
}

// burst is the most records one wait may ask for.
func (l *limiter) burst() int { return l.lim.Burst() }

// wait blocks until n (≤ burst) records are granted, or ctx is done
// (returning ctx.Err(); nothing is then granted).
func (l *limiter) wait(ctx context.Context, n int) error {
	now := l.clock.now()
	r := l.lim.ReserveN(now, n)
	if !r.OK() {
		return fmt.Errorf("rate_limit: %d records at once exceed the bucket of %d", n, l.burst())
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := l.clock.sleep(ctx, d); err != nil {
			r.CancelAt(l.clock.now())
			return err
		}
	}
	return nil
}
