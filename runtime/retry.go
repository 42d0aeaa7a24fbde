package runtime

import (
	"context"
	"errors"
	"time"
)

// Retriable marks err as transient: the driver retries the sink write that
// returned it, with exponential backoff (Settings.Retry), before applying
// the pipeline's on_error policy. Retriable(nil) is nil.
//
// A sink may instead return an error whose chain holds a value with a
// `Retriable() bool` method reporting true.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	return retriableError{err}
}

type retriableError struct{ err error }

func (e retriableError) Error() string   { return e.err.Error() }
func (e retriableError) Unwrap() error   { return e.err }
func (e retriableError) Retriable() bool { return true }

// IsRetriable reports whether err, or an error in its chain, says it is
// retriable.
func IsRetriable(err error) bool {
	var r interface{ Retriable() bool }
	return errors.As(err, &r) && r.Retriable()
}

// Sleep waits d or until ctx is done, returning ctx.Err() in that case
// (at once when d <= 0 and ctx is done). Components use it for their
// own backoffs.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
