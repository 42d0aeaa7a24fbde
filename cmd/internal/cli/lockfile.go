package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/runtime"
)

// writeLock is `discover SOURCE --lock`: it reads the streams of source
// name from its server and writes them into the config's schema lock,
// keeping the other sources' entries. The config is compiled without the
// lock (a stale lock must not stop its own renewal).
func (e *env) writeLock(o *options, name string) int {
	path := lock.Path(o.config)
	if path == "" {
		fmt.Fprintln(e.stderr, "rivven-connect discover --lock: the config comes from standard input, so there is no file to put the lock next to: use -c FILE")
		return exitUsage
	}
	data, errs := e.readConfig(o)
	if errs != nil {
		e.printErrors(errs)
		return exitUsage
	}
	p, errs := compiler.Compile(o.config, data, e.lookup)
	if len(errs) > 0 {
		e.printErrors(errs)
		return exitUsage
	}
	var names []string
	for _, s := range p.Sources {
		names = append(names, s.Name)
		if s.Name != name {
			continue
		}
		redact := runtime.Redactor(p.Secrets)
		fail := func(msg string) int {
			fmt.Fprintf(e.stderr, "rivven-connect discover --lock: source %q (%s): %s\n", s.Name, s.Connector, redact(msg))
			return exitFailure
		}
		if s.Schema != nil {
			fmt.Fprintf(e.stderr, "rivven-connect discover --lock: source %q (%s) decides its record schema by its config; it takes no lock\n", s.Name, s.Connector)
			return exitUsage
		}
		src, err := compiler.Source(s.Component, runtime.Env{Now: time.Now, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			return fail(err.Error())
		}
		d, ok := src.(runtime.Discoverer)
		if !ok {
			return fail("it learns its streams at run time and cannot list them beforehand")
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		streams, err := d.Discover(ctx)
		if err != nil {
			return fail(err.Error())
		}
		l := &lock.Lock{File: path}
		if old, err := os.ReadFile(path); err == nil {
			prev, errs := lock.Parse(path, old)
			if len(errs) > 0 {
				e.printErrors(errs)
				fmt.Fprintf(e.stderr, "rivven-connect discover --lock: %s does not parse, so its other entries cannot be kept: fix it or delete it, then run this again\n", path)
				return exitUsage
			}
			l = prev
		}
		l.Put(lock.FromDiscovered(s.Name, s.Connector, streams))
		if err := writeFileAtomic(path, lock.Write(l, filepath.Base(o.config))); err != nil {
			fmt.Fprintf(e.stderr, "rivven-connect discover --lock: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(e.stdout, "%s: locked %s of source %q\n", path, plural(len(streams), "stream"), s.Name)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "rivven-connect discover --lock: no source named %q in %s; sources: %v\n", name, o.config, names)
	return exitUsage
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, synced, then renamed over it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
