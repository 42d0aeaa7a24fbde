package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/source"
)

func init() {
	commands = append(commands, &command{
		name:    "spec",
		usage:   "[CONNECTOR]",
		summary: "Print the JSON Schema of each connector's and transform's config (generated from the CUE definitions).",
		run: func(e *env, o *options, args []string) int {
			if len(args) > 1 {
				fmt.Fprintln(e.stderr, "rivven-connect spec: at most one connector name")
				return exitUsage
			}
			s, err := check.LoadSchema()
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect spec: %v\n", err)
				return exitFailure
			}
			out := map[string]map[string]any{}
			var all []string
			for _, kind := range []string{"sources", "sinks", "transforms"} {
				names, _ := s.Connectors(kind)
				defNames := s.DefNames(kind)
				for _, name := range names {
					if !slices.Contains(all, name) {
						all = append(all, name)
					}
					if len(args) == 1 && args[0] != name {
						continue
					}
					if out[kind] == nil {
						out[kind] = map[string]any{}
					}
					out[kind][name] = s.JSONSchema(defNames[name], name)
				}
			}
			if len(args) == 1 && len(out) == 0 {
				msg := fmt.Sprintf("rivven-connect spec: unknown connector %q", args[0])
				if sug := source.Suggest(args[0], all); sug != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sug)
				}
				fmt.Fprintf(e.stderr, "%s; known: %s\n", msg, strings.Join(all, ", "))
				return exitUsage
			}
			var v any = out
			if len(args) == 1 && len(out) == 1 {
				for _, m := range out {
					v = m[args[0]]
				}
			}
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintln(e.stdout, string(b))
			return exitOK
		},
	})
}
