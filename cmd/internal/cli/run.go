package cli

import (
	"fmt"
	"os"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/app"
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
			opts := runHooks
			opts.Stderr, opts.Verbose, opts.Exit = e.stderr, o.verbose, exit
			opts.Secrets = p.Secrets
			return app.Run(pipes, opts)
		},
	})
}
