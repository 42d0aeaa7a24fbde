package bind_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// An http sink block with only its url decodes to httpsink.Defaults (the
// defaults of #HTTPSink); headers keep the document's order, and a url
// from the environment sets HideURL.
func TestHTTPSinkDecode(t *testing.T) {
	if got, want := decode(t, bind.Sink, "http", `{url: "http://x.example/in"}`), httpsink.Defaults("http://x.example/in"); !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}
	got := decode(t, bind.Sink, "http", `{url: "https://x.example/in", headers: {X-B: "2", X-A: "1"}, auth: {bearer: {token: t}}, drop_on: [501], tls: {ca_path: /ca.pem}}`).(httpsink.Config)
	want := httpsink.Defaults("https://x.example/in")
	want.Headers = []httpsink.Header{{Name: "X-B", Value: "2"}, {Name: "X-A", Value: "1"}}
	want.Auth.Bearer.Token, want.DropOn, want.TLS.CAPath = "t", []int{501}, "/ca.pem"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}

	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	_, defs := s.Connectors("sinks")
	c, _ := bind.Lookup(bind.Sink, "http")
	for block, wantErr := range map[string]string{
		`{url: "${URL}"}`: "",
		`{url: "${URL}", auth: {basic: {username: u, password: p}, bearer: {token: t}}}`:      "auth: give one method, basic or bearer, not both",
		`{url: "https://x/", headers: {"Bad Name": v}}`:                                       `headers: "Bad Name" is not a valid header name`,
		`{url: "https://x/", headers: {Authorization: "${URL}"}, auth: {bearer: {token: t}}}`: "headers.Authorization and auth both set Authorization",
	} {
		f, errs := config.Parse("block.yaml", []byte(block), func(string) (string, bool) { return "https://secret-host.example/in", true })
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		cfg, err := c.Decode(defs["http"].Unify(s.Context().Encode(f.Root.Interface())), f.Root)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", block, err)
		case wantErr == "" && !cfg.(httpsink.Config).HideURL:
			t.Errorf("%s: a url from the environment does not set HideURL", block)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: error %v, want %q", block, err, wantErr)
		case err != nil && strings.Contains(err.Error(), "secret-host"):
			t.Errorf("%s: error %v shows the url", block, err)
		}
	}
}

// GoField maps headers.NAME to that header's value (a compiled binary
// reads it from ${VAR} at start-up) and nested keys through their tags.
func TestHTTPSinkGoField(t *testing.T) {
	c, _ := bind.Lookup(bind.Sink, "http")
	cfg := httpsink.Config{Headers: []httpsink.Header{{Name: "X-A"}, {Name: "X-Key"}}}
	for _, tc := range []struct {
		key  []string
		want string // "" = not mapped
	}{
		{[]string{"headers", "X-Key"}, "Headers[1].Value"},
		{[]string{"headers", "X-Nope"}, ""},
		{[]string{"headers"}, ""},
		{[]string{"url"}, "URL"},
		{[]string{"auth", "bearer", "token"}, "Auth.Bearer.Token"},
		{[]string{"auth", "basic", "password"}, "Auth.Basic.Password"},
		{[]string{"retry", "max_retries"}, "Retry.MaxRetries"},
		{[]string{"tls", "key_path"}, "TLS.KeyPath"},
		{[]string{"drop_on", "0"}, ""},
	} {
		got, ok := c.GoField(cfg, tc.key)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("GoField(%v) = %q, %v; want %q", tc.key, got, ok, tc.want)
		}
	}
}

// Misfits refuses the batch limits with format json, and tls with an
// http url, without showing a url from the environment.
func TestHTTPSinkMisfits(t *testing.T) {
	c, _ := bind.Lookup(bind.Sink, "http")
	for block, want := range map[string][]string{
		`{url: "https://x/", format: json, max_batch_records: 2, max_batch_bytes: 2048}`: {
			"max_batch_records applies to formats ndjson and json_array; format json sends one record per request: remove it",
			"max_batch_bytes applies to formats ndjson and json_array; format json sends one record per request: remove it"},
		`{url: "http://x/", tls: {ca_path: /ca}}`:   {`tls applies to https:// urls; the url "http://x/" is http://: remove tls, or use https`},
		`{url: "${URL}", tls: {ca_path: /ca}}`:      {`tls applies to https:// urls; the url (from ${URL}) is http://: remove tls, or use https`},
		`{url: "https://x/", tls: {ca_path: /ca}}`:  nil,
		`{url: "https://x/", max_batch_records: 2}`: nil,
	} {
		f, errs := config.Parse("block.yaml", []byte(block), func(string) (string, bool) { return "http://secret-host/", true })
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var got []string
		for _, m := range c.Misfits(f.Root) {
			got = append(got, m.Why)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: misfits %q\nwant %q", block, got, want)
		}
	}
}
