package bind_test

import (
	"reflect"
	"testing"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/stdlib/httpsource"
)

// The http source decodes its defaults from #HTTPSource, and its maps
// (headers, schema, endpoint_params) in document order.
func TestHTTPSourceDecode(t *testing.T) {
	defaults := httpsource.Config{URL: "https://api.example.com/x", Method: "GET", AtEnd: "tail", IntervalMs: 60000,
		TimeoutMs: 30000, Retry: httpsource.Retry{MaxRetries: 10, InitialBackoffMs: 100, MaxBackoffMs: 30000}}
	if got := decode(t, bind.Source, "http", `{url: "https://api.example.com/x"}`); !reflect.DeepEqual(got, defaults) {
		t.Errorf("got  %+v\nwant %+v", got, defaults)
	}
	got := decode(t, bind.Source, "http", `{url: "https://api.example.com/x", headers: {Z-One: a, A-Two: b},
		schema: {zed: int, alpha: "array<string>"}, pagination: {page_param: p},
		auth: {oauth2: {token_url: "https://auth.example.com/t", client_id: c, client_secret: s, endpoint_params: {z: "1", a: "2"}}}}`).(httpsource.Config)
	want := defaults
	want.Headers = []httpsource.Header{{Name: "Z-One", Value: "a"}, {Name: "A-Two", Value: "b"}}
	want.Schema = []httpsource.Field{{Name: "zed", Type: "int"}, {Name: "alpha", Type: "array<string>"}}
	want.Pagination = httpsource.Pagination{PageParam: "p", FirstPage: 1}
	want.Auth.OAuth2 = httpsource.OAuth2{TokenURL: "https://auth.example.com/t", ClientID: "c", ClientSecret: "s",
		EndpointParams: []httpsource.Header{{Name: "z", Value: "1"}, {Name: "a", Value: "2"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	c, _ := bind.Lookup(bind.Source, "http")
	for key, want := range map[string]string{
		"headers.A-Two":                 "Headers[1].Value",
		"auth.oauth2.endpoint_params.a": "Auth.OAuth2.EndpointParams[1].Value",
		"auth.oauth2.client_secret":     "Auth.OAuth2.ClientSecret",
		"url":                           "URL",
		"schema.zed":                    "",
		"headers.Missing":               "",
	} {
		p, ok := c.GoField(got, splitKey(key))
		if p != want || ok != (want != "") {
			t.Errorf("GoField(%s) = %q, %v; want %q", key, p, ok, want)
		}
	}
}

func splitKey(k string) []string {
	var out []string
	start := 0
	for i := 0; i < len(k); i++ {
		if k[i] == '.' {
			out = append(out, k[start:i])
			start = i + 1
		}
	}
	return append(out, k[start:])
}

// The Go zero values New falls back to are #HTTPSource's defaults (for Go
// callers that build a Config by hand); interval_ms and the retry count
// are taken as given (0 means zero).
func TestHTTPSourceGoDefaultsMatchCUE(t *testing.T) {
	cue := decode(t, bind.Source, "http", `{url: "https://x"}`).(httpsource.Config)
	if cue.Method != "GET" || cue.AtEnd != httpsource.AtEndTail || cue.TimeoutMs != 30000 ||
		cue.Retry.InitialBackoffMs != 100 || cue.Retry.MaxBackoffMs != 30000 || cue.Stream != "" {
		t.Errorf("#HTTPSource defaults changed: %+v (update the zero-value fallbacks in stdlib/httpsource)", cue)
	}
}

// Webhook mode decodes the listener's defaults and none of poll mode's
// (which would show in the plan as settings without effect); mode: poll
// written out decodes as the default (Mode ""), so poll configs keep the
// plan they always had.
func TestHTTPSourceDecodeWebhook(t *testing.T) {
	got := decode(t, bind.Source, "http", `{mode: webhook, hmac: {secret: s}, auth: {bearer: {token: t}}}`).(httpsource.Config)
	want := httpsource.Config{Mode: httpsource.ModeWebhook, TimeoutMs: 30000,
		Listen: httpsource.Listen{Address: "127.0.0.1:8080", Path: "/", MaxBodyBytes: 10485760, MaxBufferedRecords: 10000},
		HMAC:   httpsource.HMAC{Secret: "s", Header: "X-Signature", Algorithm: "sha256", Encoding: "hex"},
		Auth:   httpsource.Auth{Bearer: httpsource.Bearer{Token: "t"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got.Listen.Address != httpsource.DefaultListenAddress || got.Listen.Path != httpsource.DefaultListenPath ||
		got.Listen.MaxBodyBytes != httpsource.DefaultMaxBodyBytes || got.Listen.MaxBufferedRecords != httpsource.DefaultMaxBufferedRecords ||
		got.HMAC.Header != httpsource.DefaultHMACHeader || got.HMAC.Algorithm != httpsource.DefaultHMACAlgorithm || got.HMAC.Encoding != httpsource.DefaultHMACEncoding {
		t.Errorf("#HTTPSource's webhook defaults differ from httpsource's Default… constants: %+v", got)
	}
	poll := decode(t, bind.Source, "http", `{mode: poll, url: "https://x"}`).(httpsource.Config)
	if def := decode(t, bind.Source, "http", `{url: "https://x"}`); !reflect.DeepEqual(poll, def) || poll.Mode != "" {
		t.Errorf("mode: poll decodes as %+v, the default as %+v", poll, def)
	}
	c, _ := bind.Lookup(bind.Source, "http")
	for key, want := range map[string]string{"hmac.secret": "HMAC.Secret", "listen.address": "Listen.Address", "mode": ""} {
		p, ok := c.GoField(got, splitKey(key))
		if p != want || ok != (want != "") {
			t.Errorf("GoField(%s) = %q, %v; want %q", key, p, ok, want)
		}
	}
}
