package cli

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// specDocument is what spec's --config flag leaves in options.config: the
// flag asks for the whole document's schema, and spec reads no config file,
// so the field carries the request. No file name is a NUL byte.
const specDocument = "\x00spec --config"

// specDocumentFlag is spec's -c/--config: a switch rather than a file name.
type specDocumentFlag struct{ o *options }

func (f *specDocumentFlag) String() string { return strconv.FormatBool(f.o.config == specDocument) }
func (f *specDocumentFlag) Type() string   { return "bool" }

func (f *specDocumentFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("--config takes no file name here (spec reads no config): write --config alone")
	}
	if on {
		f.o.config = specDocument
	} else if f.o.config == specDocument {
		f.o.config = ""
	}
	return nil
}

func init() {
	commands = append(commands, &command{
		name:    "spec",
		usage:   "[CONNECTOR | PLUGIN.wasm] | --config",
		summary: "Print the JSON Schema of each connector's and transform's config, or with --config of the whole config document (generated from the CUE definitions); of a WASM plugin (FILE.wasm), its manifest.",
		flags: func(fs *pflag.FlagSet, o *options) {
			f := fs.Lookup("config")
			if f == nil {
				return // no shared -c/--config to take over
			}
			f.Value = &specDocumentFlag{o: o}
			f.DefValue = "false"
			f.NoOptDefVal = "true"
			f.Usage = "print the whole config document's schema instead, for editors (yaml-language-server)"
		},
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
			if o.config == specDocument {
				if len(args) == 1 {
					fmt.Fprintf(e.stderr, "rivven-connect spec: --config prints the whole document's schema; it takes no connector name (got %q)\n", args[0])
					return exitUsage
				}
				doc, err := s.ConfigJSONSchema()
				if err != nil {
					fmt.Fprintf(e.stderr, "rivven-connect spec: %v\n", err)
					return exitFailure
				}
				return e.printSchema(doc)
			}
			if len(args) == 1 && strings.HasSuffix(args[0], ".wasm") {
				return e.pluginSpec(args[0])
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
			return e.printSchema(v)
		},
	})
}

// pluginSpec prints a plugin module's manifest: what it is, its config's
// JSON Schema and, for a source, its streams.
func (e *env) pluginSpec(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := wasm.Load(ctx, wasm.Plugin{Name: filepath.Base(path), Module: runtime.File{Path: path, Name: path}})
	if err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect spec: %v\n", err)
		return exitFailure
	}
	mf := m.Manifest
	out := map[string]any{"abi": mf.ABI, "kind": mf.Kind, "name": mf.Name, "version": mf.Version, "sha256": m.SHA256}
	if mf.Description != "" {
		out["description"] = mf.Description
	}
	out["encoding"] = cmp.Or(mf.Encoding, abi.EncodingBinary)
	if mf.Kind == abi.KindTransform {
		out["keeps_schema"] = mf.KeepsSchema
	}
	if len(mf.ConfigSchema) > 0 {
		out["config"] = mf.ConfigSchema
	}
	if len(mf.Streams) > 0 {
		out["streams"] = mf.Streams
	}
	return e.printSchema(out)
}

// printSchema writes a JSON Schema to standard output.
func (e *env) printSchema(v any) int {
	b, err := check.EncodeJSONSchema(v)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect spec: %v\n", err)
		return exitFailure
	}
	if _, err := e.stdout.Write(b); err != nil {
		fmt.Fprintf(e.stderr, "rivven-connect spec: writing the schema: %v\n", err)
		return exitFailure
	}
	return exitOK
}
