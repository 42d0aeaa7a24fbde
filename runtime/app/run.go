// Package app is the process-level runner shared by `rivven-connect run`
// and generated pipeline binaries: logging, signals, the graceful-stop
// deadline, the health and metrics servers, progress, running every
// pipeline, and the end-of-run summary. It imports only runtime packages
// and the standard library (plus the Prometheus client for /metrics).
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
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
	// Progress forces the progress display on or off; nil shows it when
	// Stderr is a terminal and a pipeline has a known end.
	Progress *bool
	// Process overrides the process settings found in the pipelines.
	Process *runtime.Process
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
// It serves health and metrics when the settings ask, logs a summary per
// pipeline to opts.Stderr and returns the process exit code.
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

	var collector MetricsCollector
	if proc.Metrics.Enabled {
		if NewMetrics == nil {
			fmt.Fprintln(opts.Stderr, "run: settings.metrics is enabled, but this binary was built without the metrics endpoint (import github.com/rivven/rivven-connect/runtime/metrics)")
			return ExitUsage
		}
		names := map[string][2]string{}
		for k, v := range opts.Names {
			names[k] = [2]string{v.Source, v.Sink}
		}
		collector = NewMetrics(pipes, names)
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
	progressDone := startProgress(pipes, opts, stderr)
	done := make(chan error, 1)
	go func() { done <- runtime.RunAllAbortable(ctx, abort, pipes) }()
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
	progressDone()
	for _, p := range pipes {
		st := p.Status()
		attrs := []any{"pipeline", p.Name,
			"in", st.In, "out", st.Out, "dropped", st.Dropped, "failed", st.Failed,
			"elapsed", time.Since(start).Round(time.Millisecond), "state", st.State.String()}
		if st.DeadLettered > 0 {
			attrs = append(attrs, "dead_lettered", st.DeadLettered)
		}
		if st.Acked != nil {
			attrs = append(attrs, "acked_position", st.Acked.Offset)
		}
		log.Info("pipeline finished", attrs...)
	}
	if runErr != nil {
		fmt.Fprintf(opts.Stderr, "run: %s\n", redact(runErr.Error()))
		return ExitFailure
	}
	return ExitOK
}

// processSettings returns the process-wide settings the pipelines carry
// (the same in each; the first non-zero one wins).
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
// both bind the same address they share one listener.
func serve(proc runtime.Process, pipes []*runtime.Pipeline, opts RunOptions, collector MetricsCollector, start time.Time, log *slog.Logger) ([]*http.Server, error) {
	type endpoint struct {
		name string
		s    runtime.Server
		reg  func(*http.ServeMux)
	}
	var eps []endpoint
	if proc.Health.Enabled {
		h := &health.Handler{Pipes: pipes, Names: opts.Names, Start: start, Path: proc.Health.Path}
		eps = append(eps, endpoint{"health", proc.Health, h.Register})
	}
	if collector != nil {
		path := proc.Metrics.Path
		if path == "" {
			path = "/metrics"
		}
		eps = append(eps, endpoint{"metrics", proc.Metrics, func(m *http.ServeMux) { m.Handle("GET "+path, collector.Handler()) }})
	}
	muxes := map[string]*http.ServeMux{}
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
			order = append(order, addr)
		}
		e.reg(muxes[addr])
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
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			log.Info("stopping: draining in-flight records (signal again to exit at once)", "signal", s.String())
			cancel()
		case <-done:
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

// startProgress shows, on a terminal, a one-line progress of the pipelines
// whose end is known; it returns a function that stops and clears it.
func startProgress(pipes []*runtime.Pipeline, opts RunOptions, tw *termWriter) func() {
	show := false
	if opts.Progress != nil {
		show = *opts.Progress
	} else {
		show = isTerminal(opts.Stderr)
	}
	var bounded []*runtime.Pipeline
	for _, p := range pipes {
		if p.Expected > 0 {
			bounded = append(bounded, p)
		}
	}
	if !show || len(bounded) == 0 {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				tw.draw("")
				return
			case <-t.C:
				tw.draw(progressLine(bounded))
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}

// termWriter is stderr shared by the logs and the progress line: a log
// record first clears the progress line, which the next tick redraws.
type termWriter struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
}

func (t *termWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drawn {
		io.WriteString(t.w, "\r\x1b[K")
		t.drawn = false
	}
	return t.w.Write(b)
}

// draw replaces the progress line with line ("" clears it).
func (t *termWriter) draw(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drawn || line != "" {
		io.WriteString(t.w, "\r\x1b[K"+line)
	}
	t.drawn = line != ""
}

// progressLine renders "name 120/1000 (12%)" for each bounded pipeline.
func progressLine(pipes []*runtime.Pipeline) string {
	parts := make([]string, len(pipes))
	for i, p := range pipes {
		in := p.Stats.In.Load()
		parts[i] = fmt.Sprintf("%s %d/%d (%d%%)", p.Name, in, p.Expected, in*100/p.Expected)
	}
	return strings.Join(parts, "  ")
}

// isTerminal reports whether w is a character device (a terminal), not a
// pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
