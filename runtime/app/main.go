package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// Main is the command line of a generated pipeline binary: run, check,
// explain, version and help. It returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, spec *Spec) int {
	return MainEnv(args, stdout, stderr, spec, os.LookupEnv)
}

// MainEnv is Main with an explicit environment lookup, for tests.
func MainEnv(args []string, stdout, stderr io.Writer, spec *Spec, lookup func(string) (string, bool)) int {
	verbose := false
	var rest []string
	for _, a := range args {
		switch a {
		case "-v", "--verbose":
			verbose = true
		default:
			rest = append(rest, a)
		}
	}
	cmd := "help"
	if len(rest) > 0 {
		cmd = rest[0]
	}
	if len(rest) > 1 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", cmd, rest[1])
		return ExitUsage
	}
	// Every variable value the pipelines read is a secret for the runner.
	var secrets []string
	recorded := func(k string) (string, bool) {
		v, ok := lookup(k)
		if ok {
			secrets = append(secrets, v)
		}
		return v, ok
	}
	closeProcess := func() error { return nil }
	var built runtime.Env // the env of the pipelines build built
	build := func() ([]*runtime.Pipeline, int) {
		now, err := Clock(lookup)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return nil, ExitUsage
		}
		env := runtime.Env{Now: now, Stdout: stdout, Stderr: stderr}
		if spec.Open != nil {
			c, err := spec.Open(&env, recorded)
			if err != nil {
				fmt.Fprintln(stderr, runtime.Redactor(secrets)(err.Error()))
				var ee *EnvError
				if errors.As(err, &ee) {
					return nil, ExitUsage
				}
				return nil, ExitFailure
			}
			closeProcess = c
		}
		built = env
		pipes, err := spec.Build(env, recorded)
		if err != nil {
			fmt.Fprintln(stderr, runtime.Redactor(secrets)(err.Error()))
			var ee *EnvError
			if errors.As(err, &ee) {
				return nil, ExitUsage
			}
			return nil, ExitFailure
		}
		return pipes, ExitOK
	}
	switch cmd {
	case "run":
		pipes, code := build()
		defer closeProcess()
		if code != ExitOK {
			return code
		}
		rebuild := func(name string) (*runtime.Pipeline, error) {
			all, err := spec.Build(built, recorded)
			if err != nil {
				return nil, errors.New(runtime.Redactor(secrets)(err.Error()))
			}
			for _, p := range all {
				if p.Name == name {
					return p, nil
				}
			}
			return nil, fmt.Errorf("pipeline %q is not in this binary", name)
		}
		return Run(pipes, RunOptions{Stderr: stderr, Verbose: verbose, Secrets: secrets, Rebuild: rebuild})
	case "check":
		pipes, code := build()
		defer closeProcess()
		if code != ExitOK {
			return code
		}
		fmt.Fprintf(stdout, "%s: ok (%d enabled pipelines, compiled in)\n", spec.Config, len(pipes))
		return ExitOK
	case "explain":
		fmt.Fprint(stdout, spec.Plan)
		return ExitOK
	case "version":
		fmt.Fprintf(stdout, "compiled from %s by rivven-connect %s (%s)\n", spec.Config, spec.Compiler, goruntime.Version())
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, "A pipeline binary compiled from %s by rivven-connect.\n\n", spec.Config)
		fmt.Fprintf(stdout, "Usage: %s [-v] COMMAND\n\nCommands:\n", progName())
		fmt.Fprintln(stdout, "  run       run the compiled pipelines until they end or SIGINT/SIGTERM")
		fmt.Fprintln(stdout, "  check     check the environment the pipelines need")
		fmt.Fprintln(stdout, "  explain   print the compiled plan")
		fmt.Fprintln(stdout, "  version   print what this binary was compiled from")
		if len(spec.Vars) > 0 {
			fmt.Fprintf(stdout, "\nEnvironment read at start-up: %s\n", strings.Join(spec.Vars, ", "))
		}
		if len(rest) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	fmt.Fprintf(stderr, "unknown command %q (commands: run, check, explain, version, help)\n", cmd)
	return ExitUsage
}

func progName() string {
	if len(os.Args) > 0 {
		name := os.Args[0]
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		return name
	}
	return "pipeline"
}
