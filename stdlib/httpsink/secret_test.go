package httpsink_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// A bearer token, a basic password, a header value (as from ${VAR}), a
// key in the URL's query and a URL from the environment never appear in
// the sink's errors, logs or probe findings — not even when the server
// echoes the request's headers and URL in its answers.
func TestSecretsNeverShown(t *testing.T) {
	const (
		token    = "tok-S3CRET-bearer"
		password = "pw-S3CRET-basic"
		header   = "hdr-S3CRET-header"
		query    = "q-S3CRET-query"
		path     = "/hidden-S3CRET-path"
	)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := fmt.Sprintf("auth=%s key=%s uri=%s", r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.RequestURI)
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// The first attempt of each request is retried (503), the second
		// refused (400): a log line and an error, both quoting the echo.
		if calls.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		} else {
			w.WriteHeader(http.StatusBadRequest)
		}
		fmt.Fprint(w, echo)
	}))
	defer srv.Close()

	bearer := httpsink.Defaults(srv.URL + "/ingest?api_key=" + query)
	bearer.Auth.Bearer.Token = token
	bearer.Headers = []httpsink.Header{{Name: "X-Api-Key", Value: header}}
	basic := httpsink.Defaults(srv.URL + "/ingest")
	basic.Auth.Basic = httpsink.Basic{Username: "writer", Password: password}
	hidden := httpsink.Defaults(srv.URL + path)
	hidden.HideURL = true
	hidden.Headers = []httpsink.Header{{Name: "Authorization", Value: "Token " + header}}

	for name, cfg := range map[string]httpsink.Config{"bearer": bearer, "basic": basic, "hidden url": hidden} {
		t.Run(name, func(t *testing.T) {
			cfg.Retry = httpsink.Retry{MaxRetries: 1, InitialBackoffMs: 1, MaxBackoffMs: 1}
			var shown []string
			fallback, given := &syncBuffer{}, &syncBuffer{}
			s := newSink(t, cfg, fallback)
			if err := s.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
			err := s.Write(context.Background(), records(0, 3))
			if err == nil || !strings.Contains(err.Error(), "400 Bad Request: auth=") {
				t.Fatalf("write returned %v, want the 400 quoting the echo", err)
			}
			shown = append(shown, err.Error())
			s.UseLogger(slog.New(slog.NewTextHandler(given, nil)))
			s2 := newSink(t, cfg, fallback)
			s2.UseLogger(slog.New(slog.NewTextHandler(given, nil)))
			if err := s2.Write(context.Background(), records(3, 6)); err == nil {
				t.Fatal("second write succeeded")
			} else {
				shown = append(shown, err.Error())
			}
			fs, err := newSink(t, cfg, nil).Probe(context.Background())
			if err != nil || len(fs) != 2 || fs[1].Level != runtime.FindingFail {
				t.Errorf("probe: %+v, %v; want the 401 as a failure", fs, err)
			}
			for _, f := range fs {
				shown = append(shown, f.Detail)
			}
			down := cfg
			down.URL = strings.Replace(cfg.URL, srv.URL, "http://127.0.0.1:1", 1)
			shown = append(shown, openErr(t, down).Error())
			shown = append(shown, fallback.String(), given.String())
			if !strings.Contains(fallback.String(), "retrying") || !strings.Contains(given.String(), "retrying") {
				t.Errorf("a retry was not logged:\n%s\n%s", fallback, given)
			}
			for _, text := range shown {
				for _, secret := range []string{token, password, header, query, "d3JpdGVyOnB3LVMzQ1JFVC1iYXNpYw"} {
					if strings.Contains(text, secret) {
						t.Errorf("%q shows the secret %q", text, secret)
					}
				}
				if cfg.HideURL && (strings.Contains(text, "hidden-S3CRET") || strings.Contains(text, srv.Listener.Addr().String())) {
					t.Errorf("%q shows the url, which came from the environment", text)
				}
			}
			t.Logf("the error says: %s", shown[0])
		})
	}

	// Validate's errors never quote a header value or the URL.
	bad := httpsink.Defaults("https://user:" + password + "@example.com/x")
	if err := bad.Validate(); err == nil || strings.Contains(err.Error(), password) {
		t.Errorf("credentials in the url: %v", err)
	}
	bad = httpsink.Defaults("https://example.com/x")
	bad.Headers = []httpsink.Header{{Name: "X-Key", Value: header + "\n"}}
	if err := bad.Validate(); err == nil || strings.Contains(err.Error(), header) {
		t.Errorf("a header value with a newline: %v", err)
	}
}
