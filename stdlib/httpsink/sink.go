package httpsink

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Sink sends records to an HTTP endpoint. See the package documentation.
// Write and WriteAsync are called from one goroutine (runtime.Sink,
// runtime.AsyncSink); Probe and UseLogger are safe beside them.
// UseErrorPolicy, UseLogger and UseRetryReport come before Open.
type Sink struct {
	cfg    Config
	url    string // the URL requests go to
	target string // how messages name the URL
	client *http.Client
	tr     *http.Transport
	base   http.Header // headers of every request
	enc    func([]byte, *runtime.Record) []byte
	class  [600]class
	nonce  string
	redact func(string) string

	fallback *slog.Logger // on the writer New was given
	log      atomic.Pointer[slog.Logger]
	retried  func(error) // set before Open (runtime.RetryReported); nil: none
	limit    logLimiter

	blocks sync.Pool // *block
	reqs   []request // per-Write scratch

	// pipelined: WriteAsync keeps requests of several writes in flight
	// (UseErrorPolicy); fl is their state, replaced by Open; writes pools
	// the *write records of WriteAsync.
	pipelined bool
	fl        *flight
	writes    sync.Pool

	// done holds the positions of records that the server accepted in a
	// Write that failed as a whole; nil when there are none.
	done map[uint64]struct{}
}

var (
	_ runtime.Sink            = (*Sink)(nil)
	_ runtime.AsyncSink       = (*Sink)(nil)
	_ runtime.Prober          = (*Sink)(nil)
	_ runtime.Logged          = (*Sink)(nil)
	_ runtime.RetryReported   = (*Sink)(nil)
	_ runtime.ErrorPolicyUser = (*Sink)(nil)
)

// New checks cfg (Validate), loads its TLS files and returns a sink; it
// does not connect (Open does). Retries are logged to log (nil: nowhere)
// as text records, unless UseLogger gives the sink a logger.
func New(cfg Config, log io.Writer) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("http sink: %w", err)
	}
	if cfg.Method == "" {
		cfg.Method = "POST"
	}
	if cfg.Format == "" {
		cfg.Format = FormatNDJSON
	}
	u, _ := url.Parse(cfg.URL) // Validate parsed it
	s := &Sink{cfg: cfg, url: cfg.URL, target: shownURL(u, cfg.HideURL)}
	switch cfg.Envelope {
	case "", EnvelopeSourceEvent:
		s.enc = func(b []byte, r *runtime.Record) []byte { return runtime.AppendSourceEvent(b, r, true, true) }
	case EnvelopeDebezium:
		s.enc = runtime.AppendDebezium
	case EnvelopeRow:
		s.enc = func(b []byte, r *runtime.Record) []byte { return runtime.AppendJSONRow(b, r.Schema, r.Row(), "", 0) }
	}
	s.classes()
	var tlsCfg *tls.Config
	if u.Scheme == "https" {
		c, err := tlsConfig(cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("http sink: %w", err)
		}
		tlsCfg = c
	}
	s.tr = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(cfg.MaxInFlight, 2),
		MaxIdleConnsPerHost:   max(cfg.MaxInFlight, 2),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsCfg,
	}
	s.client = &http.Client{
		Transport: s.tr,
		// A redirected POST would lose its body: the 3xx fails instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.base, s.redact = headers(cfg)
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	s.nonce = hex.EncodeToString(nonce[:])
	if log == nil {
		log = io.Discard
	}
	s.fallback = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s.blocks.New = func() any { return &block{pool: &s.blocks} }
	s.writes.New = func() any { return &write{s: s} }
	s.fl = newFlight(cfg.MaxInFlight)
	return s, nil
}

// headers returns the headers of every request and the function that
// removes the sink's secrets (header values, the password, the token, the
// basic credentials as sent, the values of the URL's query, and with
// HideURL the URL and its host and path) from text that comes from the
// server or the HTTP client.
func headers(cfg Config) (http.Header, func(string) string) {
	h := http.Header{}
	h.Set("User-Agent", "rivven-connect")
	if cfg.Format == FormatNDJSON {
		h.Set("Content-Type", "application/x-ndjson")
	} else {
		h.Set("Content-Type", "application/json")
	}
	var secrets []string
	switch {
	case cfg.Auth.Basic != (Basic{}):
		cred := base64.StdEncoding.EncodeToString([]byte(cfg.Auth.Basic.Username + ":" + cfg.Auth.Basic.Password))
		h.Set("Authorization", "Basic "+cred)
		secrets = append(secrets, cfg.Auth.Basic.Password, cred)
	case cfg.Auth.Bearer.Token != "":
		h.Set("Authorization", "Bearer "+cfg.Auth.Bearer.Token)
		secrets = append(secrets, cfg.Auth.Bearer.Token)
	}
	for _, hd := range cfg.Headers {
		h.Set(hd.Name, hd.Value)
		secrets = append(secrets, hd.Value)
	}
	// The query may hold a key; a URL from the environment is a secret as
	// a whole, and so are its parts.
	if u, err := url.Parse(cfg.URL); err == nil {
		for _, vs := range u.Query() {
			secrets = append(secrets, vs...)
		}
		secrets = append(secrets, u.RawQuery)
		if cfg.HideURL {
			secrets = append(secrets, cfg.URL, u.Host, u.Hostname())
			if ru := u.RequestURI(); ru != "/" {
				secrets = append(secrets, ru)
			}
		}
	}
	return h, runtime.Redactor(secrets)
}

// shownURL is how messages name u: without its query (which may hold a
// key), or not at all when it came from the environment.
func shownURL(u *url.URL, hide bool) string {
	if hide {
		return "the url (from the environment)"
	}
	v := *u
	v.User, v.Fragment, v.RawFragment = nil, "", ""
	q := v.RawQuery != "" || v.ForceQuery
	v.RawQuery, v.ForceQuery = "", false
	s := v.String()
	if q {
		s += "?…"
	}
	return s
}

// UseLogger implements runtime.Logged: retries are logged to l from now
// on.
func (s *Sink) UseLogger(l *slog.Logger) { s.log.Store(l) }

// UseRetryReport implements runtime.RetryReported: every retry of a
// request is reported (the pipeline's sink retries and last error).
func (s *Sink) UseRetryReport(retried func(err error)) { s.retried = retried }

func (s *Sink) logger() *slog.Logger {
	if l := s.log.Load(); l != nil {
		return l
	}
	return s.fallback
}

// Open sends one HEAD request to the URL, with the headers and the
// authentication of every request, and fails when no answer comes (the
// status does not matter: Probe judges it). It clears the failure that
// stopped the pipelined requests of an earlier run, if any.
func (s *Sink) Open(ctx context.Context) error {
	s.fl = newFlight(s.cfg.MaxInFlight)
	resp, err := s.head(ctx)
	if err != nil {
		return fmt.Errorf("http sink: cannot reach %s: %s", s.target, s.classifyErr(err, ctx).text)
	}
	resp.Body.Close()
	return nil
}

// Close waits for the requests WriteAsync still has in flight (they end
// soon once the context they were given ends: the runtime aborts it before
// it closes a sink with writes outstanding) and closes the idle
// connections.
func (s *Sink) Close() error {
	s.fl.wg.Wait()
	s.tr.CloseIdleConnections()
	return nil
}

// head sends the HEAD request of Open and Probe; the caller closes the
// response's body.
func (s *Sink) head(ctx context.Context) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(s.cfg.TimeoutMs)*time.Millisecond)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header = s.base.Clone()
	req.Header.Del("Content-Type")
	resp, err := s.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody ends a request's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Write sends records and returns once the server accepted all of them.
// See the package documentation for failures.
func (s *Sink) Write(ctx context.Context, records []runtime.Record) error {
	if len(records) == 0 {
		return nil
	}
	blk := s.blocks.Get().(*block)
	blk.refs.Store(1)
	defer blk.release()
	s.reqs = s.split(blk, records, s.reqs)
	if err := s.sendAll(ctx, blk, records); err != nil {
		return err
	}
	// Success: forget the accepted positions this Write covered.
	if s.done != nil {
		var maxPos uint64
		for i := range records {
			maxPos = max(maxPos, records[i].Position.Offset)
		}
		for p := range s.done {
			if p <= maxPos {
				delete(s.done, p)
			}
		}
		if len(s.done) == 0 {
			s.done = nil
		}
	}
	return nil
}
