package bind

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsource"
)

// The http source (poll and webhook modes): config httpsource.Config, CUE
// definition #HTTPSource (cue/http_source.cue). Its records' schema is the
// declared `schema` (so conditions on it are typed at check), or without
// one known only at run time. headers, schema and
// auth.oauth2.endpoint_params are maps whose key order matters or that Go
// configs hold as lists: finish reads them from the document node, in
// order. mode is read from the value: finish sets Mode for webhook mode
// only, so that poll-mode configs (Mode "") read as they always did.
func init() {
	c := &Component{
		Kind: Source,
		Name: "http",
		Aliases: map[string]string{
			"mode":                        "",
			"headers":                     "",
			"schema":                      "",
			"auth.oauth2.endpoint_params": "",
		},
		Misfits: httpSourceMisfits,
		Schema: func(cfg any) (*runtime.Schema, error) {
			return httpsource.Schema(cfg.(httpsource.Config))
		},
		Streams: func(cfg any) Streams {
			name := cfg.(httpsource.Config).Stream
			if name == "" {
				name = httpsource.DefaultStream
			}
			return Streams{Names: []StreamName{{Name: name}}}
		},
		Named: func(cfg any, name string) any {
			hc := cfg.(httpsource.Config)
			if hc.Stream == "" {
				hc.Stream = name // the documented default: the source's name
			}
			return hc
		},
		Go: &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/httpsource", Func: "New", Env: "Now"},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return httpsource.New(cfg.(httpsource.Config), env.Now)
		},
	}
	c.GoField = func(cfg any, key []string) (string, bool) {
		hc := cfg.(httpsource.Config)
		switch {
		case len(key) == 2 && key[0] == "headers":
			return listField("Headers", hc.Headers, key[1])
		case len(key) == 4 && strings.Join(key[:3], ".") == "auth.oauth2.endpoint_params":
			return listField("Auth.OAuth2.EndpointParams", hc.Auth.OAuth2.EndpointParams, key[3])
		case len(key) >= 1 && key[0] == "schema":
			return "", false // a type is part of the plan, never read at start-up
		}
		return c.FieldPath(cfg, key)
	}
	connector(c, func(cfg httpsource.Config, v cue.Value, n *config.Node) (any, error) {
		if m, err := lookup(v, "mode").String(); err == nil && m == httpsource.ModeWebhook {
			// The defaults of poll mode's keys (method, at_end, interval_ms,
			// rate_limit, retry) do not apply: a webhook config holds none
			// (Misfits refuses those keys when written).
			cfg.Mode = httpsource.ModeWebhook
			cfg.Method, cfg.AtEnd, cfg.IntervalMs, cfg.RateLimit, cfg.Retry = "", "", 0, 0, httpsource.Retry{}
		}
		cfg.Headers = pairs(n.Get("headers"))
		cfg.Auth.OAuth2.EndpointParams = pairs(n.Lookup("auth", "oauth2", "endpoint_params"))
		for _, f := range pairs(n.Get("schema")) {
			cfg.Schema = append(cfg.Schema, httpsource.Field{Name: f.Name, Type: f.Value})
		}
		if err := withoutMisfits(cfg).Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	})
}

// withoutMisfits is cfg without what httpSourceMisfits refuses at its key
// (a body without POST, a second pagination style, a second auth method,
// the keys of the other mode), so that Validate reports only the other
// problems, once each.
func withoutMisfits(cfg httpsource.Config) httpsource.Config {
	if cfg.Mode == httpsource.ModeWebhook {
		cfg.URL, cfg.Method, cfg.Body, cfg.Headers, cfg.Pagination = "", "", "", nil, httpsource.Pagination{}
		cfg.AtEnd, cfg.IntervalMs, cfg.RateLimit, cfg.Retry = "", 0, 0, httpsource.Retry{}
		cfg.Auth.OAuth2 = httpsource.OAuth2{}
	} else {
		cfg.Listen, cfg.HMAC = httpsource.Listen{}, httpsource.HMAC{}
	}
	if cfg.Method != "POST" {
		cfg.Body = ""
	}
	p := &cfg.Pagination
	switch {
	case p.CursorPath != "":
		p.LinkHeader, p.PageParam = false, ""
	case p.LinkHeader:
		p.PageParam = ""
	}
	a := &cfg.Auth
	switch {
	case a.Basic != (httpsource.Basic{}):
		a.Bearer, a.OAuth2 = httpsource.Bearer{}, httpsource.OAuth2{}
	case a.Bearer.Token != "":
		a.OAuth2 = httpsource.OAuth2{}
	}
	return cfg
}

// listField maps the entry name of a map key decoded into a list of
// name/value pairs to the Go path of its value ("Headers[1].Value").
func listField(field string, list []httpsource.Header, name string) (string, bool) {
	for i, h := range list {
		if h.Name == name {
			return fmt.Sprintf("%s[%d].Value", field, i), true
		}
	}
	return "", false
}

// pairs lists the string entries of a map node in document order (the
// CUE validation has checked that they are strings).
func pairs(n *config.Node) []httpsource.Header {
	if n == nil || n.Kind != config.Map {
		return nil
	}
	out := make([]httpsource.Header, 0, len(n.Keys))
	for i, k := range n.Keys {
		out = append(out, httpsource.Header{Name: k, Value: n.Items[i].Text})
	}
	return out
}

// httpSourceMisfits refuses the keys of an http source's config block that
// the rest of the block leaves without effect: the keys of the mode the
// block does not use, body without method POST, interval_ms with at_end
// stop, a second pagination style or auth method, and pagination keys of
// a style the block does not use.
func httpSourceMisfits(n *config.Node) []Misfit {
	str := func(n *config.Node) string {
		if n != nil && n.Kind == config.String {
			return n.Text
		}
		return ""
	}
	if str(n.Get("mode")) == httpsource.ModeWebhook {
		return webhookMisfits(n)
	}
	var out []Misfit
	for _, k := range []string{"listen", "hmac"} {
		if n.Get(k) != nil {
			out = append(out, Misfit{Key: []string{k},
				Why: k + " applies to webhook mode, and this source polls (mode: poll, the default): remove " + k + ", or set mode: webhook"})
		}
	}
	if n.Get("body") != nil && str(n.Get("method")) != "POST" {
		out = append(out, Misfit{Key: []string{"body"},
			Why: "body is sent with method POST only (method is GET): set method: POST, or remove body"})
	}
	if n.Get("interval_ms") != nil && str(n.Get("at_end")) == httpsource.AtEndStop {
		out = append(out, Misfit{Key: []string{"interval_ms"},
			Why: "interval_ms is the wait before the next poll, and at_end: stop makes one round of pages: remove interval_ms, or set at_end: tail or restart"})
	}
	if p := n.Get("pagination"); p != nil && p.Kind == config.Map {
		styles := []struct{ key, name string }{{"cursor_path", "cursor"}, {"link_header", "link"}, {"page_param", "page"}}
		chosen := ""
		for _, st := range styles {
			if k := p.Get(st.key); k != nil {
				if chosen != "" {
					out = append(out, Misfit{Key: []string{"pagination", st.key},
						Why: fmt.Sprintf("pagination takes one style, and %s already chooses %s pagination: remove %s", "pagination."+styleKey(chosen), chosen, st.key)})
					continue
				}
				chosen = st.name
			}
		}
		own := map[string]string{"cursor_param": "cursor", "first_page": "page", "page_size_param": "page", "page_size": "page", "total_pages_path": "page"}
		for _, k := range p.Keys {
			st, ok := own[k]
			if !ok || st == chosen {
				continue
			}
			out = append(out, Misfit{Key: []string{"pagination", k},
				Why: fmt.Sprintf("%s applies to %s pagination (set by pagination.%s), which this block does not use: remove %s", k, st, styleKey(st), k)})
		}
	}
	if a := n.Get("auth"); a != nil && a.Kind == config.Map && len(a.Keys) > 1 {
		for _, k := range a.Keys[1:] {
			out = append(out, Misfit{Key: []string{"auth", k},
				Why: fmt.Sprintf("auth takes one method, and auth.%s is set already: remove auth.%s", a.Keys[0], k)})
		}
	}
	return out
}

// styleKey is the pagination key that chooses a style.
func styleKey(style string) string {
	return map[string]string{"cursor": "cursor_path", "link": "link_header", "page": "page_param"}[style]
}

// pollKeys are the keys of an http source's config block that only poll
// mode reads.
var pollKeys = []string{"url", "method", "headers", "body", "pagination", "at_end", "interval_ms", "rate_limit", "retry"}

// webhookMisfits refuses the keys of a webhook-mode block that belong to
// poll mode (auth.oauth2 included, and a second auth method).
func webhookMisfits(n *config.Node) []Misfit {
	var out []Misfit
	for _, k := range pollKeys {
		if n.Get(k) != nil {
			out = append(out, Misfit{Key: []string{k},
				Why: k + " applies to poll mode, and this source receives webhooks (mode: webhook): remove " + k})
		}
	}
	if a := n.Get("auth"); a != nil && a.Kind == config.Map {
		first := ""
		for _, k := range a.Keys {
			switch {
			case k == "oauth2":
				out = append(out, Misfit{Key: []string{"auth", k},
					Why: "auth.oauth2 is how the source logs in to an API in poll mode; in webhook mode auth is what requests must carry: use auth.basic or auth.bearer"})
			case first != "":
				out = append(out, Misfit{Key: []string{"auth", k},
					Why: fmt.Sprintf("auth takes one method, and auth.%s is set already: remove auth.%s", first, k)})
			default:
				first = k
			}
		}
	}
	return out
}
