package bind

import (
	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/s3sink"
)

// The s3 sink: config s3sink.Config, CUE definition #S3Sink
// (cue/s3_sink.cue). Decode refuses, through s3sink's Validate, what the
// sink would refuse (a key_template with an unknown variable).
func init() {
	connector(&Component{
		Kind:    Sink,
		Name:    "s3",
		Misfits: s3SinkMisfits,
		Go:      &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/s3sink", Func: "New", Env: "Now"},
		NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
			return s3sink.New(cfg.(s3sink.Config), env.Now)
		},
	}, func(cfg s3sink.Config, _ cue.Value, _ *config.Node) (any, error) {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	})
}

// s3SinkMisfits refuses envelope with a format other than jsonl, and
// compression snappy with format jsonl (the default).
func s3SinkMisfits(n *config.Node) []Misfit {
	var out []Misfit
	f := n.Get("format")
	jsonl := f == nil || f.Kind == config.String && f.Text == s3sink.FormatJSONL
	if n.Get("envelope") != nil && f != nil && f.Kind == config.String && !jsonl {
		out = append(out, Misfit{Key: []string{"envelope"}, Why: "envelope applies to format jsonl; format " + Shown(f) + " writes the row's fields as columns: remove envelope"})
	}
	if c := n.Get("compression"); c != nil && c.Kind == config.String && c.Text == "snappy" && jsonl {
		out = append(out, Misfit{Key: []string{"compression"}, Why: s3sink.SnappyJSONL})
	}
	return out
}
