package bind

import (
	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/stdout"
)

func init() {
	register(&Component{
		Kind: Sink,
		Name: "stdout",
		Def:  "#Stdout",
		Decode: func(v cue.Value, _ *config.Node) (any, error) {
			var j struct {
				Format           string `json:"format"`
				IncludeMetadata  bool   `json:"include_metadata"`
				IncludeTimestamp bool   `json:"include_timestamp"`
			}
			if err := decodeInto(v, &j); err != nil {
				return nil, err
			}
			return stdout.Config{Format: j.Format, IncludeMetadata: j.IncludeMetadata, IncludeTimestamp: j.IncludeTimestamp}, nil
		},
		Go: &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/stdout", Func: "New", Env: "Stdout"},
		GoField: fieldsByKey(map[string]string{
			"format": "Format", "include_metadata": "IncludeMetadata", "include_timestamp": "IncludeTimestamp",
		}),
		NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
			s, err := stdout.New(cfg.(stdout.Config), env.Stdout)
			if err != nil {
				return nil, err
			}
			s.UseFormats(env.Formats)
			return s, nil
		},
	})
}
