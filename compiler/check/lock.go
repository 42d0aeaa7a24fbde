package check

import (
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/compiler/source"
)

// lockedSources applies the schema lock to the declared sources: a source
// whose streams the server decides (Schema nil) gets the locked schema of
// each of its streams, and the schema of its records when it has one
// stream, so that conditions and masks on it are typed offline. A lock
// entry that does not fit the config — an undeclared source, another
// connector, a source whose config decides its schema, a stream the source
// does not capture or a captured one the lock lacks — is an error at its
// position: a stale lock is refused, never used.
func (c *checker) lockedSources() {
	if c.lock == nil {
		return
	}
	rewrite := fmt.Sprintf("write the lock again: rivven-connect discover -c %s SOURCE --lock", c.file.Name)
	for _, ls := range c.lock.Sources {
		comp := c.sources[ls.Name]
		switch {
		case comp == nil && c.file.Root.Lookup("sources", ls.Name) == nil:
			c.errs.Add(ls.Pos, source.CodeUnknownRef, "sources."+ls.Name, "the schema lock %s holds source %q, which %s does not declare (a stale entry: remove it, or %s)", c.lock.File, ls.Name, c.file.Name, rewrite)
			continue
		case comp == nil || comp.Config == nil:
			continue // declared but invalid: reported
		case comp.Connector != ls.Connector:
			c.errs.Add(ls.Pos, source.CodeInvalidValue, "sources."+ls.Name, "the schema lock %s holds source %q as connector %s, but %s declares it as %s (the lock is for another source: %s)", c.lock.File, ls.Name, ls.Connector, c.file.Name, comp.Connector, rewrite)
			continue
		case comp.Schema != nil:
			c.errs.Add(ls.Pos, source.CodeInvalidValue, "sources."+ls.Name, "source %q (%s) decides its record schema by its config and takes no lock: remove it from %s", ls.Name, comp.Connector, c.lock.File)
			continue
		}
		streams, ok := c.lockedStreams(comp, ls, rewrite)
		if !ok {
			continue
		}
		comp.Locked = streams
		if len(streams) == 1 {
			comp.Schema = streams[0].Schema()
		}
		if comp.Bind.UseLock != nil {
			comp.Config = comp.Bind.UseLock(comp.Config, streams, fmt.Sprintf("rivven-connect discover -c %s %s --lock", c.file.Name, ls.Name))
		}
	}
}

// lockedStreams matches the streams the source captures, when its config
// decides them, with the lock's; it returns the locked streams in capture
// order, and false when the lock lacks one of them (reported).
func (c *checker) lockedStreams(comp *Component, ls *lock.Source, rewrite string) ([]*lock.Stream, bool) {
	byName := map[string]*lock.Stream{}
	for _, st := range ls.Streams {
		byName[st.FullName()] = st
	}
	if comp.Bind.Streams == nil {
		return ls.Streams, true
	}
	names := comp.Bind.Streams(comp.Config).Names
	if names == nil {
		return ls.Streams, true // the server decides (e.g. every table of a publication)
	}
	ok := true
	var out []*lock.Stream
	captured := map[string]bool{}
	for _, n := range names {
		full := bind.StreamFullName(n)
		captured[full] = true
		st := byName[full]
		if st == nil {
			var locked []string
			for _, s := range ls.Streams {
				locked = append(locked, s.FullName())
			}
			path := []string{"sources", comp.Name, "config"}
			c.errs.Add(c.posOf(path), source.CodeMissingKey, config.JoinPath(path), "source %q captures %s, which the schema lock %s does not hold (it holds %s): %s", comp.Name, full, c.lock.File, strings.Join(locked, ", "), rewrite)
			ok = false
			continue
		}
		out = append(out, st)
	}
	for _, st := range ls.Streams {
		if !captured[st.FullName()] {
			// Reported; the streams that match still type the pipeline,
			// so that one run reports every error.
			c.errs.Add(st.Pos, source.CodeInvalidValue, "sources."+ls.Name+".streams", "the schema lock %s holds stream %s, which source %q does not capture (a stale entry: %s)", c.lock.File, st.FullName(), ls.Name, rewrite)
		}
	}
	return out, ok
}
