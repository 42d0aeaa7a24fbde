package httpsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// class is what a response status means to the sink.
type class uint8

const (
	permanent class = iota // the request's records fail at once
	success                // the records are written
	retry                  // the request is sent again
)

// classes fills s.class: 2xx succeed; 408, 429 and 5xx are retried;
// retry_on, drop_on and successful_on then override, in that order
// (Validate refuses a status in two of them).
func (s *Sink) classes() {
	for code := range s.class {
		switch {
		case code >= 200 && code <= 299:
			s.class[code] = success
		case code == 408, code == 429, code >= 500:
			s.class[code] = retry
		}
	}
	for _, c := range s.cfg.RetryOn {
		s.class[c] = retry
	}
	for _, c := range s.cfg.DropOn {
		s.class[c] = permanent
	}
	for _, c := range s.cfg.SuccessfulOn {
		s.class[c] = success
	}
}

func (s *Sink) classOf(code int) class {
	if code < 0 || code >= len(s.class) {
		return permanent
	}
	return s.class[code]
}

// block holds the encoded records of one Write; request bodies are slices
// of it. The HTTP client may still read a body after the request's answer
// arrived (it closes bodies in its own time), so a block goes back to the
// pool only when the Write and every body made of it have released it.
type block struct {
	buf  []byte
	refs atomic.Int32
	pool *sync.Pool
}

func (b *block) release() {
	if b.refs.Add(-1) == 0 {
		b.pool.Put(b)
	}
}

// body is one request body, a slice of a block that it holds until the
// HTTP client closes it.
type body struct {
	bytes.Reader
	blk    *block
	closed atomic.Bool
}

func newBody(blk *block, p []byte) *body {
	blk.refs.Add(1)
	b := &body{blk: blk}
	b.Reset(p)
	return b
}

// Close releases the block (once).
func (b *body) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.blk.release()
	}
	return nil
}

// request is one request of a Write: the records from..to (indices into
// the Write's records; records the server already has are left out), n of
// them, at positions first..last, and the body blk.buf[lo:hi].
type request struct {
	from, to    int
	n           int
	first, last uint64
	lo, hi      int
	err         error
	sent        bool // the server accepted it
}

// split encodes records into blk, cuts them into requests appended to
// reqs[:0] and returns those, leaving out the records whose positions
// s.done holds. Bodies are laid out so that
// no request needs a copy: NDJSON records end with '\n'; JSON-array
// records are separated by ", " and a request's first record is preceded
// by '[', its last followed by ']' (the two bytes between two requests
// become "][").
func (s *Sink) split(blk *block, records []runtime.Record, reqs []request) []request {
	f := s.cfg.Format
	buf := blk.buf[:0]
	if f == FormatJSONArray {
		buf = append(buf, '[')
	}
	extra := 0 // bytes of a body beyond its records and the gaps between them
	switch f {
	case FormatNDJSON:
		extra = 1
	case FormatJSONArray:
		extra = 2
	}
	reqs = reqs[:0]
	cur := -1
	for i := range records {
		pos := records[i].Position.Offset
		if _, ok := s.done[pos]; ok {
			continue
		}
		start := len(buf)
		buf = s.enc(buf, &records[i])
		end := len(buf)
		switch f {
		case FormatNDJSON:
			buf = append(buf, '\n')
		case FormatJSONArray:
			buf = append(buf, ',', ' ')
		}
		if cur >= 0 {
			c := &reqs[cur]
			if f == FormatJSON || c.n >= s.cfg.MaxBatchRecords || end-c.lo+extra > s.cfg.MaxBatchBytes {
				cur = -1
			}
		}
		if cur < 0 {
			reqs = append(reqs, request{from: i, first: pos, lo: start})
			cur = len(reqs) - 1
		}
		c := &reqs[cur]
		c.to, c.n, c.last, c.hi = i, c.n+1, pos, end
	}
	for i := range reqs {
		c := &reqs[i]
		switch f {
		case FormatNDJSON:
			c.hi++
		case FormatJSONArray:
			c.lo--
			buf[c.lo] = '['
			buf[c.hi] = ']'
			c.hi++
		}
	}
	blk.buf = buf
	return reqs
}

// errStopped is the failure of a request that was not sent, or not sent
// again, because another request failed: of the same Write, or with
// pipelining (WriteAsync) of any write.
var errStopped = errors.New("http sink: not sent, or not retried, since another request failed")

// sendAll sends s.reqs, at most MaxInFlight at once, and returns nil when
// the server accepted every one. Otherwise it starts no new request or
// retry, waits for those in flight, remembers the records of the accepted
// ones in s.done, and returns the first failure (in record order).
func (s *Sink) sendAll(ctx context.Context, blk *block, records []runtime.Record) error {
	reqs := s.reqs
	if s.cfg.MaxInFlight == 1 || len(reqs) <= 1 {
		for i := range reqs {
			if err := s.send(ctx, blk, &reqs[i], nil); err != nil {
				s.remember(records, reqs[:i])
				return err
			}
			reqs[i].sent = true
		}
		return nil
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		once sync.Once
	)
	stop := make(chan struct{})
	for range min(s.cfg.MaxInFlight, len(reqs)) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				rq := &reqs[i]
				if rq.err = s.send(ctx, blk, rq, stop); rq.err != nil {
					once.Do(func() { close(stop) })
				} else {
					rq.sent = true
				}
			}
		})
	}
	wg.Wait()
	var first, stopped error
	for i := range reqs {
		switch err := reqs[i].err; {
		case err == nil:
		case errors.Is(err, errStopped):
			stopped = err
		case first == nil:
			first = err
		}
	}
	if first == nil {
		first = stopped
	}
	if first != nil {
		s.remember(records, reqs)
	}
	return first
}

// remember adds the positions of the records of the accepted requests
// among reqs to s.done.
func (s *Sink) remember(records []runtime.Record, reqs []request) {
	for i := range reqs {
		rq := &reqs[i]
		if !rq.sent {
			continue
		}
		if s.done == nil {
			s.done = map[uint64]struct{}{}
		}
		for j := rq.from; j <= rq.to; j++ {
			s.done[records[j].Position.Offset] = struct{}{}
		}
	}
}

// outcome is the result of one attempt of a request.
type outcome struct {
	class  class
	status int    // 0: no answer
	text   string // why it failed: the status and an excerpt, or the connection failure
	wait   time.Duration
	after  bool // wait is the answer's Retry-After
}

// send sends one request, retrying it as the package documentation says,
// until it succeeds, fails for good, its retries are used up, ctx ends, or
// stop is closed (errStopped).
func (s *Sink) send(ctx context.Context, blk *block, rq *request, stop <-chan struct{}) error {
	p := blk.buf[rq.lo:rq.hi]
	key := ""
	if s.cfg.IdempotencyHeader != "" {
		key = s.nonce + "-" + strconv.FormatUint(rq.first, 10) + "-" + strconv.FormatUint(rq.last, 10)
	}
	for n := 0; ; n++ {
		o := s.attempt(ctx, blk, p, key)
		if o.class == success {
			return nil
		}
		if o.class == permanent || ctx.Err() != nil {
			return s.failure(rq, o)
		}
		if n >= s.cfg.Retry.MaxRetries {
			switch n {
			case 0:
				o.text += " (not retried: retry.max_retries is 0)"
			case 1:
				o.text += " (gave up after 1 retry)"
			default:
				o.text += fmt.Sprintf(" (gave up after %d retries)", n)
			}
			return s.failure(rq, o)
		}
		err := s.failure(rq, o)
		wait := s.backoff(n, o)
		s.logRetry(rq, n, wait, err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		case <-stop:
			t.Stop()
			return errStopped
		}
	}
}

// attempt sends the body p once and classifies the answer.
func (s *Sink) attempt(ctx context.Context, blk *block, p []byte, key string) outcome {
	rctx, cancel := context.WithTimeout(ctx, time.Duration(s.cfg.TimeoutMs)*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, s.cfg.Method, s.url, nil)
	if err != nil {
		return outcome{class: permanent, text: "cannot build the request: " + s.scrub(err.Error())}
	}
	req.Body = newBody(blk, p)
	req.GetBody = func() (io.ReadCloser, error) { return newBody(blk, p), nil }
	req.ContentLength = int64(len(p))
	req.Header = s.base.Clone()
	if key != "" {
		req.Header.Set(s.cfg.IdempotencyHeader, key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		f := s.classifyErr(err, ctx)
		c := permanent
		if f.retry {
			c = retry
		}
		return outcome{class: c, text: f.text}
	}
	o := outcome{class: s.classOf(resp.StatusCode), status: resp.StatusCode}
	if o.class == success {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return o
	}
	excerpt := s.excerpt(resp.Body)
	resp.Body.Close()
	o.text = statusText(resp.StatusCode)
	if excerpt != "" {
		o.text += ": " + excerpt
	}
	switch {
	case o.class == retry:
		o.wait, o.after = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		o.text += " (redirects are not followed: set url to the address it redirects to"
		if loc := resp.Header.Get("Location"); loc != "" && !s.cfg.HideURL {
			o.text += ", " + s.scrub(stripQuery(loc))
		}
		o.text += ")"
	case slices.Contains(s.cfg.DropOn, resp.StatusCode):
		o.text += " (drop_on lists it: not retried)"
	default:
		o.text += " (not retried: neither a success nor a retriable status)"
	}
	return o
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return "status " + strconv.Itoa(code)
}

// excerpt reads the body of a failed answer (up to 64 KiB, so the
// connection can be reused) and returns its first 200 bytes as one line of
// text without the sink's secrets.
func (s *Sink) excerpt(r io.Reader) string {
	const keep = 200
	var b [keep + 1]byte
	n, _ := io.ReadFull(r, b[:])
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	if n == 0 {
		return ""
	}
	cut := n > keep
	text := strings.ToValidUTF8(string(b[:min(n, keep)]), "")
	text = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	text = s.scrub(strings.Join(strings.Fields(text), " "))
	if cut {
		text += "…"
	}
	return text
}

// scrub removes the sink's secrets (see headers) from text.
func (s *Sink) scrub(text string) string { return s.redact(text) }

func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// failure is the error of request rq whose attempt ended with o.
func (s *Sink) failure(rq *request, o outcome) error {
	recs := fmt.Sprintf("%d records, positions %d..%d", rq.n, rq.first, rq.last)
	if rq.n == 1 {
		recs = fmt.Sprintf("1 record, position %d", rq.first)
	}
	return fmt.Errorf("http sink: %s %s: %s (%s)", s.cfg.Method, s.target, o.text, recs)
}

// backoff is the wait before retry n (from 0) after outcome o: its
// Retry-After, at most MaxBackoffMs; else a random time between half of
// and all of InitialBackoffMs × 2^n capped at MaxBackoffMs.
func (s *Sink) backoff(n int, o outcome) time.Duration {
	ceil := time.Duration(s.cfg.Retry.MaxBackoffMs) * time.Millisecond
	if o.after {
		return min(o.wait, ceil)
	}
	b := time.Duration(s.cfg.Retry.InitialBackoffMs) * time.Millisecond
	for i := 0; i < n && b < ceil; i++ {
		b *= 2
	}
	b = min(b, ceil)
	half := b / 2
	return half + time.Duration(rand.Int64N(int64(b-half)+1))
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date (a
// date in the past means no wait). ok is false when h is empty or neither.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(h, 10, 64); err == nil {
		return time.Duration(min(secs, 1<<20)) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// logRetry reports a retry to the pipeline (runtime.RetryReported) and
// logs it, at most once per 10 s.
func (s *Sink) logRetry(rq *request, n int, wait time.Duration, err error) {
	if s.retried != nil {
		s.retried(err)
	}
	ok, suppressed := s.limit.allow(time.Now())
	if !ok {
		return
	}
	s.logger().Warn("http sink: request failed; retrying", "url", s.target, "records", rq.n,
		"retry", n+1, "of", s.cfg.Retry.MaxRetries, "wait", wait, "error", err.Error(),
		"similar_suppressed", suppressed)
}

// logLimiter lets one line through per logInterval and counts the others.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

const logInterval = 10 * time.Second

func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}
