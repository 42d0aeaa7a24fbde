package bind

import (
	"fmt"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/stdout"
)

// The stdout sink: config stdout.Config, CUE definition #Stdout.
func init() {
	connector[stdout.Config](&Component{
		Kind:    Sink,
		Name:    "stdout",
		Misfits: stdoutMisfits,
		Go:      &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/stdout", Func: "New", Env: "Stdout", Formats: true},
		NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
			s, err := stdout.New(cfg.(stdout.Config), env.Stdout)
			if err != nil {
				return nil, err
			}
			s.UseFormats(env.Formats)
			return s, nil
		},
	}, nil)
}

// stdoutMisfits refuses the include_* keys that the format ignores, when
// the config sets them (either value): text lines carry no timestamp, and
// the typed formats (avro, protobuf, json_schema) print the record's
// encoded bytes only.
func stdoutMisfits(n *config.Node) []Misfit {
	f := n.Get("format")
	if f == nil || f.Kind != config.String {
		return nil // the default, pretty, shows both
	}
	typed := runtime.IsTypedFormat(f.Text)
	// ignores says which format ignores the key and why, without naming a
	// format that came from the environment.
	ignores := func(why string) string {
		if len(f.Vars) > 0 {
			return "the format from ${" + f.Vars[0].Name + "} ignores it"
		}
		return fmt.Sprintf("format %s ignores it (%s)", f.Text, why)
	}
	var out []Misfit
	if n.Get("include_timestamp") != nil && (typed || f.Text == "text") {
		why := "text lines carry no timestamp"
		if typed {
			why = "it prints each record's encoded bytes only"
		}
		out = append(out, Misfit{Key: []string{"include_timestamp"},
			Why: fmt.Sprintf("include_timestamp applies to formats pretty, json and tsv; %s: remove it", ignores(why))})
	}
	if n.Get("include_metadata") != nil && typed {
		out = append(out, Misfit{Key: []string{"include_metadata"},
			Why: fmt.Sprintf("include_metadata applies to formats pretty, json, tsv and text; %s: remove it", ignores("it prints each record's encoded bytes only"))})
	}
	return out
}
