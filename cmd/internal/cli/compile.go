package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/compiler/source"
)

// compile reads and compiles the config, printing errors (text, or JSON
// when o.format is json) and returning nil on failure.
//
// The schema lock next to the config (lock.Path), when there is one, is
// read with it: check finds it without a flag.
func (e *env) compile(o *options) (*plan.Plan, source.Errors, bool) {
	data, errs := e.readConfig(o)
	if errs == nil {
		var lf *compiler.LockFile
		lf, errs = readLock(o.config)
		if errs == nil {
			var p *plan.Plan
			if p, errs = compiler.CompileLocked(o.config, data, e.lookup, lf); len(errs) == 0 {
				return p, nil, true
			}
		}
	}
	if o.format == "json" {
		e.stdout.Write(errs.JSON())
	} else {
		e.printErrors(errs)
	}
	return nil, errs, false
}

func (e *env) printErrors(errs source.Errors) {
	for _, err := range errs {
		fmt.Fprintln(e.stderr, err.Error())
	}
	noun := "errors"
	if len(errs) == 1 {
		noun = "error"
	}
	fmt.Fprintf(e.stderr, "%d %s\n", len(errs), noun)
}

// readLock reads the schema lock of the config at configPath: nil when it
// has none (no file, or a config from standard input).
func readLock(configPath string) (*compiler.LockFile, source.Errors) {
	name := lock.Path(configPath)
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var errs source.Errors
	at := source.Pos{File: name, Line: 1, Column: 1}
	if err != nil {
		errs.Add(at, source.CodeUnreadable, "", "schema lock %s: %v", name, err)
		return nil, errs
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
	switch {
	case err != nil:
		errs.Add(at, source.CodeUnreadable, "", "schema lock %s: %v", name, err)
	case len(data) > config.MaxFileSize:
		errs.Add(at, source.CodeYAMLSyntax, "", "the schema lock is more than 10 MiB; a lock file is at most %d bytes", config.MaxFileSize)
	default:
		return &compiler.LockFile{Name: name, Data: data}, nil
	}
	return nil, errs
}
