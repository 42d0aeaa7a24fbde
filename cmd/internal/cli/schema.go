package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas/registry"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/schemaformat"
)

// schemaAPI is what the schema commands need of a registry: the external
// client, or the embedded registry opened from settings.state_dir.
type schemaAPI interface {
	Subjects(ctx context.Context) ([]string, error)
	Versions(ctx context.Context, subject string) ([]int, error)
	Version(ctx context.Context, subject string, version int) (registry.Schema, error)
	TestCompatibility(ctx context.Context, subject string, version int, schemaType, schema string) error
}

// embeddedAPI adapts the embedded registry to schemaAPI.
type embeddedAPI struct{ r *registry.Registry }

func (a embeddedAPI) Subjects(context.Context) ([]string, error) { return a.r.Subjects(), nil }
func (a embeddedAPI) Versions(_ context.Context, s string) ([]int, error) {
	return a.r.Versions(s)
}
func (a embeddedAPI) Version(_ context.Context, s string, v int) (registry.Schema, error) {
	return a.r.Version(s, v)
}
func (a embeddedAPI) TestCompatibility(_ context.Context, s string, v int, t, schema string) error {
	return a.r.TestCompatibility(s, v, t, schema)
}

func init() {
	commands = append(commands, &command{
		name:  "schema",
		usage: "list | get SUBJECT [VERSION] | check-compat SUBJECT FILE [--type avro|json|protobuf]",
		summary: "Read the configured schema registry: list subjects, print a schema, test a schema file's compatibility. " +
			"The embedded registry is read through its REST API when schema_registry.listen is set, else from settings.state_dir.",
		flags: func(fs *pflag.FlagSet, o *options) {
			fs.StringVar(&o.schemaType, "type", "avro", "check-compat: the file's schema type (avro, json or protobuf)")
		},
		run: func(e *env, o *options, args []string) int {
			usage := func(msg string) int {
				fmt.Fprintf(e.stderr, "rivven-connect schema: %s (usage: rivven-connect schema list | get SUBJECT [VERSION] | check-compat SUBJECT FILE)\n", msg)
				return exitUsage
			}
			if len(args) == 0 {
				return usage("name a subcommand")
			}
			sub, args := args[0], args[1:]
			switch {
			case sub == "list" && len(args) == 0, sub == "get" && (len(args) == 1 || len(args) == 2), sub == "check-compat" && len(args) == 2:
			case sub == "list" || sub == "get" || sub == "check-compat":
				return usage("wrong number of arguments for " + sub)
			default:
				return usage(fmt.Sprintf("unknown subcommand %q", sub))
			}
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			redact := runtime.Redactor(p.Secrets)
			fail := func(err error) int {
				fmt.Fprintf(e.stderr, "rivven-connect schema %s: %s\n", sub, redact(err.Error()))
				return exitFailure
			}
			reg, stateDir := registryOf(p)
			api, closeAPI, err := openSchemaAPI(reg, stateDir, p.Broker)
			if err != nil {
				return fail(err)
			}
			defer closeAPI()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			switch sub {
			case "list":
				subjects, err := api.Subjects(ctx)
				if err != nil {
					return fail(err)
				}
				for _, s := range subjects {
					vs, err := api.Versions(ctx, s)
					if err != nil {
						return fail(err)
					}
					fmt.Fprintf(e.stdout, "%s\tversions %s\n", s, strings.Trim(strings.Join(strings.Fields(fmt.Sprint(vs)), ","), "[]"))
				}
				return exitOK
			case "get":
				v := registry.Latest
				if len(args) == 2 && args[1] != "latest" {
					if v, err = strconv.Atoi(args[1]); err != nil || v < 1 {
						return usage(fmt.Sprintf("version %q is not a positive number or latest", args[1]))
					}
				}
				s, err := api.Version(ctx, args[0], v)
				if err != nil {
					return fail(err)
				}
				out, _ := json.MarshalIndent(s, "", "  ")
				fmt.Fprintln(e.stdout, string(out))
				return exitOK
			default: // check-compat
				text, err := os.ReadFile(args[1])
				if err != nil {
					return fail(err)
				}
				typ := strings.ToUpper(o.schemaType)
				err = api.TestCompatibility(ctx, args[0], registry.Latest, typ, string(text))
				if err == nil {
					fmt.Fprintf(e.stdout, "%s is compatible with the latest version of %s\n", args[1], args[0])
					return exitOK
				}
				if errors.Is(err, registry.ErrIncompatible) {
					fmt.Fprintf(e.stdout, "%s is NOT compatible with %s: %s\n", args[1], args[0], redact(err.Error()))
					return exitFailure
				}
				return fail(err)
			}
		},
	})
}

// openSchemaAPI opens the configured registry for reading.
func openSchemaAPI(reg runtime.Registry, stateDir string, conn *broker.Conn) (schemaAPI, func(), error) {
	if reg.Mode == "external" || reg.Listen != "" {
		url := reg.URL
		if reg.Mode != "external" {
			url = "http://" + reg.Listen
		}
		c, err := registry.NewClient(url, registry.ClientOptions{Username: reg.Username, Password: reg.Password})
		if err != nil {
			return nil, nil, err
		}
		return c, func() {}, nil
	}
	reg.Listen = ""
	h, err := schemaformat.Open(reg, stateDir, conn)
	if err != nil {
		return nil, nil, err
	}
	return embeddedAPI{h.Embedded}, func() { h.Close() }, nil
}
