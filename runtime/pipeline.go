package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrorPolicy says what a pipeline does with a record whose transform or
// sink write fails.
type ErrorPolicy uint8

// The error policies of settings.on_error.
const (
	// OnErrorStop stops the pipeline; its position stays before the record.
	OnErrorStop ErrorPolicy = iota
	// OnErrorSkip drops the record, counts it, and goes on.
	OnErrorSkip
	// OnErrorDeadLetter sends the record to the dead-letter sink and goes
	// on once the dead letter is acknowledged.
	OnErrorDeadLetter
)

var policyNames = [...]string{"stop", "skip", "dead_letter"}

func (p ErrorPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "unknown"
}

// DefaultBatchSize is the number of records read from a source at a time
// when a pipeline does not set BatchSize.
const DefaultBatchSize = 256

// inflightBatches bounds the source batches between the reader and the
// processor, and separately the outstanding writes to an AsyncSink, so a
// slow sink back-pressures the source.
const inflightBatches = 4

// Pipeline is one source → program → sink flow, ready to run. The back end
// that built it sets the fields; app.Run may set Observer, Logger and
// Redact. Run does not modify them.
type Pipeline struct {
	Name string
	// SourceName and SinkName are the config names of the source and sink
	// (for health and metrics labels).
	SourceName, SinkName string
	// SourceConnector and SinkConnector are their connector types
	// ("postgres-cdc", "stdout"), for progress displays; "" = not told.
	SourceConnector, SinkConnector string
	// Transforms are the config names of the pipeline's transforms, in
	// order: the stages a StageError names (StageError.Stage). The metrics
	// show a failure series for each from the start; nil = not told (the
	// series of a transform then appears when it first fails).
	Transforms []string

	Source   Source
	Program  Program
	Sink     Sink
	Settings Settings
	// DeadLetter receives dead letters when Settings.OnError is
	// OnErrorDeadLetter: the sink that Settings.DeadLetterSink names,
	// instantiated by the back end. The driver opens and closes it.
	DeadLetter Sink
	// ClusterStatus publishes this node's state of the pipeline to the
	// cluster topic (Settings.ClusterSink), instantiated by the back end;
	// RunSingleton opens, writes and closes it. nil = not published.
	ClusterStatus Sink
	// Expected is the number of records the source will produce when that
	// is known in advance (datagen max_events); 0 = unknown.
	Expected uint64
	// Observer, when set, is told about batches, sink writes and stage
	// failures (metrics).
	Observer Observer
	// Logger receives the driver's structured logs; nil discards them.
	Logger *slog.Logger
	// Redact, when set, hides secrets in every error text that leaves the
	// driver through logs, status or dead letters.
	Redact func(string) string
	// Now is the clock of dead letters' failed_at; nil = time.Now.
	Now func() time.Time

	// Stats are the running counters, safe to read concurrently.
	Stats Stats

	state   atomic.Int32
	comp    sync.RWMutex // guards the components against RunSingleton's swap, for Status
	retry   atomic.Bool  // a sink write is being retried
	lastErr atomic.Pointer[string]
	acked   atomic.Pointer[Position]
	started atomic.Int64 // unix nanoseconds
	ended   atomic.Int64 // unix nanoseconds; 0 = not ended
	step    atomic.Pointer[step]
	// limitClock is the rate limiter's clock; nil = the wall clock (tests
	// set a virtual one).
	limitClock clock
	// parent is the scalable pipeline p is a task of (RunScalable); its
	// counters and last error are counted in parent's; nil otherwise.
	parent *Pipeline
	// eventLag is 1 + the EventLag of the newest record in nanoseconds;
	// 0 = none read yet.
	eventLag atomic.Int64
}

// Stats are a pipeline's running counters.
type Stats struct {
	In           atomic.Uint64 // records read from the source
	Out          atomic.Uint64 // records the sink durably accepted
	Dropped      atomic.Uint64 // records a filter dropped
	Failed       atomic.Uint64 // records skipped or dead-lettered by on_error
	DeadLettered atomic.Uint64 // of Failed, records the dead-letter sink accepted
	Retries      atomic.Uint64 // sink write retries
}

// Observer is told what a running pipeline does, for metrics. Methods are
// called from the pipeline's goroutines and must be cheap and safe for
// concurrent use.
type Observer interface {
	// SourceBatch reports a batch of n records read from the source.
	SourceBatch(pipeline string, n int)
	// SinkWrite reports one write attempt of n records to the pipeline's
	// sink (dead-letter writes included) that took d and ended with err.
	SinkWrite(pipeline string, n int, d time.Duration, err error)
	// StageFailed reports a record that failed in a transform ("" for the
	// sink).
	StageFailed(pipeline, stage string)
}

// State is the lifecycle state of a pipeline.
type State int32

// The pipeline states, as health and status report them.
const (
	StateStarting  State = iota // opening its source and sinks
	StateRunning                // moving records
	StateUnhealthy              // running, but retrying a failing sink write
	StateStopping               // draining after a stop request
	StateStopped                // ended cleanly
	StateFailed                 // ended with an error
	StateStandby                // a singleton waiting for another node's lease
)

var stateNames = [...]string{"starting", "running", "unhealthy", "stopping", "stopped", "failed", "standby"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Status is a snapshot of a pipeline for health, status and progress.
type Status struct {
	Name                                            string
	State                                           State
	In, Out, Dropped, Failed, DeadLettered, Retries uint64
	// Expected is Pipeline.Expected.
	Expected uint64
	// Acked is the last position acknowledged to the source (with its
	// Token), or before this run acknowledged any, the one it resumed from
	// (state_dir); nil = none.
	Acked *Position
	// LastError is the last failure, secrets redacted; "" = none.
	LastError string
	// Started is when Run began; zero before.
	Started time.Time
	// Ended is when Run returned; zero while it runs (and before).
	Ended time.Time
	// EventLag is how long before it was read the newest record read so far
	// happened (read time − the record's event time); valid when HasEventLag
	// (a record with an event time was read).
	EventLag    time.Duration
	HasEventLag bool
	// SourceLag is the source's own measure of how far behind it is (see
	// Lagger), in SourceLagUnit; valid when HasSourceLag.
	SourceLag     uint64
	SourceLagUnit string
	HasSourceLag  bool
}

// Status returns a snapshot of p's state and counters.
func (p *Pipeline) Status() Status {
	s := Status{
		Name: p.Name, State: State(p.state.Load()),
		In: p.Stats.In.Load(), Out: p.Stats.Out.Load(), Dropped: p.Stats.Dropped.Load(),
		Failed: p.Stats.Failed.Load(), DeadLettered: p.Stats.DeadLettered.Load(), Retries: p.Stats.Retries.Load(),
		Expected: p.Expected, Acked: p.acked.Load(),
	}
	if s.State == StateRunning && p.retry.Load() {
		s.State = StateUnhealthy
	}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	if ns := p.started.Load(); ns != 0 {
		s.Started = time.Unix(0, ns)
	}
	if ns := p.ended.Load(); ns != 0 {
		s.Ended = time.Unix(0, ns)
	}
	if lag := p.eventLag.Load(); lag != 0 {
		s.EventLag, s.HasEventLag = max(time.Duration(lag-1), 0), true
	}
	p.comp.RLock()
	src := p.Source
	p.comp.RUnlock()
	if l, ok := src.(Lagger); ok && s.State != StateStarting && s.State != StateStandby {
		s.SourceLag, s.SourceLagUnit, s.HasSourceLag = l.SourceLag()
	}
	return s
}

func (p *Pipeline) redact(s string) string {
	if p.Redact != nil {
		return p.Redact(s)
	}
	return s
}

func (p *Pipeline) setLastError(err error) {
	msg := p.redact(err.Error())
	p.lastErr.Store(&msg)
	if p.parent != nil {
		p.parent.lastErr.Store(&msg)
	}
}

// RecordError says which record a pipeline failed on and why. Its text
// names the record's position as Position.String shows it.
type RecordError struct {
	Pipeline string
	Stream   string
	Position Position
	Err      error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("pipeline %q: record at position %s of stream %q: %v", e.Pipeline, e.Position.String(), e.Stream, e.Err)
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// ErrAborted is wrapped by the error of a run that was aborted (its abort
// context ended) before it could drain.
var ErrAborted = errors.New("aborted")

// Run runs p until its source ends (io.EOF: returns nil), ctx is cancelled
// (reading stops; the records already read are processed, written and
// acknowledged; Run returns nil), or a failure the error policy does not
// absorb (returned). It opens and closes the source and the sinks. A stop
// (ctx cancelled) that comes while the source or a sink is still opening
// is a clean end too: the Open, or the source's first Read, that fails
// once ctx is done does not fail the run; Run logs "stopped before source
// NAME connected" (with the error when it is not the context's own), closes
// what it opened and returns nil. With Settings.RateLimit, a batch read
// passes on only once the limiter has granted every record in it.
func (p *Pipeline) Run(ctx context.Context) error {
	return p.RunAbortable(ctx, context.WithoutCancel(ctx))
}

// RunAbortable is Run with a second context: when abort ends, the run
// stops at once without draining — writes in progress are cancelled,
// nothing more is acknowledged — and returns an error wrapping ErrAborted
// and abort's cause. Sink writes use abort as their context, so a graceful
// stop (ctx) never cancels a write in progress. The records not
// acknowledged are replayed by the next run (at-least-once).
func (p *Pipeline) RunAbortable(ctx, abort context.Context) (err error) {
	return p.run(ctx, abort, nil)
}

// run is RunAbortable under lease (nil on a single node).
func (p *Pipeline) run(ctx, abort context.Context, lease Lease) (err error) {
	p.ended.Store(0)
	p.step.Store(nil)
	p.started.Store(time.Now().UnixNano())
	p.state.Store(int32(StateStarting))
	defer func() {
		p.retry.Store(false)
		p.step.Store(nil)
		p.ended.Store(time.Now().UnixNano())
		if err != nil {
			p.setLastError(err)
			p.state.Store(int32(StateFailed))
			p.logger().Error("pipeline failed", "pipeline", p.Name, "error", p.redact(err.Error()))
		} else {
			p.state.Store(int32(StateStopped))
		}
	}()
	d := &driver{p: p, wctx: abort, abort: abort, lease: lease, failed: make(chan struct{})}
	return d.run(ctx)
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return discardLogger
}

var discardLogger = slog.New(slog.DiscardHandler)

// RunAll runs every pipeline concurrently and returns when all have
// finished. A pipeline that ends lets the others run on. The result joins
// the errors of the pipelines that failed.
func RunAll(ctx context.Context, ps []*Pipeline) error {
	return RunAllAbortable(ctx, context.WithoutCancel(ctx), ps)
}

// RunAllAbortable is RunAll with RunAbortable's abort context.
func RunAllAbortable(ctx, abort context.Context, ps []*Pipeline) error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.RunAbortable(ctx, abort)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
