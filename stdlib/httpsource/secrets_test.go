package httpsource

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// The secrets of the tests below: none may appear in an error, a log, a
// finding, a position or the state directory.
var testSecrets = []string{"ak-secret-111", "hk-secret-222", "tok-secret-333", "pw-secret-444", "cs-secret-555"}

func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range testSecrets {
		if strings.Contains(text, s) || strings.Contains(text, url.QueryEscape(s)) {
			t.Errorf("%s shows the secret %s:\n%s", what, s, text)
		}
	}
}

// Each credential — an API key in the URL, a header value, a bearer token,
// a password, a client secret — stays out of errors, retry logs, probe
// findings, record positions and the state directory, even when the
// server echoes the request's credentials in its error answers.
func TestSecretsNeverShown(t *testing.T) {
	for _, auth := range []string{"bearer", "basic", "oauth2"} {
		t.Run(auth, func(t *testing.T) {
			api := newFakeAPI(t, "cursor", 40, 5)
			api.echoes = true
			api.clientOK = func(id, secret string) bool { return secret == "cs-secret-555" }
			cfg := api.config()
			cfg.URL += "?api_key=ak-secret-111&limit=5"
			cfg.Headers = []Header{{"X-Api-Key", "hk-secret-222"}}
			switch auth {
			case "bearer":
				cfg.Auth.Bearer.Token = "tok-secret-333"
			case "basic":
				cfg.Auth.Basic = Basic{"user", "pw-secret-444"}
			case "oauth2":
				cfg.Auth.OAuth2 = OAuth2{TokenURL: api.srv.URL + "/token", ClientID: "c", ClientSecret: "cs-secret-555"}
			}
			// Requests 2 and 3 fail with 503 (retried, logged), request 9
			// answers 500 five times: the source gives up.
			api.fail = func(k int) (int, string) {
				switch {
				case k == 2 || k == 3:
					return http.StatusServiceUnavailable, ""
				case k >= 9:
					return http.StatusInternalServerError, ""
				}
				return 0, ""
			}
			dir := t.TempDir()
			s, _, logs := newSource(t, cfg)
			var positions strings.Builder
			sink := &positionSink{b: &positions}
			p := &runtime.Pipeline{Name: "api", Source: s, Sink: sink, Program: runtime.ProgramFunc(keep),
				Logger:   slog.New(slog.NewTextHandler(logs, nil)),
				Settings: runtime.Settings{StateDir: dir, SinkBatch: runtime.SinkBatch{MaxRecords: 3}}}
			err := p.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") || !strings.Contains(err.Error(), "api_key=<secret>") {
				t.Fatalf("got %v", err)
			}
			if !strings.Contains(logs.String(), "503 Service Unavailable") {
				t.Errorf("no retry logged:\n%s", logs)
			}
			if positions.Len() == 0 {
				t.Fatal("no records")
			}
			assertNoSecret(t, "the error", err.Error())
			assertNoSecret(t, "the logs", logs.String())
			assertNoSecret(t, "the positions", positions.String())
			assertNoSecret(t, "the state directory", string(stateFiles(t, dir)))
			if st := p.Status(); st.Acked == nil {
				t.Error("nothing acknowledged")
			} else {
				assertNoSecret(t, "the status", st.LastError+st.Acked.String())
			}

			api.fail = nil
			ps, _, _ := newSource(t, cfg)
			fs, err := ps.Probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecret(t, "the findings", fmt.Sprint(fs))
		})
	}
}

// positionSink writes each record's position text to b.
type positionSink struct{ b *strings.Builder }

func (p *positionSink) Open(context.Context) error { return nil }
func (p *positionSink) Close() error               { return nil }
func (p *positionSink) Write(_ context.Context, rs []runtime.Record) error {
	for _, r := range rs {
		p.b.WriteString(r.Position.String() + "\n")
	}
	return nil
}

// A next page named by a credential is never made a position: a cursor
// that holds one stops the source; a Link URL drops the source's own
// credentials (every request sends them again) and refuses another's; a
// Link to another host is refused.
func TestNextPageCredentials(t *testing.T) {
	var next, link string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if link != "" && r.URL.Query().Get("after") == "" {
			w.Header().Set("Link", "<"+link+">; rel=next")
		}
		fmt.Fprintf(w, `{"items":[%s],"next":%q}`, record(0), next)
	}))
	defer srv.Close()
	cursor := Config{URL: srv.URL + "/i", RecordsPath: "items", AtEnd: AtEndStop, Auth: Auth{Bearer: Bearer{"tok-secret-333"}},
		Pagination: Pagination{CursorPath: "next", CursorParam: "c"}}
	next = "x-tok-secret-333"
	s, _, _ := newSource(t, cursor)
	_, err := readAll(t, s, 10, 0)
	if err == nil || !strings.Contains(err.Error(), "holds one of the source's credentials") {
		t.Fatalf("got %v", err)
	}
	assertNoSecret(t, "the error", err.Error())

	linked := Config{URL: srv.URL + "/i?api_key=ak-secret-111&n=5", RecordsPath: "items", AtEnd: AtEndStop,
		Auth: Auth{Bearer: Bearer{"tok-secret-333"}}, Pagination: Pagination{LinkHeader: true}}
	next = ""
	link = srv.URL + "/i?api_key=ak-secret-111&n=5&access_token=tok-secret-333&after=1"
	s2, _, _ := newSource(t, linked)
	g, err := readAll(t, s2, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.pos) != 2 || g.pos[0].Token != `{"link":"/i?after=1"}` || g.pos[1].Token != `{"link":"/i?after=1","skip":1}` {
		t.Errorf("positions %v", g.pos)
	}

	for l, want := range map[string]string{
		srv.URL + "/i?after=1&sig=abcdef": `names the next page with a credential (query parameter "sig")`,
		"http://other.example/i?after=1":  "points the next page to another host (http://other.example)",
	} {
		link = l
		s3, _, _ := newSource(t, linked)
		_, err := readAll(t, s3, 10, 0)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("link %s: got %v, want %s", l, err, want)
		}
		assertNoSecret(t, "the error", fmt.Sprint(err))
	}
}

// A redirect to another host is refused at once (credentials stay with
// the url's host); one to the same host is followed.
func TestRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, "http://other.example/items", http.StatusFound)
		case "/moved":
			http.Redirect(w, r, "/items", http.StatusMovedPermanently)
		default:
			fmt.Fprintf(w, "[%s]", record(0))
		}
	}))
	defer srv.Close()
	s, sl, _ := newSource(t, Config{URL: srv.URL + "/away", AtEnd: AtEndStop, Auth: Auth{Bearer: Bearer{"tok-secret-333"}}})
	_, err := readAll(t, s, 10, 0)
	if want := "http source: " + srv.URL + "/away: it redirects to another host (other.example)"; err == nil || !strings.HasPrefix(err.Error(), want) || len(sl.all()) != 0 {
		t.Fatalf("got %v (waits %v), want %s…", err, sl.all(), want)
	}
	s2, _, _ := newSource(t, Config{URL: srv.URL + "/moved", AtEnd: AtEndStop})
	if g, err := readAll(t, s2, 10, 0); err != nil || len(g.ids) != 1 {
		t.Fatalf("read %v, %v", g.ids, err)
	}
}
