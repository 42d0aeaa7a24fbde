package tasks

import (
	"context"
	"fmt"

	"github.com/rivven/rivven-connect/runtime"
)

// lease is task's runtime.Lease for one generation.
type lease struct {
	gen  *generation
	task int
}

var _ runtime.Lease = (*lease)(nil)

func (l *lease) Epoch() uint64         { return l.gen.gen }
func (l *lease) Done() <-chan struct{} { return l.gen.done }

// Err wraps runtime.ErrFenced once the membership is lost, or this node
// can no longer be sure of it (Check). It asks the broker nothing, so the
// driver calls it before every sink write.
func (l *lease) Err() error {
	if !l.gen.valid() {
		l.gen.end(true)
		return l.fenced()
	}
	return nil
}

func (l *lease) fenced() error {
	return fmt.Errorf("task %d of pipeline %q, generation %d: %w (this node lost its membership of the group %q)",
		l.task, l.gen.g.pipeline, l.gen.gen, runtime.ErrFenced, l.gen.g.group)
}

// Check fails (ErrFenced) once this node can no longer be sure that no
// other node runs the task: the membership expired, or its last
// successful heartbeat is older than the session less one interval. It
// asks the broker nothing.
func (l *lease) Check(ctx context.Context) error { return l.Err() }

// Blob returns the task's value name, shared by the cluster through the
// tasks' state topic.
func (l *lease) Blob(name string) runtime.StateBlob {
	return &blob{l: l, key: stateKey(l.gen.g.pipeline, l.task, name)}
}

// Release does nothing: the group's Leave gives the tasks up.
func (l *lease) Release() error { return nil }

// blob is a task's value in the state topic.
type blob struct {
	l   *lease
	key string
}

func (b *blob) Get() ([]byte, bool, error) {
	v, ok := b.l.gen.g.state.get(b.key)
	return v, ok, nil
}

// Put publishes v for the lease's generation; it fails with ErrFenced
// once the lease is lost.
func (b *blob) Put(v []byte) error {
	if err := b.l.Check(context.Background()); err != nil {
		return err
	}
	g := b.l.gen.g
	ctx, cancel := context.WithTimeout(context.Background(), g.session/2)
	defer cancel()
	return g.state.put(ctx, b.key, b.l.gen.gen, v)
}

func (b *blob) Where() string {
	return fmt.Sprintf("broker topic %q, key %q", b.l.gen.g.state.topic, b.key)
}
