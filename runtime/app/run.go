// Package app is the process-level runner shared by `rivven-connect run`
// and generated pipeline binaries: logging, signals, the graceful-stop
// deadline, the health and metrics servers, progress, running every
// pipeline, and the end-of-run summary. It imports only runtime packages
// and the standard library (plus the Prometheus client for /metrics).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/health"
)

// Exit codes shared by every rivven-connect program.
const (
	ExitOK      = 0
	ExitFailure = 1 // a runtime failure
	ExitUsage   = 2 // an invalid config or bad usage
)

// RunOptions configure Run.
type RunOptions struct {
	Stderr  io.Writer
	Verbose bool
	// Exit ends the process on a second interrupt; nil means os.Exit.
	Exit func(code int)
	// Secrets are texts that must never appear in logs, status, metrics or
	// dead letters (the values substituted from environment variables).
	Secrets []string
	// Names maps a pipeline to its source's and sink's config names, for
	// the health report and the original's metric labels; may be nil.
	Names map[string]health.Names
	// Stop, when set, requests a graceful stop when it is closed, like the
	// first SIGINT (tests and embedders).
	Stop <-chan struct{}
	// Listening, when set, is called with the address each server bound
	// ("health" or "metrics", "127.0.0.1:8080").
	Listening func(server, addr string)
	// Progress forces the terminal feedback (start-up lines, the live
	// progress line, the summary lines) on or off; nil shows it when Stderr
	// is a terminal.
	Progress *bool
	// Process overrides the process settings found in the pipelines.
	Process *runtime.Process
	// Rebuild returns a new, unopened instance of the pipeline named
	// name, built like the first (a cluster singleton that lost its
	// lease stands by again with fresh components). Required when a
	// pipeline has Settings.Singleton.
	Rebuild func(name string) (*runtime.Pipeline, error)
}

// MetricsCollector serves /metrics and observes the pipelines.
type MetricsCollector interface {
	runtime.Observer
	Handler() http.Handler
}

// NewMetrics builds the metrics collector. Package runtime/metrics sets it
// when imported, so binaries that never serve metrics (generated pipeline
// binaries whose config leaves settings.metrics off) do not link
// Prometheus.
var NewMetrics func(pipes []*runtime.Pipeline, names map[string][2]string) MetricsCollector

// abortGrace is how long Run waits for pipelines to return after the
// shutdown deadline aborted them, before giving up on them.
const abortGrace = 2 * time.Second

// Run runs pipes until they all finish or the first SIGINT/SIGTERM asks
// them to stop: reading stops, in-flight batches are written and
// acknowledged, and Run returns ExitOK — unless the drain takes longer than
// the shutdown timeout (settings.shutdown_timeout, default 30 s), which
// aborts it (ExitFailure). A second signal exits at once with ExitFailure.
// It serves health and metrics when the settings ask (the health listener
// serves the metrics too), logs a summary of each pipeline to opts.Stderr
// as it ends (with its own elapsed time), shows the terminal feedback of
// RunOptions.Progress, and returns the process exit code.
func Run(pipes []*runtime.Pipeline, opts RunOptions) int {
	if len(pipes) == 0 {
		fmt.Fprintln(opts.Stderr, "no enabled pipelines")
		return ExitUsage
	}
	proc := processSettings(pipes)
	if opts.Process != nil {
		proc = *opts.Process
	}
	if opts.Names == nil {
		opts.Names = map[string]health.Names{}
		for _, p := range pipes {
			opts.Names[p.Name] = health.Names{Source: p.SourceName, Sink: p.SinkName}
		}
	}
	for _, p := range pipes {
		if b, ok := p.Source.(runtime.Bounded); ok && p.Expected == 0 {
			p.Expected = b.Expected()
		}
	}
	redact := runtime.Redactor(opts.Secrets)
	stderr := &termWriter{w: opts.Stderr}
	log, err := NewLogger(stderr, proc.LogLevel, opts.Verbose, redact)
	if err != nil {
		fmt.Fprintf(opts.Stderr, "run: %v\n", err)
		return ExitUsage
	}
	exit := opts.Exit
	if exit == nil {
		exit = os.Exit
	}

	// Metrics are collected when either server serves them: the health
	// listener serves /metrics too, when this binary has the endpoint.
	var collector MetricsCollector
	switch {
	case proc.Metrics.Enabled && NewMetrics == nil:
		fmt.Fprintln(opts.Stderr, "run: settings.metrics is enabled, but this binary was built without the metrics endpoint (import github.com/rivven/rivven-connect/runtime/metrics)")
		return ExitUsage
	case proc.Metrics.Enabled || proc.Health.Enabled && NewMetrics != nil:
		names := map[string][2]string{}
		for k, v := range opts.Names {
			names[k] = [2]string{v.Source, v.Sink}
		}
		collector = NewMetrics(pipes, names)
	case proc.Health.Enabled:
		log.Debug("this binary was built without the metrics endpoint: the health server does not serve /metrics")
	}
	for _, p := range pipes {
		p.Logger = log
		p.Redact = redact
		if collector != nil {
			p.Observer = collector
		}
	}
	start := time.Now()
	servers, err := serve(proc, pipes, opts, collector, start, log)
	if err != nil {
		fmt.Fprintf(opts.Stderr, "run: %s\n", redact(err.Error()))
		return ExitFailure
	}
	defer shutdownServers(servers)

	sigCtx, stopSignals := signalContext(opts.Stderr, log, exit)
	defer stopSignals()
	ctx, stopRun := context.WithCancel(sigCtx)
	defer stopRun()
	if opts.Stop != nil {
		go func() {
			select {
			case <-opts.Stop:
				log.Info("stopping: draining in-flight records")
				stopRun()
			case <-ctx.Done():
			}
		}()
	}
	abort, cancelAbort := context.WithCancelCause(context.Background())
	defer cancelAbort(nil)
	timeout := proc.ShutdownTimeout()
	deadline := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(timeout, func() {
			cancelAbort(fmt.Errorf("shutdown_timeout (%v) expired while draining", timeout))
		})
		context.AfterFunc(abort, func() { t.Stop() })
	})
	defer deadline()

	for _, p := range pipes {
		log.Debug("pipeline starting", "pipeline", p.Name, "on_error", p.Settings.OnError.String())
	}
	disp := newDisplay(pipes, opts, stderr)
	disp.start()
	// Each pipeline is summed up when it ends, with its own elapsed time;
	// those still running when Run gives up on them, at the end.
	var (
		endMu    sync.Mutex
		reported = map[*runtime.Pipeline]bool{}
		closed   bool
	)
	ended := func(p *runtime.Pipeline) {
		endMu.Lock()
		defer endMu.Unlock()
		if closed || reported[p] {
			return
		}
		reported[p] = true
		disp.finished(p)
		logFinished(log, p)
	}
	done := make(chan error, 1)
	go func() {
		errs := make([]error, len(pipes))
		var wg sync.WaitGroup
		for i, p := range pipes {
			wg.Go(func() {
				switch {
				case p.Settings.Singleton:
					errs[i] = p.RunSingleton(ctx, abort, func() (*runtime.Pipeline, error) { return rebuild(opts, p.Name) })
				case p.Settings.Tasks > 0:
					errs[i] = p.RunScalable(ctx, abort, func() (*runtime.Pipeline, error) { return rebuild(opts, p.Name) })
				case p.Settings.Cluster.Enabled:
					errs[i] = p.RunMember(ctx, abort)
				default:
					errs[i] = p.RunAbortable(ctx, abort)
				}
				ended(p)
			})
		}
		wg.Wait()
		done <- errors.Join(errs...)
	}()
	var runErr error
	select {
	case runErr = <-done:
	case <-abort.Done():
		select {
		case runErr = <-done:
		case <-time.After(abortGrace):
			runErr = fmt.Errorf("%w: pipelines did not stop within %v of the shutdown deadline", runtime.ErrAborted, abortGrace)
		}
	}
	cancelAbort(nil)
	for _, p := range pipes {
		ended(p)
	}
	endMu.Lock()
	closed = true
	endMu.Unlock()
	disp.stop()
	if runErr != nil {
		fmt.Fprintf(opts.Stderr, "run: %s\n", redact(runErr.Error()))
		return ExitFailure
	}
	return ExitOK
}

// rebuild is opts.Rebuild(name), or an error saying there is none.
func rebuild(opts RunOptions, name string) (*runtime.Pipeline, error) {
	if opts.Rebuild == nil {
		return nil, fmt.Errorf("this runner cannot rebuild pipeline %q", name)
	}
	return opts.Rebuild(name)
}

// logFinished logs p's summary: its counters, state and its own elapsed
// time (from its start to its end, or to now when it has not returned).
func logFinished(log *slog.Logger, p *runtime.Pipeline) {
	st := p.Status()
	attrs := []any{"pipeline", p.Name,
		"in", st.In, "out", st.Out, "dropped", st.Dropped, "failed", st.Failed,
		"elapsed", elapsed(st, time.Now()).Round(time.Millisecond), "state", st.State.String()}
	if st.DeadLettered > 0 {
		attrs = append(attrs, "dead_lettered", st.DeadLettered)
	}
	if st.Acked != nil {
		attrs = append(attrs, "acked_position", *st.Acked) // a number, or {offset, token}
	}
	log.Info("pipeline finished", attrs...)
}

// processSettings returns the process-wide settings the pipelines carry
// (the same in each; the first non-zero one wins). They are taken as they
// are: pipelines built by hand without them run with the zero Process (no
// grace period on shutdown, no servers); runtime.DefaultProcess gives the
// settings of a config without a settings section.
func processSettings(pipes []*runtime.Pipeline) runtime.Process {
	for _, p := range pipes {
		if pr := p.Settings.Process; pr != (runtime.Process{}) {
			return pr
		}
	}
	return runtime.Process{}
}

// LevelTrace is the slog level of log_level: trace.
const LevelTrace = slog.Level(-8)

// NewLogger returns the process logger: text records on w at the level of
// settings.log_level ("" = info; verbose lowers it to debug), with every
// secret redacted from messages and attributes.
func NewLogger(w io.Writer, level string, verbose bool, redact func(string) string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(level) {
	case "", "info":
		l = slog.LevelInfo
	case "trace":
		l = LevelTrace
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown log_level %q (trace, debug, info, warn, error)", level)
	}
	if verbose && l > slog.LevelDebug {
		l = slog.LevelDebug
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.LevelKey && a.Value.Any() == LevelTrace {
			a.Value = slog.StringValue("TRACE")
		}
		return a
	}})
	return slog.New(&redactHandler{h: h, redact: redact}), nil
}

// redactHandler removes secrets from a record's message and attributes.
type redactHandler struct {
	h      slog.Handler
	redact func(string) string
}

func (r *redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, r.redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = r.attr(a)
	}
	return &redactHandler{h: r.h.WithAttrs(red), redact: r.redact}
}

func (r *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: r.h.WithGroup(name), redact: r.redact}
}

func (r *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = r.attr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, r.redact(err.Error()))
		}
		return slog.String(a.Key, r.redact(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// serve starts the health and metrics servers the settings enable. When
// both bind the same address they share one listener. When collector is
// set, the health listener serves the metrics too (at settings.metrics.path,
// default /metrics), unless a health endpoint has that path.
func serve(proc runtime.Process, pipes []*runtime.Pipeline, opts RunOptions, collector MetricsCollector, start time.Time, log *slog.Logger) ([]*http.Server, error) {
	type route struct {
		pattern string
		h       http.Handler
		owner   string // the server the route belongs to
		extra   bool   // the metrics on the health listener: yields to a route there
	}
	type endpoint struct {
		name   string
		s      runtime.Server
		routes []route
	}
	metricsPath := proc.Metrics.Path
	if metricsPath == "" {
		metricsPath = "/metrics"
	}
	var eps []endpoint
	if proc.Health.Enabled {
		h := &health.Handler{Pipes: pipes, Names: opts.Names, Start: start, Path: proc.Health.Path}
		var rs []route
		for pattern, hd := range h.Routes() {
			rs = append(rs, route{pattern: pattern, h: hd, owner: "health"})
		}
		slices.SortFunc(rs, func(a, b route) int { return strings.Compare(a.pattern, b.pattern) })
		if collector != nil {
			rs = append(rs, route{pattern: "GET " + metricsPath, h: collector.Handler(), owner: "metrics", extra: true})
		}
		eps = append(eps, endpoint{"health", proc.Health, rs})
	}
	if proc.Metrics.Enabled && collector != nil {
		eps = append(eps, endpoint{"metrics", proc.Metrics, []route{{pattern: "GET " + metricsPath, h: collector.Handler(), owner: "metrics"}}})
	}
	muxes := map[string]*http.ServeMux{}
	seen := map[string]map[string]string{} // address → pattern → owner
	var order []string
	names := map[string][]string{}
	for _, e := range eps {
		host := e.s.Address
		if host == "" {
			host = "127.0.0.1"
		}
		addr := net.JoinHostPort(host, strconv.Itoa(e.s.Port))
		if e.s.Port == 0 { // any free port: never shared
			addr += "#" + e.name
		}
		if muxes[addr] == nil {
			muxes[addr] = http.NewServeMux()
			seen[addr] = map[string]string{}
			order = append(order, addr)
		}
		for _, r := range e.routes {
			switch owner, taken := seen[addr][r.pattern]; {
			case !taken:
				muxes[addr].Handle(r.pattern, r.h)
				seen[addr][r.pattern] = r.owner
			case owner == r.owner: // the metrics of both servers on one listener
			case r.extra:
				log.Warn("the health server does not serve the metrics: a health endpoint has their path", "path", metricsPath)
			default:
				bind, _, _ := strings.Cut(addr, "#")
				return nil, fmt.Errorf("health and metrics servers: both serve %s on %s; give settings.metrics.path or settings.health.path another value", strings.TrimPrefix(r.pattern, "GET "), bind)
			}
		}
		names[addr] = append(names[addr], e.name)
	}
	var servers []*http.Server
	for _, addr := range order {
		bind, _, _ := strings.Cut(addr, "#")
		ln, err := net.Listen("tcp", bind)
		if err != nil {
			shutdownServers(servers)
			return nil, fmt.Errorf("%s server: %w", strings.Join(names[addr], " and "), err)
		}
		srv := &http.Server{Handler: muxes[addr], ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ln) }()
		for _, n := range names[addr] {
			log.Info("serving "+n, "address", "http://"+ln.Addr().String())
			if opts.Listening != nil {
				opts.Listening(n, ln.Addr().String())
			}
		}
	}
	return servers, nil
}

func shutdownServers(servers []*http.Server) {
	for _, s := range servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.Shutdown(ctx)
		cancel()
	}
}

// signalContext is cancelled by the first SIGINT or SIGTERM (graceful
// stop); a second one calls exit(ExitFailure).
func signalContext(stderr io.Writer, log *slog.Logger, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case s := <-ch:
			log.Info("stopping: draining in-flight records (signal again to exit at once)", "signal", s.String())
			cancel()
		case <-done:
			// The run may have ended on the same signal through another
			// path (Options.Stop) before this select saw it: say which.
			select {
			case s := <-ch:
				log.Info("stopping: draining in-flight records (signal again to exit at once)", "signal", s.String())
			default:
			}
			return
		}
		select {
		case <-ch:
			fmt.Fprintln(stderr, "second signal, exiting immediately")
			exit(ExitFailure)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		// Wait for the watcher, so that a signal it has (or is about to
		// log) is logged before the run returns and the process exits.
		<-exited
		cancel()
	}
}

// Clock returns time.Now, or a fixed instant from RIVVEN_CONNECT_NOW
// (RFC 3339) looked up with lookup, for reproducible output.
func Clock(lookup func(string) (string, bool)) (func() time.Time, error) {
	v, ok := lookup("RIVVEN_CONNECT_NOW")
	if !ok || v == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("RIVVEN_CONNECT_NOW=%q is not an RFC 3339 time", v)
	}
	return func() time.Time { return t }, nil
}
