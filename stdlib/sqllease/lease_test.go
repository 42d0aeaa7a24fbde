package sqllease

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// fakeSession is a Session over a map, whose epoch the test moves and
// whose statements the test can make hang.
type fakeSession struct {
	mu     sync.Mutex
	epoch  uint64
	state  map[string][]byte
	hang   bool
	closed bool
}

func (f *fakeSession) wait(ctx context.Context) error {
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (f *fakeSession) Renew(ctx context.Context, epoch uint64) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.epoch != epoch {
		return ErrMoved
	}
	return nil
}
func (f *fakeSession) Epoch(ctx context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.epoch, nil
}
func (f *fakeSession) Get(ctx context.Context, key string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.state[key]
	return v, ok, nil
}
func (f *fakeSession) Put(ctx context.Context, key string, v []byte, epoch uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.epoch != epoch {
		return ErrMoved
	}
	f.state[key] = v
	return nil
}
func (f *fakeSession) Unlock(context.Context) error { return nil }
func (f *fakeSession) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

func hold(f *fakeSession) *Lease {
	c := runtime.Cluster{HeartbeatMs: 20, FailureTimeoutMs: 200}
	return Hold(f, f.epoch, c, `slot "s"`, func(k string) string { return "row s, key " + k }, func(err error) error { return err })
}

func lost(t *testing.T, l *Lease) error {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the lease was not lost")
	}
	if !errors.Is(l.Err(), runtime.ErrFenced) {
		t.Fatalf("Err = %v, want ErrFenced", l.Err())
	}
	return l.Err()
}

func TestAMovedEpochLosesTheLease(t *testing.T) {
	f := &fakeSession{epoch: 3, state: map[string][]byte{}}
	l := hold(f)
	defer l.Release()
	if err := l.Blob("k").Put([]byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := l.Blob("k").Get(); err != nil || !ok || string(v) != "v" {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	f.mu.Lock()
	f.epoch = 4 // another node took it over
	f.mu.Unlock()
	err := lost(t, l)
	if !strings.Contains(err.Error(), `slot "s": the lease's epoch moved past 3`) {
		t.Errorf("Err = %v", err)
	}
	if err := l.Blob("k").Put([]byte("w")); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("Put after the loss = %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed || string(f.state["k"]) != "v" {
		t.Errorf("session closed %v, state %q", f.closed, f.state["k"])
	}
}

func TestAStatementThatDoesNotAnswerLosesTheLease(t *testing.T) {
	f := &fakeSession{epoch: 1, state: map[string][]byte{}}
	l := hold(f)
	defer l.Release()
	f.mu.Lock()
	f.hang = true // the network stalls
	f.mu.Unlock()
	start := time.Now()
	err := lost(t, l)
	if !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Errorf("Err = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("lost after %v; a statement is bounded by half the failure timeout", took)
	}
}

func TestReleaseClosesAndCheckAfterwardFails(t *testing.T) {
	f := &fakeSession{epoch: 1, state: map[string][]byte{}}
	l := hold(f)
	if err := l.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if l.Err() != nil {
		t.Errorf("a released lease has Err %v", l.Err())
	}
	if err := l.Check(context.Background()); !errors.Is(err, runtime.ErrFenced) {
		t.Errorf("Check after Release = %v", err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("a second Release: %v", err)
	}
}
