package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
)

// exit ends the process on a second interrupt; tests replace it.
var exit = os.Exit

func init() {
	commands = append(commands, &command{
		name:    "run",
		usage:   "[-c FILE]",
		summary: "Run every enabled pipeline (interpreted) until their sources end or SIGINT/SIGTERM.",
		run: func(e *env, o *options, args []string) int {
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect run: unexpected argument %q\n", args[0])
				return exitUsage
			}
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			level := slog.LevelInfo
			if o.verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			now, err := e.clock()
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect run: %v\n", err)
				return exitUsage
			}
			pipes, err := compiler.Interpret(p, runtime.Env{Now: now, Stdout: e.stdout, Stderr: e.stderr})
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect run: %v\n", err)
				return exitFailure
			}
			if len(pipes) == 0 {
				fmt.Fprintf(e.stderr, "rivven-connect run: no enabled pipelines in %s\n", o.config)
				return exitUsage
			}
			ctx, stop := signalContext(e, log)
			defer stop()
			for _, rp := range pipes {
				log.Debug("pipeline starting", "pipeline", rp.Name)
			}
			start := time.Now()
			err = runtime.RunAll(ctx, pipes)
			for _, rp := range pipes {
				log.Info("pipeline finished", "pipeline", rp.Name,
					"in", rp.Stats.In.Load(), "out", rp.Stats.Out.Load(),
					"dropped", rp.Stats.Dropped.Load(), "failed", rp.Stats.Failed.Load(),
					"elapsed", time.Since(start).Round(time.Millisecond))
			}
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect run: %v\n", err)
				return exitFailure
			}
			return exitOK
		},
	})
}

// clock returns time.Now, or a fixed instant from RIVVEN_CONNECT_NOW
// (RFC 3339) for reproducible output in tests and demos.
func (e *env) clock() (func() time.Time, error) {
	v, ok := e.lookup("RIVVEN_CONNECT_NOW")
	if !ok || v == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("RIVVEN_CONNECT_NOW=%q is not an RFC 3339 time", v)
	}
	return func() time.Time { return t }, nil
}

// signalContext is cancelled by the first SIGINT or SIGTERM (graceful
// stop); a second one exits at once with code 1.
func signalContext(e *env, log *slog.Logger) (context.Context, func()) {
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
			fmt.Fprintln(e.stderr, "rivven-connect: second signal, exiting immediately")
			exit(exitFailure)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}
