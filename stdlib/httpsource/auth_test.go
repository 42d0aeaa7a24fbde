package httpsource

import (
	"net/http"
	"strings"
	"testing"
)

func TestBasicAndBearerAuth(t *testing.T) {
	for _, tt := range []struct {
		name  string
		auth  Auth
		wrong Auth
		check func(r *http.Request) bool
	}{
		{"basic", Auth{Basic: Basic{"reader", "pw-correct-1"}}, Auth{Basic: Basic{"reader", "pw-wrong-2"}},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == basic("reader", "pw-correct-1") }},
		{"bearer", Auth{Bearer: Bearer{"tok-correct-1"}}, Auth{Bearer: Bearer{"tok-wrong-2"}},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok-correct-1" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, "link", 12, 5)
			api.authOK, api.echoes = tt.check, true
			cfg := api.config()
			cfg.Auth = tt.auth
			s, _, _ := newSource(t, cfg)
			g, err := readAll(t, s, 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			wantIDs(t, g.ids, 0, 12)

			cfg.Auth = tt.wrong
			s2, sl, _ := newSource(t, cfg)
			_, err = readAll(t, s2, 100, 0)
			want := "http source: " + api.url() + " answered 401 Unauthorized: it refused the credentials of auth." + tt.name
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %s", err, want)
			}
			if len(sl.all()) != 0 {
				t.Errorf("a refused credential was retried: %v", sl.all())
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		api := newFakeAPI(t, "link", 12, 5)
		api.authOK = func(r *http.Request) bool { return false }
		s, _, _ := newSource(t, api.config())
		_, err := readAll(t, s, 100, 0)
		if err == nil || !strings.HasSuffix(err.Error(), "it needs credentials (set auth, or an Authorization header)") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("header", func(t *testing.T) {
		api := newFakeAPI(t, "page", 12, 5)
		api.authOK = func(r *http.Request) bool {
			return r.Header.Get("X-Api-Key") == "k-123456" && r.Header.Get("Accept") == "application/vnd.x+json"
		}
		cfg := api.config()
		cfg.Headers = []Header{{"X-Api-Key", "k-123456"}, {"Accept", "application/vnd.x+json"}}
		s, _, _ := newSource(t, cfg)
		g, err := readAll(t, s, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, g.ids, 0, 12)
	})
}

// OAuth2 client credentials: one token for the whole run, a new one when
// the API refuses it (401), scopes and endpoint parameters in the token
// request, and a refused client named without its secret.
func TestOAuth2ClientCredentials(t *testing.T) {
	api := newFakeAPI(t, "cursor", 23, 5)
	api.clientOK = func(id, secret string) bool { return id == "client-a" && secret == "cs-correct-123" }
	api.echoes = true
	cfg := api.config()
	cfg.Auth.OAuth2 = OAuth2{TokenURL: api.srv.URL + "/token", ClientID: "client-a", ClientSecret: "cs-correct-123",
		Scopes: []string{"read", "list"}, EndpointParams: []Header{{"audience", "https://api.example"}}}
	s, _, _ := newSource(t, cfg)
	g, err := readAll(t, s, 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	api.revoke("at-1")
	g2 := readMore(t, s, 13)
	wantIDs(t, append(g.ids, g2.ids...), 0, 23)
	api.mu.Lock()
	hits, form := api.tokenHits, api.form
	api.mu.Unlock()
	if hits != 2 {
		t.Errorf("%d token requests, want 2 (one, and one after the revocation)", hits)
	}
	if len(form) == 0 || form[0] != "audience=https%3A%2F%2Fapi.example&grant_type=client_credentials&scope=read+list" {
		t.Errorf("token request form %v", form)
	}

	cfg.Auth.OAuth2.ClientSecret = "cs-wrong-456"
	s2, sl, _ := newSource(t, cfg)
	_, err = readAll(t, s2, 100, 0)
	want := "http source: auth.oauth2: the token endpoint " + api.srv.URL + "/token refused the client credentials (401 Unauthorized, invalid_client): unknown client"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if len(sl.all()) != 0 {
		t.Errorf("refused client credentials were retried: %v", sl.all())
	}
}
