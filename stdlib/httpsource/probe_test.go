package httpsource

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

func findings(fs []runtime.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s: %s\n", f.Level, f.Check, f.Detail)
	}
	return b.String()
}

// The probe sends one GET of the first page and reports what it found; it
// fails only when the server cannot be reached.
func TestProbe(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		api := newFakeAPI(t, "cursor", 12, 5)
		api.clientOK = func(id, secret string) bool { return true }
		cfg := api.config()
		cfg.Auth.OAuth2 = OAuth2{TokenURL: api.srv.URL + "/token", ClientID: "c", ClientSecret: "s"}
		cfg.Schema = []Field{{"id", "int"}, {"name", "string"}}
		s, _, _ := newSource(t, cfg)
		fs, err := s.Probe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := "ok oauth2 token: the token endpoint " + api.srv.URL + "/token issued an access token\n" +
			"ok request: GET " + api.url() + ": 200 OK\n" +
			"ok auth: the server accepted the credentials of auth.oauth2\n" +
			`ok records_path: records_path "data.items" holds an array of 5 records` + "\n" +
			"ok schema: the first page's 5 records fit the declared schema\n" +
			`ok pagination: next cursor "c1" (at meta.next)` + "\n"
		if got := findings(fs); got != want {
			t.Errorf("findings:\n%s\nwant:\n%s", got, want)
		}
		if api.count() != 1 {
			t.Errorf("%d requests", api.count())
		}
	})
	t.Run("problems", func(t *testing.T) {
		for _, tt := range []struct {
			body, cfg string
			status    int
			want      string
		}{
			{`{"data":{"items":{"id":1}}}`, "cursor", 200, `fail records_path: http source: records_path "data.items" in the response of URL is an object, not an array of records`},
			{`{"data":{}}`, "cursor", 200, `warn records_path: records_path "data.items" finds nothing in the first page`},
			{`{"data":{"items":[{"id":"x"}]}}`, "cursor", 200, `fail schema: record [0] of the first page: field "id" holds a string, but the declared schema says int; the source would stop there`},
			{`{"data":{"items":[]},"meta":{"next":{}}}`, "cursor", 200, `fail pagination: http source: pagination.cursor_path "meta.next" in the response of URL is an object, not a cursor`},
			{`{"data":{"items":[]}}`, "cursor", 200, "ok pagination: the first page is the last (no next cursor at meta.next)"},
			{`not json`, "cursor", 200, "fail response: the response is not JSON"},
			{``, "cursor", 401, "fail auth: http source: URL answered 401 Unauthorized: it needs credentials"},
			{`{"error":"nope"}`, "cursor", 403, `fail request: http source: URL answered 403 Forbidden: the credentials are not allowed to read it: {"error":"nope"}`},
			{``, "cursor", 503, "warn request: http source: URL answered 503 Service Unavailable (the source retries this answer)"},
			{`[]`, "post", 200, "warn first page: method POST: the probe sends no request"},
		} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			cfg := Config{URL: srv.URL, RecordsPath: "data.items", Pagination: Pagination{CursorPath: "meta.next", CursorParam: "c"},
				Schema: []Field{{"id", "int"}}}
			if tt.cfg == "post" {
				cfg.Method, cfg.Body = "POST", `{"c": {{cursor}}}`
			}
			s, _, _ := newSource(t, cfg)
			fs, err := s.Probe(context.Background())
			got := findings(fs)
			if want := strings.ReplaceAll(tt.want, "URL", srv.URL); err != nil || !strings.Contains(got, want) {
				t.Errorf("%s (%d): findings\n%s(%v), want %s", tt.body, tt.status, got, err, want)
			}
			srv.Close()
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		s, _, _ := newSource(t, Config{URL: srv.URL})
		if _, err := s.Probe(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot reach "+srv.URL) {
			t.Fatalf("got %v", err)
		}
	})
}
