package s3test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// FaultProxy is a reverse proxy in front of a Server that answers the
// requests Fail selects with an error status instead of passing them on:
// a real server that fails some writes.
type FaultProxy struct {
	// Endpoint is the proxy's http://127.0.0.1:PORT.
	Endpoint string

	mu     sync.Mutex
	fail   func(r *http.Request) int
	codes  map[int]string // the error code of a failure status; default InternalError
	strip  bool
	resign error // the first failure to sign a stripped request again
}

// NewFaultProxy starts a proxy in front of s, closed in t.Cleanup.
func NewFaultProxy(t testing.TB, s *Server) *FaultProxy {
	t.Helper()
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host // the host the client signed
		p.mu.Lock()
		strip := p.strip
		p.mu.Unlock()
		if strip && pr.Out.Header.Get("If-None-Match") != "" {
			if err := stripIfNoneMatch(pr.Out); err != nil {
				p.mu.Lock()
				if p.resign == nil {
					p.resign = err
				}
				p.mu.Unlock()
			}
		}
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		f := p.fail
		p.mu.Unlock()
		if f != nil {
			if status := f(r); status != 0 {
				p.mu.Lock()
				code := p.codes[status]
				p.mu.Unlock()
				if code == "" {
					code = "InternalError"
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>injected failure</Message></Error>`))
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

// ErrorCode sets the S3 error code of the failures with HTTP status
// status (default InternalError).
func (p *FaultProxy) ErrorCode(status int, code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.codes == nil {
		p.codes = map[int]string{}
	}
	p.codes[status] = code
}

// IgnoreIfNoneMatch has the proxy pass requests on without their
// If-None-Match header, signed again with the server's credentials: the
// server then behaves as an S3-compatible one that ignores conditional
// PUTs. Err reports a request the proxy could not sign again.
func (p *FaultProxy) IgnoreIfNoneMatch() {
	p.mu.Lock()
	p.strip = true
	p.mu.Unlock()
}

// Err returns the first failure to sign a request again (see
// IgnoreIfNoneMatch), or nil.
func (p *FaultProxy) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resign
}

// stripIfNoneMatch removes r's If-None-Match header and signs r again
// (AWS SigV4, with the region and time of its signature and its signed
// payload hash).
func stripIfNoneMatch(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	scope := strings.Split(strings.SplitN(cred, ",", 2)[0], "/")
	if !ok || len(scope) < 4 {
		return fmt.Errorf("sign %s again: no SigV4 credential scope in its Authorization header", r.URL)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	r.Header.Del("If-None-Match")
	r.Header.Del("Authorization")
	creds := aws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: SecretKey}
	return v4.NewSigner().SignHTTP(context.Background(), creds, r, r.Header.Get("X-Amz-Content-Sha256"), "s3", scope[2], at)
}
