package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Cluster is the config's `distributed` section as a pipeline runs it.
// The zero value (Enabled false) is a single-node run.
type Cluster struct {
	Enabled bool
	// Node is this node's name in the cluster (distributed.node_id, by
	// default the host name).
	Node string
	// HeartbeatMs is how often a leader renews its lease and a standby
	// looks whether it may take over; FailureTimeoutMs how old a leader's
	// last renewal must be before a standby takes its lease over.
	HeartbeatMs, FailureTimeoutMs int
	// Topic is the broker topic the nodes publish their state to.
	Topic string
}

// named returns c with Node set: the host name when the config gives
// none.
func (c Cluster) named() (Cluster, error) {
	if c.Node != "" {
		return c, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return c, fmt.Errorf("distributed.node_id is not set and the host name is unknown (%v): set node_id", err)
	}
	c.Node = h
	return c, nil
}

// Heartbeat returns HeartbeatMs as a duration.
func (c Cluster) Heartbeat() time.Duration { return time.Duration(c.HeartbeatMs) * time.Millisecond }

// FailureTimeout returns FailureTimeoutMs as a duration.
func (c Cluster) FailureTimeout() time.Duration {
	return time.Duration(c.FailureTimeoutMs) * time.Millisecond
}

// ErrFenced is wrapped by the errors of a node that no longer holds the
// lease it ran under: another node took the pipeline over.
var ErrFenced = errors.New("fenced: another node leads this pipeline now")

// Elector is implemented by sources that can run as a cluster singleton
// (postgres-cdc): one node of the cluster reads the source at a time, the
// others stand by, and the arbiter is a server the source already uses
// (for postgres-cdc, its database).
type Elector interface {
	Source
	// Elect blocks until this node holds the source's lease and returns
	// it, or until ctx ends (ctx.Err()), or electing fails (an error
	// naming the server). It is called before Open, and again after it
	// failed (RunSingleton retries with backoff); the lease it returns
	// belongs to the caller, who releases it.
	Elect(ctx context.Context, c Cluster, log *slog.Logger) (Lease, error)
}

// Lease is one node's leadership of a singleton pipeline, for one epoch.
// Its methods are safe for concurrent use.
type Lease interface {
	// Epoch is the lease's epoch: it grows with every change of leader.
	Epoch() uint64
	// Done is closed when the lease is lost: another node took it over,
	// the arbiter's session ended, or a renewal found the epoch moved.
	// Err then says why (wrapping ErrFenced); nil while the lease holds.
	Done() <-chan struct{}
	Err() error
	// Check confirms with the arbiter that this node still holds the
	// lease, before anything is published or acknowledged on its behalf;
	// an error wrapping ErrFenced when it does not (the lease is then
	// lost), or the arbiter's error.
	Check(ctx context.Context) error
	// Blob returns the durable value named key that every node of the
	// cluster shares for this pipeline (a source's state, a sink's
	// producer ids). A Put fails with ErrFenced once the lease is lost.
	Blob(key string) StateBlob
	// Release gives the lease up so that a standby may take over at once
	// (a graceful stop), and closes Done (Err stays nil when the lease was
	// not lost before). It is idempotent.
	Release() error
}

// LeaseUser is implemented by components that act under the pipeline's
// lease: before Open the driver of a singleton run calls UseLease once
// with the lease (the broker sink then fences the previous leader's
// producers and checks the lease before every publish).
type LeaseUser interface {
	UseLease(l Lease)
}
