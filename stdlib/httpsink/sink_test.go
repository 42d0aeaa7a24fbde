package httpsink_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// Every request carries the configured method, headers (one replacing
// Content-Type), the authentication and an idempotency key made of the
// sink's run value and the first and last positions of its records;
// idempotency_header "" sends none, and format json sends one record per
// request.
func TestRequestHeaders(t *testing.T) {
	c := newCollector(t).start()
	cfg := httpsink.Defaults(c.url())
	cfg.Method, cfg.MaxBatchRecords = "PUT", 4
	cfg.Headers = []httpsink.Header{{Name: "X-Tenant", Value: "t1"}, {Name: "content-type", Value: "application/x-ndjson; charset=utf-8"}}
	cfg.Auth.Basic = httpsink.Basic{Username: "writer", Password: "pw"}
	cfg.IdempotencyHeader = "X-Request-Key"
	s := newSink(t, cfg, nil)
	if err := s.Write(context.Background(), records(10, 20)); err != nil {
		t.Fatal(err)
	}
	reqs := c.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests for 10 records at 4 per request, want 3", len(reqs))
	}
	var run string
	for i, g := range reqs {
		h := g.Header
		first, last := 10+4*i, min(10+4*i+3, 19)
		key := h.Get("X-Request-Key")
		r, span, _ := strings.Cut(key, "-")
		if run == "" {
			run = r
		}
		if r != run || len(r) != 16 || span != fmt.Sprintf("%d-%d", first, last) || h.Get("Idempotency-Key") != "" {
			t.Errorf("request %d has key %q, want %s-%d-%d in X-Request-Key only", i, key, run, first, last)
		}
		if u, p, ok := (&http.Request{Header: h}).BasicAuth(); !ok || u != "writer" || p != "pw" {
			t.Errorf("request %d: basic auth %q %q %v", i, u, p, ok)
		}
		if h.Get("X-Tenant") != "t1" || h.Get("Content-Type") != "application/x-ndjson; charset=utf-8" || len(g.Events) != last-first+1 {
			t.Errorf("request %d: headers %v, %d records", i, h, len(g.Events))
		}
	}

	c2 := newCollector(t).start()
	cfg = httpsink.Defaults(c2.url())
	cfg.Format, cfg.IdempotencyHeader = httpsink.FormatJSON, ""
	cfg.Auth.Bearer.Token = "tkn"
	if err := newSink(t, cfg, nil).Write(context.Background(), records(0, 3)); err != nil {
		t.Fatal(err)
	}
	for i, g := range c2.requests() {
		if len(g.Events) != 1 || g.Events[0].Position != uint64(i) || g.Key != "" || g.Header.Get("Authorization") != "Bearer tkn" ||
			g.Header.Get("Content-Type") != "application/json" || g.Body[0] != '{' {
			t.Errorf("format json request %d: %d records, key %q, headers %v, body %.20q", i, len(g.Events), g.Key, g.Header, g.Body)
		}
	}
}

// A Write that failed after some of its requests were taken sends those
// records again when written again: the runtime's one-at-a-time rewrite
// (on_error skip or dead_letter) sends only the records whose requests
// failed, and a later successful Write forgets them.
func TestRewriteSkipsTakenRecords(t *testing.T) {
	c := newCollector(t)
	var mu sync.Mutex
	refuse := true
	c.fault = func(w http.ResponseWriter, _ *http.Request, g *got, _ func()) bool {
		mu.Lock()
		defer mu.Unlock()
		if refuse && g.Events[0].Position == 4 {
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		return false
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.MaxBatchRecords = 4
	s := newSink(t, cfg, nil)
	recs := records(0, 12)
	if err := s.Write(context.Background(), recs); err == nil || !strings.Contains(err.Error(), "positions 4..7") {
		t.Fatalf("write returned %v, want the 400 of positions 4..7", err)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	for i := range recs {
		if err := s.Write(context.Background(), recs[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	times := map[uint64]int{}
	for _, g := range c.accepted() {
		for _, e := range g.Events {
			times[e.Position]++
		}
	}
	for p := range uint64(12) {
		if times[p] != 1 {
			t.Errorf("record %d arrived %d times, want once", p, times[p])
		}
	}
	// Once written, a position is forgotten: a new run's records at the
	// same offsets are sent.
	if err := s.Write(context.Background(), recs[:2]); err != nil {
		t.Fatal(err)
	}
	if n := len(c.accepted()); n != 1+8+1 {
		t.Errorf("%d requests taken, want 10 (1 before the failure, 8 alone, 1 after)", n)
	}
}

// A Retry-After answer is waited out: the retry comes no sooner than the
// server asked (1 s), although the computed backoff would be 1 ms.
func TestRetryAfterIsHonoured(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if len(at) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	cfg := httpsink.Defaults(srv.URL)
	cfg.Retry = httpsink.Retry{MaxRetries: 3, InitialBackoffMs: 1, MaxBackoffMs: 5000}
	if err := newSink(t, cfg, nil).Write(context.Background(), records(0, 1)); err != nil {
		t.Fatal(err)
	}
	if len(at) != 2 || at[1].Sub(at[0]) < time.Second {
		t.Errorf("%d requests, the retry %v after the 429 with Retry-After: 1", len(at), at[len(at)-1].Sub(at[0]))
	}
}

// Redirects are not followed: a 3xx fails the records, naming where it
// points.
func TestRedirectNotFollowed(t *testing.T) {
	target := newCollector(t).start()
	srv := httptest.NewServer(http.RedirectHandler(target.url()+"?sig=abc", http.StatusTemporaryRedirect))
	defer srv.Close()
	err := newSink(t, httpsink.Defaults(srv.URL), nil).Write(context.Background(), records(0, 2))
	wantErr(t, err, "307 Temporary Redirect", "redirects are not followed: set url to the address it redirects to, "+target.url()+")")
	if strings.Contains(err.Error(), "sig=abc") || len(target.requests()) != 0 {
		t.Errorf("error %q shows the redirect's query, or the records were sent there (%d)", err, len(target.requests()))
	}
}

// Probe reports what the HEAD answer says of the url and the credentials,
// and an unreachable server as its error.
func TestProbe(t *testing.T) {
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			t.Errorf("probe sent %s", r.Method)
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	withAuth := httpsink.Defaults(srv.URL + "/in")
	withAuth.Auth.Bearer.Token = "t0k3n-value"
	for _, tc := range []struct {
		status int
		cfg    httpsink.Config
		level  string
		detail string
	}{
		{405, httpsink.Defaults(srv.URL + "/in"), runtime.FindingOK, "HEAD answered 405 Method Not Allowed: the server answers"},
		{200, withAuth, runtime.FindingOK, "did not refuse the credentials of auth.bearer"},
		{401, withAuth, runtime.FindingFail, "the server refused the credentials of auth.bearer"},
		{401, httpsink.Defaults(srv.URL + "/in"), runtime.FindingFail, "the server wants credentials: set auth"},
		{403, withAuth, runtime.FindingWarn, "403 Forbidden"},
		{404, httpsink.Defaults(srv.URL + "/in"), runtime.FindingWarn, "check the url's path"},
		{503, httpsink.Defaults(srv.URL + "/in"), runtime.FindingWarn, "requests would be retried"},
	} {
		status = tc.status
		fs, err := newSink(t, tc.cfg, nil).Probe(context.Background())
		if err != nil || len(fs) != 2 {
			t.Fatalf("%d: %+v, %v", tc.status, fs, err)
		}
		if fs[1].Level != tc.level || !strings.Contains(fs[1].Detail, tc.detail) {
			t.Errorf("%d: %+v, want %s %q", tc.status, fs[1], tc.level, tc.detail)
		}
		conn := fs[0]
		if tc.cfg.Auth.Bearer.Token != "" && (conn.Level != runtime.FindingWarn || !strings.Contains(conn.Detail, "unencrypted")) {
			t.Errorf("credentials over plain http: %+v, want a warning", conn)
		}
	}
	_, err := newSink(t, httpsink.Defaults("http://127.0.0.1:1/in"), nil).Probe(context.Background())
	wantErr(t, err, "http sink: cannot reach http://127.0.0.1:1/in: connection refused")
}
