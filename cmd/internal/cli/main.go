// Package cli is the rivven-connect command line. Main is the whole program
// (cmd/rivven-connect only calls it), so tests run it in-process.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure
	exitUsage   = 2 // an invalid config or bad usage
)

// command is one verb of the CLI.
type command struct {
	name    string
	usage   string // argument synopsis
	summary string
	flags   func(fs *pflag.FlagSet, o *options)
	run     func(e *env, o *options, args []string) int
}

// options are the flags every command shares plus the per-command ones.
type options struct {
	config  string
	verbose bool
	format  string
	connect bool          // check --connect
	lock    bool          // discover --lock
	legacy  legacyOptions // the postgres command

	schemaType string // schema check-compat --type
}

// env is what a command may touch: its streams and the process environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	// early is closed by a signal caught before the pipelines run (run and
	// postgres; see catchEarlySignals); nil otherwise.
	early <-chan struct{}
}

var commands []*command

func lookupCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Main runs the CLI with args (without the program name) and returns the
// process exit code: 0 ok, 1 runtime failure, 2 invalid config or usage.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, lookup: os.LookupEnv}
	return e.main(args)
}

func (e *env) main(args []string) int {
	global := pflag.NewFlagSet("rivven-connect", pflag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.SetInterspersed(false)
	o := &options{}
	global.StringVarP(&o.config, "config", "c", "connect.yaml", "config file")
	global.BoolVarP(&o.verbose, "verbose", "v", false, "verbose logging")
	showVersion := global.Bool("version", false, "print the version")
	help := global.BoolP("help", "h", false, "show help")
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect: %v\n\n", err)
		e.usage(e.stderr)
		return exitUsage
	}
	rest := global.Args()
	switch {
	case *showVersion:
		return lookupCommand("version").run(e, o, nil)
	case *help, len(rest) == 0:
		e.usage(e.stdout)
		if *help {
			return exitOK
		}
		return exitUsage
	}
	cmd := lookupCommand(rest[0])
	if cmd == nil {
		var names []string
		for _, c := range commands {
			names = append(names, c.name)
		}
		fmt.Fprintf(e.stderr, "rivven-connect: unknown command %q", rest[0])
		if s := source.Suggest(rest[0], names); s != "" {
			fmt.Fprintf(e.stderr, " (did you mean %q?)", s)
		}
		fmt.Fprintf(e.stderr, "\nRun 'rivven-connect help' for the list of commands.\n")
		return exitUsage
	}
	fs := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVarP(&o.config, "config", "c", o.config, "config file")
	fs.BoolVarP(&o.verbose, "verbose", "v", o.verbose, "verbose logging")
	cmdHelp := fs.BoolP("help", "h", false, "show help")
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	if err := fs.Parse(rest[1:]); err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect %s: %v\n", cmd.name, err)
		e.commandUsage(e.stderr, cmd, fs)
		return exitUsage
	}
	if *cmdHelp {
		e.commandUsage(e.stdout, cmd, fs)
		return exitOK
	}
	return cmd.run(e, o, fs.Args())
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintf(w, "rivven-connect moves data from sources through transforms into sinks.\n\n")
	fmt.Fprintf(w, "Usage: rivven-connect [-c FILE] COMMAND [ARGS]\n\nCommands:\n")
	cs := append([]*command(nil), commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n  -c, --config FILE   config file (default connect.yaml; - reads standard input)\n  -v, --verbose       verbose logging\n  -h, --help          show help\n      --version       print the version\n")
	fmt.Fprintf(w, "\nRun 'rivven-connect help COMMAND' for a command's flags.\n")
}

func (e *env) commandUsage(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: rivven-connect %s %s\n\n%s\n\nFlags:\n%s", c.name, c.usage, c.summary, fs.FlagUsages())
}

// readConfig reads the config named by o ("-" is standard input), at most
// one byte more than config.MaxFileSize: a larger file is refused without
// being read whole. A failure is reported like any config error (code
// unreadable-config, at 1:1), so `check --format json` still prints JSON.
func (e *env) readConfig(o *options) ([]byte, source.Errors) {
	var errs source.Errors
	at := source.Pos{File: o.config, Line: 1, Column: 1}
	in := e.stdin
	size := int64(-1)
	if o.config != "-" {
		f, err := os.Open(o.config)
		if err != nil {
			errs.Add(at, source.CodeUnreadable, "", "%s", unreadable(o.config, err))
			return nil, errs
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			if fi.IsDir() {
				errs.Add(at, source.CodeUnreadable, "", "%s is a directory, not a config file", o.config)
				return nil, errs
			}
			if fi.Mode().IsRegular() {
				size = fi.Size()
			}
		}
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, config.MaxFileSize+1))
	if err != nil {
		errs.Add(at, source.CodeUnreadable, "", "%s", unreadable(o.config, err))
		return nil, errs
	}
	if len(data) > config.MaxFileSize {
		what := "more than 10 MiB"
		if size > 0 {
			what = fmt.Sprintf("%d bytes", size)
		}
		errs.Add(at, source.CodeYAMLSyntax, "", "the file is %s; a config file is at most %d bytes (10 MiB)", what, config.MaxFileSize)
		return nil, errs
	}
	return data, nil
}

// unreadable says why the config file could not be read.
func unreadable(name string, err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, os.ErrNotExist):
		msg = fmt.Sprintf("config file %s not found (use -c FILE, or 'rivven-connect init > connect.yaml' to start one)", name)
	case strings.Contains(msg, "is a directory"):
		msg = fmt.Sprintf("%s is a directory, not a config file", name)
	}
	return msg
}
