package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// RunSingleton runs p as its cluster's singleton (Settings.Singleton):
// it stands by (StateStandby) until its source, an Elector, wins the
// lease; runs under the lease; and when the lease is lost (another node
// took over: ErrFenced), stops at once, without draining or acknowledging
// anything more, and stands by again with fresh components from rebuild,
// which returns a new, unopened pipeline like p (the same back end's, for
// the same config). It returns like RunAbortable: nil after ctx ends (a
// graceful stop drains and then releases the lease, so that a standby
// takes over at once), or the error of a run that failed for another
// reason than a lost lease (the lease is released too). Status and
// health see the same Pipeline across the runs.
func (p *Pipeline) RunSingleton(ctx, abort context.Context, rebuild func() (*Pipeline, error)) error {
	c, err := p.Settings.Cluster.named()
	if err != nil {
		return p.fail(fmt.Errorf("pipeline %q: %w", p.Name, err))
	}
	status := p.startStatus(c, RoleStandby)
	defer status.stop(RoleStopped)
	for {
		el, ok := p.Source.(Elector)
		if !ok {
			return p.fail(fmt.Errorf("pipeline %q: source %q cannot run as a cluster singleton", p.Name, p.SourceName))
		}
		p.state.Store(int32(StateStandby))
		status.set(RoleStandby, 0)
		log := p.logger().With("pipeline", p.Name, "node", c.Node)
		log.Info("standing by for the pipeline's lease")
		lease, err := p.elect(ctx, el, c, log)
		if err != nil {
			p.state.Store(int32(StateStopped))
			return nil // ctx ended
		}
		log.Info("leading the pipeline", "epoch", lease.Epoch())
		status.set(RoleLeader, lease.Epoch())
		runAbort, stop := context.WithCancelCause(abort)
		go func() {
			select {
			case <-lease.Done():
				stop(lease.Err())
			case <-runAbort.Done():
			}
		}()
		err = p.run(ctx, runAbort, lease)
		lost := lease.Err() != nil
		stop(nil)
		if !lost {
			// Ended while leading: a stop, the source's end or a failure.
			if rerr := lease.Release(); rerr != nil {
				log.Warn("releasing the pipeline's lease", "error", p.redact(rerr.Error()))
			}
			return err
		}
		log.Warn("lost the pipeline's lease: stopped at once, standing by", "epoch", lease.Epoch(), "reason", p.redact(lease.Err().Error()))
		_ = lease.Release() // its connection; the lease is gone already
		if ctx.Err() != nil || abort.Err() != nil {
			return nil
		}
		fresh, err := rebuild()
		if err != nil {
			return p.fail(fmt.Errorf("pipeline %q: rebuilding after losing the lease: %w", p.Name, err))
		}
		p.comp.Lock()
		p.Source, p.Program, p.Sink, p.DeadLetter = fresh.Source, fresh.Program, fresh.Sink, fresh.DeadLetter
		p.comp.Unlock()
	}
}

// elect runs el.Elect until it succeeds or ctx ends (its error then): a
// standby that cannot reach the arbiter keeps trying, with its error as
// the pipeline's last error and a warning, backing off from the
// heartbeat up to 30 s.
func (p *Pipeline) elect(ctx context.Context, el Elector, c Cluster, log *slog.Logger) (Lease, error) {
	wait := max(c.Heartbeat(), 100*time.Millisecond)
	for {
		l, err := el.Elect(ctx, c, log)
		if err == nil {
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		err = fmt.Errorf("pipeline %q: electing a leader: %w", p.Name, err)
		p.setLastError(err)
		log.Warn("cannot take part in the election; trying again", "in", wait, "error", p.redact(err.Error()))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// fail records err as p's end.
func (p *Pipeline) fail(err error) error {
	p.setLastError(err)
	p.state.Store(int32(StateFailed))
	p.logger().Error("pipeline failed", "pipeline", p.Name, "error", p.redact(err.Error()))
	return err
}
