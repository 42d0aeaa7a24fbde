// Package app is the process-level runner shared by `rivven-connect run`
// and generated pipeline binaries: logging, signals, running every
// pipeline, and the end-of-run summary. It imports only runtime and the
// standard library, so generated binaries stay small.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rivven/rivven-connect/runtime"
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
}

// Run runs pipes until they all finish or the first SIGINT/SIGTERM asks
// them to stop (in-flight batches are written and acknowledged); a second
// signal exits at once with ExitFailure. It logs a summary per pipeline to
// opts.Stderr and returns the process exit code.
func Run(pipes []*runtime.Pipeline, opts RunOptions) int {
	level := slog.LevelInfo
	if opts.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(opts.Stderr, &slog.HandlerOptions{Level: level}))
	if len(pipes) == 0 {
		fmt.Fprintln(opts.Stderr, "no enabled pipelines")
		return ExitUsage
	}
	exit := opts.Exit
	if exit == nil {
		exit = os.Exit
	}
	ctx, stop := signalContext(opts.Stderr, log, exit)
	defer stop()
	for _, p := range pipes {
		log.Debug("pipeline starting", "pipeline", p.Name)
	}
	start := time.Now()
	err := runtime.RunAll(ctx, pipes)
	for _, p := range pipes {
		log.Info("pipeline finished", "pipeline", p.Name,
			"in", p.Stats.In.Load(), "out", p.Stats.Out.Load(),
			"dropped", p.Stats.Dropped.Load(), "failed", p.Stats.Failed.Load(),
			"elapsed", time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		fmt.Fprintf(opts.Stderr, "run: %v\n", err)
		return ExitFailure
	}
	return ExitOK
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
