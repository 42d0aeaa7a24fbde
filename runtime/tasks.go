package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Splitter is implemented by sources whose work splits into tasks (mode
// scalable with tasks > 1): the tasks of one pipeline, each on whichever
// node of the cluster the group gives it to, together read what one
// source would, each a share of its own that no other task reads.
type Splitter interface {
	Source
	// Split makes the source task index (0 ≤ index < count) of count.
	// It is called once, before Open.
	Split(index, count int) error
}

// TaskCoordinator is implemented by the sink that reaches the cluster's
// broker (the cluster status sink check implies for
// distributed.cluster_topic): it shares a scalable pipeline's tasks among
// the nodes through the broker's group protocol, and keeps each task's
// state (its acknowledged position, its producers) in the broker, where
// the node that runs the task next reads it.
type TaskCoordinator interface {
	// JoinTasks returns this node's membership of the group of the tasks
	// of pipeline (not joined yet: TaskGroup.Next joins).
	JoinTasks(c Cluster, pipeline string, tasks int, log *slog.Logger) (TaskGroup, error)
}

// TaskGroup is one node's membership of a scalable pipeline's group. It
// is used by one goroutine (RunScalable).
type TaskGroup interface {
	// Next joins the group (again) and returns this node's share of the
	// tasks for the new generation, once every task it names is free: the
	// previous owners stopped it, or lost their membership. It retries
	// the broker's transient errors itself; its error is ctx's or one
	// that joining again will not cure. The previous Assignment's tasks
	// must have stopped before Next is called.
	Next(ctx context.Context) (*Assignment, error)
	// Leave leaves the group, so that the others take the tasks over at
	// once, and closes the connection. It is idempotent.
	Leave() error
}

// Assignment is this node's share of a scalable pipeline's tasks for one
// generation of its group.
type Assignment struct {
	// Generation is the group's generation; it grows with every
	// rebalance.
	Generation uint64
	// Tasks are the indices of the tasks this node runs, ascending.
	Tasks []int
	// Lease returns the lease task i runs under: Epoch is the generation;
	// Done is the Assignment's Done; Err wraps ErrFenced once the
	// membership is lost; Check fails (ErrFenced) once this node can no
	// longer be sure that no other node runs the task; Blob is the task's
	// state, shared by the cluster.
	Lease func(task int) Lease
	// Done is closed when the generation ends. Expired then tells how:
	// false — a rebalance: the tasks stop gracefully (drain, acknowledge)
	// within Drain and Next is called; true — the membership was lost
	// (the tasks may be another node's already): they stop at once,
	// acknowledging nothing more.
	Done    <-chan struct{}
	Expired func() bool
	Drain   time.Duration
}

// RunScalable runs p (Settings.Tasks > 0) as one node of a cluster that
// shares its tasks: it joins the group of the pipeline's tasks through
// p.ClusterStatus (a TaskCoordinator), runs each task the group gives
// this node as a pipeline of its own from rebuild (its source split by
// Splitter when there is more than one task), under the task's lease
// (its position and state live in the cluster; the node publishes role
// member while it runs tasks, standby while the group gives it none), and
// at every rebalance
// stops them before joining again, so that no task ever runs on two
// nodes. Each task logs "task started" and "task stopped" with its
// owner (node, generation). The counters, last error and state of p sum
// up its tasks on this node (StateStandby while it has none). It returns
// like RunAbortable: nil after ctx ends (the tasks drain, then the node
// leaves the group), or the first error of a task that failed for
// another reason than a rebalance.
func (p *Pipeline) RunScalable(ctx, abort context.Context, rebuild func() (*Pipeline, error)) error {
	c, err := p.Settings.Cluster.named()
	if err != nil {
		return p.fail(fmt.Errorf("pipeline %q: %w", p.Name, err))
	}
	p.started.Store(time.Now().UnixNano())
	tc, ok := p.ClusterStatus.(TaskCoordinator)
	if !ok {
		return p.fail(fmt.Errorf("pipeline %q: mode scalable needs the cluster's broker (the cluster status sink), which this back end did not instantiate", p.Name))
	}
	n := max(p.Settings.Tasks, 1)
	log := p.logger().With("pipeline", p.Name, "node", c.Node)
	g, err := tc.JoinTasks(c, p.Name, n, log)
	if err != nil {
		return p.fail(fmt.Errorf("pipeline %q: %w", p.Name, err))
	}
	defer func() {
		if err := g.Leave(); err != nil {
			log.Warn("leaving the group of the pipeline's tasks", "error", p.redact(err.Error()))
		}
	}()
	status := p.startStatus(c, RoleStandby)
	defer status.stop(RoleStopped)
	for {
		p.state.Store(int32(StateStandby))
		a, err := g.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || abort.Err() != nil {
				p.state.Store(int32(StateStopped))
				return nil
			}
			return p.fail(fmt.Errorf("pipeline %q: the group of its tasks: %w", p.Name, err))
		}
		role := RoleMember
		if len(a.Tasks) == 0 {
			role = RoleStandby
		}
		status.setTasks(a.Tasks)
		status.set(role, a.Generation)
		log.Info("tasks assigned", "generation", a.Generation, "tasks", fmt.Sprint(a.Tasks), "of", n)
		if err := p.runTasks(ctx, abort, a, n, rebuild, log); err != nil {
			return p.fail(err)
		}
		if ctx.Err() != nil || abort.Err() != nil {
			p.state.Store(int32(StateStopped))
			return nil
		}
	}
}

// taskFinished names the blob of a task whose source ended: the task is
// not run again, on any node.
const taskFinished = "finished"

// taskRun is one task running on this node.
type taskRun struct {
	index int
	lease Lease
	stop  context.CancelFunc      // graceful: drain and acknowledge
	abort context.CancelCauseFunc // at once
	done  chan struct{}
	err   error
}

// runTasks runs a's tasks until a's generation ends (they stop: gracefully
// within a.Drain, or at once when the membership expired) or ctx ends
// (they drain). It returns the first error of a task that failed on its
// own; the others are stopped first.
func (p *Pipeline) runTasks(ctx, abort context.Context, a *Assignment, n int, rebuild func() (*Pipeline, error), log *slog.Logger) error {
	var runs []*taskRun
	ended := make(chan *taskRun, len(a.Tasks))
	var startErr error
	stopping := false // the tasks were told to stop: one that ends did not finish
	for _, i := range a.Tasks {
		lease := a.Lease(i)
		finished := lease.Blob(taskFinished)
		if _, ok, err := finished.Get(); err != nil {
			startErr = fmt.Errorf("pipeline %q, task %d: %s: %w", p.Name, i, finished.Where(), err)
			break
		} else if ok {
			log.Info("task finished earlier: its source ended", "task", i, "generation", a.Generation)
			continue
		}
		tp, err := p.taskPipeline(i, n, rebuild)
		if err != nil {
			startErr = err
			break
		}
		tctx, stop := context.WithCancel(ctx)
		tabort, abortNow := context.WithCancelCause(abort)
		r := &taskRun{index: i, lease: lease, stop: stop, abort: abortNow, done: make(chan struct{})}
		runs = append(runs, r)
		log.Info("task started", "task", i, "generation", a.Generation)
		go func() {
			defer close(r.done)
			r.err = tp.run(tctx, tabort, lease)
			ended <- r
		}()
	}
	if len(runs) > 0 {
		p.state.Store(int32(StateRunning))
	}
	stopAll := func(now bool, why error) {
		stopping = true
		for _, r := range runs {
			if now {
				r.abort(why)
			}
			r.stop()
		}
	}
	var failed error
	if startErr != nil {
		failed = startErr
		stopAll(false, nil)
	}
	live := len(runs)
	var drainTimer <-chan time.Time
	done, quit := a.Done, ctx.Done()
	for live > 0 {
		select {
		case r := <-ended:
			live--
			log.Info("task stopped", "task", r.index, "generation", a.Generation)
			switch {
			case r.err != nil && failed == nil && !errors.Is(r.err, ErrFenced) && abort.Err() == nil:
				failed = fmt.Errorf("pipeline %q, task %d: %w", p.Name, r.index, r.err)
				stopAll(false, nil)
			case r.err == nil && !stopping && ctx.Err() == nil:
				// Its source ended: the task is done for good, on every node.
				if err := r.lease.Blob(taskFinished).Put([]byte("true")); err != nil {
					log.Warn("recording that the task finished; its next owner runs it again", "task", r.index, "error", p.redact(err.Error()))
				} else {
					log.Info("task finished: its source ended", "task", r.index, "generation", a.Generation)
				}
			}
		case <-done:
			done = nil
			if a.Expired() {
				log.Warn("lost the membership of the group of the pipeline's tasks: stopping its tasks at once", "generation", a.Generation)
				stopAll(true, ErrFenced)
			} else {
				log.Info("the group of the pipeline's tasks is rebalancing: stopping its tasks", "generation", a.Generation)
				stopAll(false, nil)
				drainTimer = time.After(a.Drain)
			}
		case <-drainTimer:
			drainTimer = nil
			log.Warn("tasks still draining at the rebalance's limit: stopping them at once (their next owner reads again what they did not acknowledge)", "drain", a.Drain)
			stopAll(true, errors.New("rebalance: drain limit reached"))
		case <-quit:
			quit = nil // wait for the drains
			stopAll(false, nil)
		}
	}
	for _, r := range runs {
		<-r.done
	}
	if failed != nil {
		return failed
	}
	if done != nil && ctx.Err() == nil {
		// No tasks left running (none given, or all finished): stand by
		// until the generation ends or the node stops.
		p.state.Store(int32(StateStandby))
		select {
		case <-a.Done:
		case <-ctx.Done():
		case <-abort.Done():
		}
	}
	return nil
}

// taskPipeline builds task i of n from rebuild: its own components, the
// observers of p, its counters and errors counted in p's.
func (p *Pipeline) taskPipeline(i, n int, rebuild func() (*Pipeline, error)) (*Pipeline, error) {
	tp, err := rebuild()
	if err != nil {
		return nil, fmt.Errorf("pipeline %q: building task %d: %w", p.Name, i, err)
	}
	tp.Observer, tp.Redact, tp.Now, tp.limitClock = p.Observer, p.Redact, p.Now, p.limitClock
	tp.Logger = p.logger().With("task", i)
	tp.parent = p
	tp.ClusterStatus = nil // p publishes
	if s, ok := tp.Source.(Splitter); ok {
		if err := s.Split(i, n); err != nil {
			return nil, fmt.Errorf("pipeline %q: source %q, task %d of %d: %w", p.Name, p.SourceName, i, n, err)
		}
	} else if n > 1 {
		return nil, fmt.Errorf("pipeline %q: source %q cannot split its work into %d tasks", p.Name, p.SourceName, n)
	}
	return tp, nil
}

// stats returns the counters the driver adds to: its parent's for a task
// of a scalable pipeline, else p's own.
func (p *Pipeline) stats() *Stats {
	if p.parent != nil {
		return &p.parent.Stats
	}
	return &p.Stats
}
