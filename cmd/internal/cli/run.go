package cli

import (
	"fmt"
	"os"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/app"
	"github.com/rivven/rivven-connect/runtime/health"
	"github.com/rivven/rivven-connect/stdlib/datagen"
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
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			now, err := app.Clock(e.lookup)
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect run: %v\n", err)
				return exitUsage
			}
			rtEnv := runtime.Env{Now: now, Stdout: e.stdout, Stderr: e.stderr}
			pipes, err := compiler.Interpret(p, rtEnv)
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect run: %s\n", runtime.Redactor(p.Secrets)(err.Error()))
				return exitFailure
			}
			if len(pipes) == 0 {
				fmt.Fprintf(e.stderr, "rivven-connect run: no enabled pipelines in %s\n", o.config)
				return exitUsage
			}
			names, err := prepareRun(p, pipes, rtEnv)
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect run: %s\n", runtime.Redactor(p.Secrets)(err.Error()))
				return exitFailure
			}
			opts := runHooks
			opts.Stderr, opts.Verbose, opts.Exit = e.stderr, o.verbose, exit
			opts.Secrets, opts.Names = p.Secrets, names
			return app.Run(pipes, opts)
		},
	})
}

// prepareRun fills in what the interpreter leaves to the process runner:
// the dead-letter sinks, the known record counts for progress, and the
// source and sink names for health and metrics.
func prepareRun(p *plan.Plan, pipes []*runtime.Pipeline, env runtime.Env) (map[string]health.Names, error) {
	byName := map[string]*plan.Pipeline{}
	for _, pp := range p.Pipelines {
		byName[pp.Name] = pp
	}
	names := map[string]health.Names{}
	for _, rp := range pipes {
		pp := byName[rp.Name]
		if pp == nil {
			continue
		}
		names[rp.Name] = health.Names{Source: pp.Source.Name, Sink: pp.Sink.Name}
		if cfg, ok := pp.Source.Config.(datagen.Config); ok && cfg.MaxEvents > 0 {
			rp.Expected = uint64(cfg.MaxEvents)
		}
		if rp.Settings.OnError == runtime.OnErrorDeadLetter && rp.DeadLetter == nil {
			s, err := deadLetterSink(p, rp.Settings.DeadLetterSink, env)
			if err != nil {
				return nil, fmt.Errorf("pipeline %q: %w", rp.Name, err)
			}
			rp.DeadLetter = s
		}
	}
	return names, nil
}

// deadLetterSink instantiates the sink named by settings.dead_letter_sink.
// The plan carries the config of sinks that pipelines write to, so that is
// where it is found.
func deadLetterSink(p *plan.Plan, name string, env runtime.Env) (runtime.Sink, error) {
	if name == "" {
		return nil, fmt.Errorf("on_error: dead_letter: settings.dead_letter_topic needs the broker connector, which is not available in this build yet")
	}
	for _, pp := range p.Pipelines {
		c := pp.Sink
		if c.Name != name {
			continue
		}
		if c.Unavailable != "" {
			return nil, fmt.Errorf("dead_letter_sink %q: %s", name, c.Unavailable)
		}
		b, ok := bind.Lookup(bind.Sink, c.Connector)
		if !ok || b.NewSink == nil {
			return nil, fmt.Errorf("dead_letter_sink %q: connector %q cannot run", name, c.Connector)
		}
		s, err := b.NewSink(c.Config, env)
		if err != nil {
			return nil, fmt.Errorf("dead_letter_sink %q: %w", name, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("dead_letter_sink %q: not runnable yet: this build instantiates only sinks that some pipeline writes to (declare a pipeline into %q, `enabled: false` is enough)", name, name)
}
