package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
)

func init() {
	commands = append(commands, &command{
		name:    "discover",
		usage:   "[-c FILE] SOURCE [--lock]",
		summary: "Print the Airbyte-style catalog of a source's streams (JSON); --lock writes them into the config's schema lock instead.",
		flags: func(fs *pflag.FlagSet, o *options) {
			fs.BoolVar(&o.lock, "lock", false, "write the source's stream schemas into the schema lock next to the config (FILE.lock.yaml), which check then types conditions and masks against")
		},
		run: func(e *env, o *options, args []string) int {
			if len(args) != 1 {
				fmt.Fprintln(e.stderr, "rivven-connect discover: name one source: rivven-connect discover SOURCE")
				return exitUsage
			}
			if o.lock {
				return e.writeLock(o, args[0])
			}
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			var names []string
			for _, s := range p.Sources {
				names = append(names, s.Name)
				if s.Name != args[0] {
					continue
				}
				if s.Schema == nil {
					return e.discoverFromServer(p, s.Component)
				}
				pk := [][]string{}
				for _, k := range s.Schema.KeyNames() {
					pk = append(pk, []string{k})
				}
				stream := map[string]any{
					"name":                       s.Stream,
					"namespace":                  nilIfEmpty(s.Namespace),
					"json_schema":                schemas.JSONSchema(s.Schema),
					"supported_sync_modes":       []string{"full_refresh"},
					"default_cursor_field":       nil,
					"source_defined_primary_key": pk,
				}
				out, _ := json.MarshalIndent(map[string]any{"streams": []any{stream}}, "", "  ")
				fmt.Fprintln(e.stdout, string(out))
				return exitOK
			}
			msg := fmt.Sprintf("rivven-connect discover: no source named %q in %s", args[0], o.config)
			if s := source.Suggest(args[0], names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			fmt.Fprintf(e.stderr, "%s; sources: %s\n", msg, strings.Join(names, ", "))
			return exitUsage
		},
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// discoverFromServer asks a source that learns its streams from its server
// (postgres-cdc) for its catalog.
func (e *env) discoverFromServer(p *plan.Plan, c plan.Component) int {
	redact := runtime.Redactor(p.Secrets)
	fail := func(msg string) int {
		fmt.Fprintf(e.stderr, "rivven-connect discover: source %q (%s): %s\n", c.Name, c.Connector, redact(msg))
		return exitFailure
	}
	src, err := compiler.Source(c, runtime.Env{Now: time.Now, Stdout: io.Discard, Stderr: io.Discard})
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
	out := []any{}
	for _, st := range streams {
		js := schemas.JSONSchema(st.Schema)
		if props, ok := js["properties"].(map[string]any); ok {
			for name, t := range st.NativeTypes {
				if prop, ok := props[name].(map[string]any); ok {
					prop["x-source-type"] = t
				}
			}
		}
		pk := [][]string{}
		for _, k := range st.PrimaryKey {
			pk = append(pk, []string{k})
		}
		out = append(out, map[string]any{
			"name":                       st.Name,
			"namespace":                  nilIfEmpty(st.Namespace),
			"json_schema":                js,
			"supported_sync_modes":       st.SyncModes,
			"default_cursor_field":       nil,
			"source_defined_primary_key": pk,
		})
	}
	b, _ := json.MarshalIndent(map[string]any{"streams": out}, "", "  ")
	fmt.Fprintln(e.stdout, string(b))
	return exitOK
}
