package bind

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// The http sink: config httpsink.Config, CUE definition #HTTPSink
// (cue/http_sink.cue). `headers` becomes Headers in the document's key
// order (so GoField maps headers.NAME to that header's Value, which a
// compiled binary reads at start-up when it came from ${VAR}); HideURL is
// set when the url came from the environment, so that no message shows it.
// Decode refuses, through httpsink's Validate, what the sink would refuse;
// Misfits refuses the keys the rest of the block leaves without effect.
func init() {
	c := &Component{
		Kind:    Sink,
		Name:    "http",
		Aliases: map[string]string{"headers": ""},
		Misfits: httpSinkMisfits,
		Go:      &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/httpsink", Func: "New", Env: "Stderr"},
		NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
			return httpsink.New(cfg.(httpsink.Config), env.Stderr)
		},
	}
	c.GoField = func(cfg any, key []string) (string, bool) {
		if len(key) == 2 && key[0] == "headers" {
			for i, h := range cfg.(httpsink.Config).Headers {
				if h.Name == key[1] {
					return fmt.Sprintf("Headers[%d].Value", i), true
				}
			}
			return "", false
		}
		return c.FieldPath(cfg, key)
	}
	connector(c, func(cfg httpsink.Config, _ cue.Value, n *config.Node) (any, error) {
		if hs := n.Get("headers"); hs != nil && hs.Kind == config.Map {
			for i, k := range hs.Keys {
				cfg.Headers = append(cfg.Headers, httpsink.Header{Name: k, Value: hs.Items[i].Text})
			}
		}
		if u := n.Get("url"); u != nil && len(u.Vars) > 0 {
			cfg.HideURL = true
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	})
}

// httpSinkMisfits refuses max_batch_records and max_batch_bytes with
// format json (one record per request), and tls with an http:// url.
func httpSinkMisfits(n *config.Node) []Misfit {
	var out []Misfit
	if f := n.Get("format"); f != nil && f.Kind == config.String && f.Text == httpsink.FormatJSON {
		why := "format json sends one record per request"
		if len(f.Vars) > 0 {
			why = "the format from ${" + f.Vars[0].Name + "} sends one record per request"
		}
		for _, k := range []string{"max_batch_records", "max_batch_bytes"} {
			if n.Get(k) != nil {
				out = append(out, Misfit{Key: []string{k}, Why: fmt.Sprintf("%s applies to formats ndjson and json_array; %s: remove it", k, why)})
			}
		}
	}
	u := n.Get("url")
	if n.Get("tls") != nil && u != nil && u.Kind == config.String && strings.HasPrefix(strings.ToLower(u.Text), "http://") {
		url := Shown(u)
		out = append(out, Misfit{Key: []string{"tls"}, Why: fmt.Sprintf("tls applies to https:// urls; the url %s is http://: remove tls, or use https", url)})
	}
	return out
}
