package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/schemas"
)

func init() {
	commands = append(commands, &command{
		name:    "discover",
		usage:   "[-c FILE] SOURCE",
		summary: "Print the Airbyte-style catalog of a source's streams (JSON).",
		run: func(e *env, o *options, args []string) int {
			if len(args) != 1 {
				fmt.Fprintln(e.stderr, "rivven-connect discover: name one source: rivven-connect discover SOURCE")
				return exitUsage
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
					fmt.Fprintf(e.stderr, "rivven-connect discover: source %q (%s) learns its streams at run time; discover for it is not available in this build yet\n", s.Name, s.Connector)
					return exitFailure
				}
				stream := map[string]any{
					"name":                       s.Stream,
					"namespace":                  nilIfEmpty(s.Namespace),
					"json_schema":                schemas.JSONSchema(s.Schema),
					"supported_sync_modes":       []string{"full_refresh"},
					"default_cursor_field":       nil,
					"source_defined_primary_key": [][]string{},
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
