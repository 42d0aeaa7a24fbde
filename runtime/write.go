package runtime

import (
	"fmt"
	"time"
)

// submit writes recs to s with retries. For a synchronous sink, durable
// runs before submit returns nil; for an AsyncSink it may run later, from
// another goroutine, and lost runs instead when the sink reports the
// records lost. A returned error means s did not take the records.
// Under a lease that is lost, nothing more is written: the error wraps
// ErrFenced (a paused node that wakes writes nothing once it knows).
func (d *driver) submit(s Sink, recs []Record, durable func(), lost func(error)) error {
	if d.lease != nil {
		if err := d.lease.Err(); err != nil {
			return err
		}
	}
	as, ok := s.(AsyncSink)
	if !ok {
		err := d.withRetry(func() error { return d.timedWrite(s, recs) })
		if err == nil {
			durable()
		}
		return err
	}
	select {
	case d.slots <- struct{}{}:
	case <-d.failed:
		return d.failErr
	case <-d.abort.Done():
		return d.aborted()
	}
	n := len(recs)
	var start time.Time
	done := func(err error) {
		if d.p.Observer != nil {
			d.p.Observer.SinkWrite(d.p.Name, n, time.Since(start), err)
		}
		if err != nil {
			lost(err)
		} else {
			durable()
		}
		<-d.slots
	}
	err := d.withRetry(func() error {
		start = time.Now()
		err := as.WriteAsync(d.wctx, recs, done)
		if err != nil && d.p.Observer != nil {
			d.p.Observer.SinkWrite(d.p.Name, n, time.Since(start), err)
		}
		return err
	})
	if err != nil {
		<-d.slots
	}
	return err
}

func (d *driver) timedWrite(s Sink, recs []Record) error {
	start := time.Now()
	err := s.Write(d.wctx, recs)
	if d.p.Observer != nil {
		d.p.Observer.SinkWrite(d.p.Name, len(recs), time.Since(start), err)
	}
	return err
}

// withRetry runs attempt until it succeeds, fails with an error that is
// not retriable, or the retries of Settings.Retry are used up.
func (d *driver) withRetry(attempt func() error) error {
	r := d.p.Settings.Retry.normalized()
	for n := 0; ; n++ {
		err := attempt()
		if err == nil {
			if n > 0 {
				d.p.retry.Store(false)
			}
			return nil
		}
		if !IsRetriable(err) || n >= r.MaxRetries || d.wctx.Err() != nil {
			if n > 0 {
				d.p.retry.Store(false)
				err = fmt.Errorf("%w (after %d retries)", err, n)
			}
			return err
		}
		wait := r.Backoff(n)
		d.p.stats().Retries.Add(1)
		d.p.retry.Store(true)
		d.p.setLastError(err)
		d.p.logger().Warn("sink write failed; retrying", "pipeline", d.p.Name, "retry", n+1, "of", r.MaxRetries,
			"backoff", wait, "error", d.p.redact(err.Error()))
		if serr := Sleep(d.wctx, wait); serr != nil {
			d.p.retry.Store(false)
			return fmt.Errorf("%w (retry cancelled: %w)", err, d.aborted())
		}
	}
}
