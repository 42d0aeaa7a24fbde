package httpsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/rivven/rivven-connect/runtime"
)

// Source is the http source (poll mode). See the package doc for what it
// reads, its positions and its failures.
type Source struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	style    style
	base     *url.URL
	baseQ    []queryPair // the url's query, in order
	records  Path
	cursor   Path
	total    Path
	declared *runtime.Schema // nil: learned per record
	inferred schemas
	client   *http.Client
	auth     authorizer
	limiter  *rate.Limiter
	secrets  []string
	redact   func(string) string
	// sleep waits d or until ctx ends; tests replace it to observe waits.
	sleep func(ctx context.Context, d time.Duration) error

	noState bool     // the pipeline has no state_dir (UseState(nil))
	start   *pageReq // the resumed page; nil: the first one
	off     uint64   // Offset of the next record
	cur     *page    // the page being delivered
	pending error    // an error to return from the next Read
}

// queryPair is one parameter of the url's query, as written.
type queryPair struct{ raw, key, value string }

// page is a fetched page and the state of its delivery.
type page struct {
	req   pageReq         // how it was fetched; Skip records were dropped
	items []runtime.Value // its records past Skip
	next  *pageReq        // the next page; nil: the last page of the round
	empty bool            // it held no records: the last page of the round even with a next
	at    time.Time       // when it was fetched: the records' event time
	tok   string          // the token of its records but the last
	last  string          // the token of its last record
	i     int             // the next item to deliver
}

var (
	_ runtime.Source     = (*Source)(nil)
	_ runtime.Resumable  = (*Source)(nil)
	_ runtime.Logged     = (*Source)(nil)
	_ runtime.Stateful   = (*Source)(nil)
	_ runtime.Prober     = (*Source)(nil)
	_ runtime.Discoverer = (*Source)(nil)
)

// New returns the http source of cfg in its mode: a *Source (poll mode)
// or a *Webhook (webhook mode). See Config.Validate for what it refuses;
// now is the clock of the records' event time. It connects to nothing and
// listens nowhere until Open.
func New(cfg Config, now func() time.Time) (runtime.Source, error) {
	if cfg.Mode == ModeWebhook {
		return NewWebhook(cfg, now)
	}
	return NewPoll(cfg, now)
}

// NewPoll returns the http source of cfg in poll mode (see
// Config.Validate for what it refuses, a webhook-mode cfg included); now
// is the clock of the records' event time. It connects to nothing: Open
// fetches the first page.
func NewPoll(cfg Config, now func() time.Time) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Mode == ModeWebhook {
		return nil, errors.New("http source: NewPoll: the config is in webhook mode (use New or NewWebhook)")
	}
	if now == nil {
		now = time.Now
	}
	s := &Source{cfg: cfg, now: now, log: slog.New(slog.DiscardHandler), style: cfg.Pagination.style(), sleep: runtime.Sleep}
	s.base, _ = url.Parse(cfg.URL)
	if s.base.RawQuery != "" {
		for _, raw := range strings.Split(s.base.RawQuery, "&") {
			k, v, _ := strings.Cut(raw, "=")
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(v)
			s.baseQ = append(s.baseQ, queryPair{raw: raw, key: k, value: v})
		}
	}
	s.records, _ = ParsePath(cfg.RecordsPath)
	s.cursor, _ = ParsePath(cfg.Pagination.CursorPath)
	s.total, _ = ParsePath(cfg.Pagination.TotalPagesPath)
	s.declared, _ = Schema(cfg)
	s.secrets = secretsOf(cfg)
	s.redact = runtime.Redactor(s.secrets)
	timeout := time.Duration(cfg.TimeoutMs) * time.Millisecond
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	host := s.base.Host
	s.client = &http.Client{
		Timeout:   timeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// A redirect keeps to the url's host: headers with credentials are
		// never sent elsewhere.
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Host != host {
				return &redirectError{to: r.URL.Host, host: host}
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
	s.auth = newAuthorizer(cfg.Auth, s.client, s.shown)
	if cfg.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), 1)
	}
	return s, nil
}

// redirectError refuses a redirect to another host than the url's.
type redirectError struct{ to, host string }

func (e *redirectError) Error() string {
	return fmt.Sprintf("it redirects to another host (%s); the source sends its requests and credentials to %s only", e.to, e.host)
}

// shown renders a URL text for messages (see shownURL), with the
// source's secrets masked.
func (s *Source) shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL)"
	}
	return s.redact(shownURL(u))
}

// UseLogger sets the logger of retries and rounds.
func (s *Source) UseLogger(l *slog.Logger) { s.log = l }

// UseState learns whether the pipeline keeps state: the source stores
// nothing in b (the driver keeps its position, see Resume), but without a
// state directory (b nil) every start reads from the first page, which
// Open logs as a warning.
func (s *Source) UseState(b runtime.StateBlob) { s.noState = b == nil }

// Resume makes the source start at the page pos.Token names, and number
// its records on from pos.Offset. A position without a token, or with a
// token of another pagination style, is an error saying how to start over.
func (s *Source) Resume(pos runtime.Position) error {
	r, err := s.style.parse(pos.Token)
	if err != nil {
		return fmt.Errorf("http source: %w", err)
	}
	s.start, s.off = &r, pos.Offset+1
	return nil
}

// first is the request of the first page.
func (s *Source) first() pageReq {
	if s.style == stylePage {
		return pageReq{Page: s.cfg.Pagination.FirstPage}
	}
	return pageReq{}
}

// Open fetches the first page (the resumed one after Resume). A server
// that cannot be reached fails it at once; a busy one (429, 503, …) is
// retried as always.
func (s *Source) Open(ctx context.Context) error {
	r := s.first()
	if s.start != nil {
		r = *s.start
	}
	if s.noState {
		s.log.Warn("http source: settings.state_dir is not set, so the acknowledged page is not kept: every start reads from the first page")
	}
	p, err := s.fetch(ctx, r, false)
	if err != nil {
		return err
	}
	s.cur = p
	return nil
}

// Read returns the records of the current page, at most len(batch) of
// them, fetching the next page when the current one is delivered. After
// the last page of a round it waits interval_ms and polls again (at_end
// tail or restart), or ends with io.EOF (stop).
func (s *Source) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if err := s.pending; err != nil {
		s.pending = nil
		return 0, err
	}
	if len(batch) == 0 {
		return 0, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		p := s.cur
		if p == nil {
			return 0, errors.New("http source: Read before Open")
		}
		if p.i >= len(p.items) {
			if err := s.advance(ctx); err != nil {
				return 0, err
			}
			continue
		}
		n := 0
		for n < len(batch) && p.i < len(p.items) {
			if err := s.fill(&batch[n], p); err != nil {
				if n > 0 {
					s.pending = err
					return n, nil
				}
				return 0, err
			}
			p.i++
			n++
		}
		if p.i == len(p.items) && p.next == nil && s.cfg.atEnd() == AtEndStop {
			return n, io.EOF
		}
		return n, nil
	}
}

// advance replaces the delivered current page by the next one: the next
// page of the round, or after the round's last page (and interval_ms) the
// same page again past the records already delivered (tail) or the first
// page (restart); stop ends the source.
//
// A page without records ends the round even when it names a next page:
// an API that hands out a fresh cursor with every empty page is polled
// every interval_ms, not in a loop; tail then goes on at that next page.
func (s *Source) advance(ctx context.Context) error {
	p := s.cur
	r := p.next
	if r == nil || p.empty {
		switch s.cfg.atEnd() {
		case AtEndStop:
			return io.EOF
		case AtEndRestart:
			first := s.first()
			r = &first
		default:
			if r == nil {
				again := p.req
				again.Skip += len(p.items)
				r = &again
			}
		}
		if err := s.sleep(ctx, time.Duration(s.cfg.IntervalMs)*time.Millisecond); err != nil {
			return err
		}
	}
	np, err := s.fetch(ctx, *r, true)
	if err != nil {
		return err
	}
	s.cur = np
	return nil
}

// fill sets rec to item p.i of page p.
func (s *Source) fill(rec *runtime.Record, p *page) error {
	o := rowObject(p.items[p.i])
	row := rec.After[:0]
	var schema *runtime.Schema
	if s.declared != nil {
		schema = s.declared
		for _, f := range schema.Fields {
			v, _ := o.Get(f.Name)
			c, m := conform(v, f.Type)
			if m != nil {
				return fmt.Errorf("http source: record [%d] of page %s: %s (fix the schema key, or the API)",
					p.req.Skip+p.i, p.tok, m.describe(f.Name))
			}
			row = append(row, c)
		}
	} else {
		schema = s.inferred.of(o.Keys)
		row = append(row, o.Values...)
	}
	tok := p.tok
	if p.i == len(p.items)-1 {
		tok = p.last
	}
	*rec = runtime.Record{Stream: s.cfg.stream(), Op: runtime.OpRecord, Schema: schema, After: row, Time: p.at,
		Position: runtime.Position{Offset: s.off, Token: tok}}
	s.off++
	return nil
}

// Ack does nothing: the driver keeps the acknowledged position in
// state_dir (the source is Resumable).
func (s *Source) Ack(context.Context, runtime.Position) error { return nil }

// Close releases the source's idle connections.
func (s *Source) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// backoff is the wait before retry n (from 0): initial × 2^n capped at the
// maximum, the upper half of it drawn at random (jitter).
func (s *Source) backoff(n int) time.Duration {
	initial := time.Duration(s.cfg.Retry.InitialBackoffMs) * time.Millisecond
	if initial <= 0 {
		initial = 100 * time.Millisecond
	}
	d := initial
	for range min(n, 40) {
		d *= 2
		if d >= s.maxBackoff() {
			break
		}
	}
	d = min(d, s.maxBackoff())
	return d/2 + rand.N(d/2+1)
}

func (s *Source) maxBackoff() time.Duration {
	if s.cfg.Retry.MaxBackoffMs <= 0 {
		return 30 * time.Second
	}
	return time.Duration(s.cfg.Retry.MaxBackoffMs) * time.Millisecond
}
