// Package sqllease is the runtime.Lease of a cluster singleton whose
// arbiter is the source's own database (postgres-cdc, mysql-cdc): a lease
// row with an epoch, held through one session of its own that also holds
// the database's advisory lock. The database-specific statements are a
// Session; this package renews the row every heartbeat, bounds every
// statement, and loses the lease at the first failure or moved epoch.
package sqllease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// ErrMoved is returned by a Session when the row's epoch is no longer the
// lease's: another node took the lease over.
var ErrMoved = errors.New("the lease's epoch moved")

// Session is one database session holding a lease row and its lock. Its
// methods are called one at a time, each under a context bounded by half
// the failure timeout.
type Session interface {
	// Renew records a heartbeat in the row, if its epoch is still epoch
	// (else ErrMoved).
	Renew(ctx context.Context, epoch uint64) error
	// Epoch reads the row's epoch.
	Epoch(ctx context.Context) (uint64, error)
	// Get reads key of the row's shared state.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Put writes key of the row's shared state, if its epoch is still
	// epoch (else ErrMoved).
	Put(ctx context.Context, key string, value []byte, epoch uint64) error
	// Unlock gives the lock up, so a standby takes over at its next look.
	Unlock(ctx context.Context) error
	// Close closes the session (a lock it still holds goes with it).
	Close()
}

// Lease is a node's lease, over its Session. Its methods are safe for
// concurrent use.
type Lease struct {
	what   string // for messages: `slot "s1"`
	where  func(key string) string
	redact func(error) error
	epoch  uint64
	bound  time.Duration // how long a statement may take

	mu   sync.Mutex // the session; nil once closed
	sess Session

	once sync.Once
	done chan struct{}
	err  error // set before done is closed

	stopBeat context.CancelFunc
	beatDone chan struct{}
}

var _ runtime.Lease = (*Lease)(nil)

// Hold starts renewing the lease at epoch through sess every heartbeat of
// c. what names the lease in messages (`slot "s1"`); where names a state
// key's place (for StateBlob.Where); redact removes secrets from a
// failed session's error.
func Hold(sess Session, epoch uint64, c runtime.Cluster, what string, where func(key string) string, redact func(error) error) *Lease {
	l := &Lease{what: what, where: where, redact: redact, epoch: epoch, sess: sess,
		done: make(chan struct{}), bound: c.FailureTimeout() / 2}
	beat, stop := context.WithCancel(context.Background())
	l.stopBeat = stop
	l.beatDone = make(chan struct{})
	go l.renew(beat, c.Heartbeat())
	return l
}

// Epoch implements runtime.Lease.
func (l *Lease) Epoch() uint64 { return l.epoch }

// Done implements runtime.Lease.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Err implements runtime.Lease.
func (l *Lease) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

// renew renews the lease every interval until stopped or lost.
func (l *Lease) renew(ctx context.Context, every time.Duration) {
	defer close(l.beatDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-t.C:
		}
		// Not under ctx: a statement cancelled mid-flight breaks the
		// session (the drivers close it), and Release, which stops the
		// renewals, still needs it to unlock. exec bounds it.
		if err := l.exec(context.Background(), func(ctx context.Context, s Session) error { return s.Renew(ctx, l.epoch) }); err != nil {
			return
		}
	}
}

// fenced is the error of a lease whose row has another epoch now.
func (l *Lease) fenced() error {
	return fmt.Errorf("%w (%s: the lease's epoch moved past %d)", runtime.ErrFenced, l.what, l.epoch)
}

// exec runs f on the session, within l.bound; an error loses the lease (a
// failed session may have lost the lock with it), and so does a statement
// that does not answer within l.bound (a stalled network: a standby may
// take over while the leader waits).
func (l *Lease) exec(ctx context.Context, f func(context.Context, Session) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess == nil {
		if err := l.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w (%s: the lease was released)", runtime.ErrFenced, l.what)
	}
	qctx, cancel := context.WithTimeout(ctx, l.bound)
	err := f(qctx, l.sess)
	cancel()
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrMoved) {
		err = l.fenced()
	}
	if ctx.Err() != nil && !errors.Is(err, runtime.ErrFenced) {
		return err // the caller gave up; the lease may hold
	}
	if qctx.Err() != nil && !errors.Is(err, runtime.ErrFenced) {
		err = fmt.Errorf("the lease's session did not answer within %v: %w", l.bound, err)
	}
	if !errors.Is(err, runtime.ErrFenced) {
		err = fmt.Errorf("%w (%s: the lease's session failed: %v)", runtime.ErrFenced, l.what, l.redact(err))
	}
	l.loseLocked(err)
	return err
}

// loseLocked ends the lease with err; l.mu is held.
func (l *Lease) loseLocked(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
	if l.sess != nil {
		l.sess.Close()
		l.sess = nil
	}
}

// Check implements runtime.Lease: one round trip on the session.
func (l *Lease) Check(ctx context.Context) error {
	return l.exec(ctx, func(ctx context.Context, s Session) error {
		epoch, err := s.Epoch(ctx)
		if err != nil {
			return err
		}
		if epoch != l.epoch {
			return ErrMoved
		}
		return nil
	})
}

// Release implements runtime.Lease: it unlocks the lock and closes the
// session, so a standby takes over at its next look.
func (l *Lease) Release() error {
	l.stopBeat()
	<-l.beatDone
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.sess != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = l.sess.Unlock(ctx)
		cancel()
		l.sess.Close()
		l.sess = nil
	}
	l.once.Do(func() { close(l.done) })
	if err != nil {
		return l.redact(err)
	}
	return nil
}

// Blob implements runtime.Lease: key's value in the row's shared state.
func (l *Lease) Blob(key string) runtime.StateBlob { return blob{l, key} }

type blob struct {
	l   *Lease
	key string
}

func (b blob) Where() string { return b.l.where(b.key) }

func (b blob) Get() ([]byte, bool, error) {
	var v []byte
	var ok bool
	err := b.l.exec(context.Background(), func(ctx context.Context, s Session) error {
		var err error
		v, ok, err = s.Get(ctx, b.key)
		return err
	})
	return v, ok, err
}

func (b blob) Put(v []byte) error {
	return b.l.exec(context.Background(), func(ctx context.Context, s Session) error {
		return s.Put(ctx, b.key, v, b.l.epoch)
	})
}

// StopRenewing stops the heartbeats and keeps the session and its lock,
// as a holder that hangs would: tests of a take-over from a stale holder
// use it.
func (l *Lease) StopRenewing() {
	l.stopBeat()
	<-l.beatDone
}
