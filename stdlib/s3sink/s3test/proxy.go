package s3test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// FaultProxy is a reverse proxy in front of a Server that answers the
// requests Fail selects with an error status instead of passing them on:
// a real server that fails some writes.
type FaultProxy struct {
	// Endpoint is the proxy's http://127.0.0.1:PORT.
	Endpoint string

	mu   sync.Mutex
	fail func(r *http.Request) int
}

// NewFaultProxy starts a proxy in front of s, closed in t.Cleanup.
func NewFaultProxy(t testing.TB, s *Server) *FaultProxy {
	t.Helper()
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		f := p.fail
		p.mu.Unlock()
		if f != nil {
			if code := f(r); code != 0 {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(code)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected failure</Message></Error>`))
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Endpoint = srv.URL
	return p
}

// Fail sets the function choosing the requests that fail and their status
// (0 = pass the request on); nil passes everything.
func (p *FaultProxy) Fail(f func(r *http.Request) int) {
	p.mu.Lock()
	p.fail = f
	p.mu.Unlock()
}
