package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/app"
	"github.com/rivven/rivven-connect/stdlib/schemaformat"
)

// exit ends the process on a second interrupt; tests replace it.
var exit = os.Exit

// runHooks lets tests observe a run (the servers' addresses) and stop it.
var runHooks app.RunOptions

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
			defer e.catchEarlySignals()()
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			return e.runPlan(p, o, "run")
		},
	})
}

// runPlan runs every enabled pipeline of p (interpreted) until they end or
// a signal stops them; cmd names the command in messages.
func (e *env) runPlan(p *plan.Plan, o *options, cmd string) int {
	now, err := app.Clock(e.lookup)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect %s: %v\n", cmd, err)
		return exitUsage
	}
	rtEnv := runtime.Env{Now: now, Stdout: e.stdout, Stderr: e.stderr}
	if reg, stateDir := registryOf(p); reg.Configured() {
		h, err := schemaformat.Open(reg, stateDir, p.Broker)
		if err != nil {
			fmt.Fprintf(e.stderr, "rivven-connect %s: %s\n", cmd, runtime.Redactor(p.Secrets)(err.Error()))
			return exitFailure
		}
		defer h.Close()
		if h.Addr != "" {
			fmt.Fprintf(e.stderr, "rivven-connect %s: schema registry REST API on http://%s\n", cmd, h.Addr)
		}
		rtEnv.Formats = h
	}
	pipes, err := compiler.Interpret(p, rtEnv)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect %s: %s\n", cmd, runtime.Redactor(p.Secrets)(err.Error()))
		return exitFailure
	}
	if len(pipes) == 0 {
		fmt.Fprintf(e.stderr, "rivven-connect %s: no enabled pipelines in %s\n", cmd, o.config)
		return exitUsage
	}
	opts := runHooks
	if opts.Stop == nil {
		opts.Stop = e.early
	}
	opts.Stderr, opts.Verbose, opts.Exit = e.stderr, o.verbose, exit
	opts.Secrets = p.Secrets
	opts.Rebuild = func(name string) (*runtime.Pipeline, error) {
		all, err := compiler.Interpret(p, rtEnv)
		if err != nil {
			return nil, err
		}
		for _, rp := range all {
			if rp.Name == name {
				return rp, nil
			}
		}
		return nil, fmt.Errorf("pipeline %q is not in the plan", name)
	}
	return app.Run(pipes, opts)
}

// catchEarlySignals makes a SIGINT or SIGTERM that arrives before the
// pipelines run (while the config is compiled, the registry opened) a
// graceful stop too: e.early is closed, and app.Run, which installs its
// own handler, starts already stopping (exit 0, "stopped before … connected").
// A signal before the process reaches Main still has its default effect.
// The returned function ends the watch (call it when the run is over).
func (e *env) catchEarlySignals() (release func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	early, done := make(chan struct{}), make(chan struct{})
	e.early = early
	go func() {
		select {
		case <-ch:
			close(early)
		case <-done:
		}
		signal.Stop(ch)
	}()
	return func() { close(done) }
}

// registryOf returns the process's schema registry settings and state
// directory (process-level settings, the same in every pipeline).
func registryOf(p *plan.Plan) (runtime.Registry, string) {
	for _, pp := range p.Pipelines {
		if pp.Enabled {
			return pp.Settings.Process.Registry, pp.Settings.StateDir
		}
	}
	return runtime.Registry{}, ""
}
