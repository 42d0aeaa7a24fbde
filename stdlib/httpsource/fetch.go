package httpsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
)

// MaxResponseBytes bounds the body of one response; a larger one fails
// the request (a page must fit in memory).
const MaxResponseBytes = 64 << 20

// maxShownBody bounds the part of an error response's body a message
// quotes.
const maxShownBody = 200

// response is a successful (2xx) answer.
type response struct {
	status string
	header http.Header
	body   []byte
	url    string // the request's URL as messages show it
}

// fetch reads page r and works out its records, its next page and the
// tokens of its records. netRetries says whether a server that cannot be
// reached is retried (it is not for the first request of a run).
func (s *Source) fetch(ctx context.Context, r pageReq, netRetries bool) (*page, error) {
	resp, err := s.do(ctx, r, netRetries)
	if err != nil {
		return nil, err
	}
	v, err := runtime.ParseJSON(resp.body)
	if err != nil {
		return nil, fmt.Errorf("http source: the response of %s is not JSON: %v", resp.url, err)
	}
	items, err := s.itemsOf(v, resp.url)
	if err != nil {
		return nil, err
	}
	next, err := s.nextOf(r, v, resp, len(items))
	if err != nil {
		return nil, err
	}
	p := &page{req: r, at: s.now(), next: next, empty: len(items) == 0}
	if r.Skip < len(items) {
		p.items = items[r.Skip:]
	}
	p.tok = s.style.token(r)
	switch {
	case next != nil:
		p.last = s.style.token(*next)
	case s.cfg.atEnd() == AtEndRestart:
		p.last = s.style.token(s.first())
	default:
		end := r
		end.Skip += len(p.items)
		p.last = s.style.token(end)
	}
	for _, t := range []string{p.tok, p.last} {
		if holdsSecret(t, s.secrets) {
			return nil, fmt.Errorf("http source: the next page of %s is named by a value that holds one of the source's credentials; a position is written to state_dir and logs, so the source refuses to go on (use another pagination style)", resp.url)
		}
	}
	return p, nil
}

// itemsOf returns the records array of response v: the value at
// records_path (nothing when it is missing or null).
func (s *Source) itemsOf(v runtime.Value, where string) ([]runtime.Value, error) {
	a, ok := s.records.Lookup(v)
	if !ok || a.IsNull() {
		return nil, nil
	}
	if a.Kind() != runtime.KindArray {
		what := "the response"
		if len(s.records) > 0 {
			what = "records_path " + strconv.Quote(s.records.String()) + " in the response"
		}
		return nil, fmt.Errorf("http source: %s of %s is %s %s, not an array of records", what, where, article(a.Kind()), a.Kind())
	}
	return a.AsArray(), nil
}

func article(k runtime.Kind) string {
	if strings.ContainsRune("aeiou", rune(k.String()[0])) {
		return "an"
	}
	return "a"
}

// nextOf works out the page after r from its response: nil when r is the
// last page of the round. n is the number of records r holds (skipped
// ones included).
func (s *Source) nextOf(r pageReq, v runtime.Value, resp *response, n int) (*pageReq, error) {
	p := s.cfg.Pagination
	switch s.style {
	case styleCursor:
		c, ok := s.cursor.Lookup(v)
		if !ok || c.IsNull() {
			return nil, nil
		}
		var cur string
		switch c.Kind() {
		case runtime.KindString:
			cur = c.AsString()
		case runtime.KindInt:
			cur = strconv.FormatInt(c.AsInt(), 10)
		case runtime.KindFloat:
			cur = string(runtime.AppendJSON(nil, c))
		default:
			return nil, fmt.Errorf("http source: pagination.cursor_path %q in the response of %s is %s %s, not a cursor", s.cursor, resp.url, article(c.Kind()), c.Kind())
		}
		if cur == "" || cur == r.Cursor {
			return nil, nil // no next page, or one that leads back here
		}
		return &pageReq{Cursor: cur}, nil
	case styleLink:
		link, err := s.nextLink(resp)
		if err != nil || link == "" || link == r.Link {
			return nil, err
		}
		return &pageReq{Link: link}, nil
	case stylePage:
		if n == 0 || (p.PageSize > 0 && n < p.PageSize) {
			return nil, nil
		}
		if len(s.total) > 0 {
			t, ok := s.total.Lookup(v)
			if ok && !t.IsNull() {
				if t.Kind() != runtime.KindInt && t.Kind() != runtime.KindFloat {
					return nil, fmt.Errorf("http source: pagination.total_pages_path %q in the response of %s is %s %s, not a number", s.total, resp.url, article(t.Kind()), t.Kind())
				}
				if float64(r.Page-p.FirstPage+1) >= t.AsFloat() {
					return nil, nil
				}
			}
		}
		return &pageReq{Page: r.Page + 1}, nil
	}
	return nil, nil
}

// nextLink returns the rel="next" URL of resp's Link header as a page
// request names it: its path and query, without the url's own query
// parameters (the request adds them back) and the source's credentials.
// "" when there is none.
func (s *Source) nextLink(resp *response) (string, error) {
	target := ""
	for _, h := range resp.header.Values("Link") {
		for _, l := range splitLinks(h) {
			if l.hasRel("next") {
				target = l.target
				break
			}
		}
		if target != "" {
			break
		}
	}
	if target == "" {
		return "", nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("http source: the Link header of %s has a next URL that does not parse", resp.url)
	}
	u = s.base.ResolveReference(u)
	if u.Scheme != s.base.Scheme || u.Host != s.base.Host {
		return "", fmt.Errorf("http source: the Link header of %s points the next page to another host (%s://%s); the source sends its requests and credentials to %s://%s only",
			resp.url, u.Scheme, u.Host, s.base.Scheme, s.base.Host)
	}
	var kept []string
	if u.RawQuery != "" {
		for _, raw := range strings.Split(u.RawQuery, "&") {
			k, v, _ := strings.Cut(raw, "=")
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(v)
			if s.ownParam(k, v) || (len(v) >= runtime.MinSecretLen && holdsSecret(v, s.secrets)) {
				continue // sent again by every request
			}
			if isCredentialParam(k) {
				return "", fmt.Errorf("http source: the Link header of %s names the next page with a credential (query parameter %q); a position is written to state_dir and logs, so the source cannot resume from it (use cursor or page pagination)", resp.url, k)
			}
			kept = append(kept, raw)
		}
	}
	out := u.EscapedPath()
	if out == "" {
		out = "/"
	}
	if len(kept) > 0 {
		out += "?" + strings.Join(kept, "&")
	}
	return out, nil
}

// ownParam reports whether the url's query holds k=v.
func (s *Source) ownParam(k, v string) bool {
	for _, q := range s.baseQ {
		if q.key == k && q.value == v {
			return true
		}
	}
	return false
}

// link is one entry of a Link header.
type link struct {
	target string
	rels   []string
}

func (l link) hasRel(rel string) bool {
	for _, r := range l.rels {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

// splitLinks parses a Link header value (RFC 8288): <target>; rel="a b",
// <target2>; rel=c.
func splitLinks(h string) []link {
	var out []link
	for {
		h = strings.TrimLeft(h, " \t,")
		if !strings.HasPrefix(h, "<") {
			return out
		}
		end := strings.IndexByte(h, '>')
		if end < 0 {
			return out
		}
		l := link{target: h[1:end]}
		h = h[end+1:]
		// Parameters up to the next entry (a comma outside quotes).
		for {
			h = strings.TrimLeft(h, " \t")
			if !strings.HasPrefix(h, ";") {
				break
			}
			h = strings.TrimLeft(h[1:], " \t")
			name := h
			if i := strings.IndexAny(h, "=;,"); i >= 0 {
				name, h = h[:i], h[i:]
			} else {
				h = ""
			}
			var val string
			if strings.HasPrefix(h, "=") {
				h = strings.TrimLeft(h[1:], " \t")
				if strings.HasPrefix(h, `"`) {
					if j := strings.IndexByte(h[1:], '"'); j >= 0 {
						val, h = h[1:1+j], h[2+j:]
					} else {
						val, h = h[1:], ""
					}
				} else {
					j := strings.IndexAny(h, ";,")
					if j < 0 {
						j = len(h)
					}
					val, h = strings.TrimSpace(h[:j]), h[j:]
				}
			}
			if strings.EqualFold(strings.TrimSpace(name), "rel") {
				l.rels = append(l.rels, strings.Fields(val)...)
			}
		}
		out = append(out, l)
	}
}

// newRequest builds the request of page r.
func (s *Source) newRequest(ctx context.Context, r pageReq) (*http.Request, error) {
	u := *s.base
	p := s.cfg.Pagination
	switch s.style {
	case styleCursor:
		if r.Cursor != "" && p.CursorParam != "" {
			u.RawQuery = withParam(u.RawQuery, p.CursorParam, r.Cursor)
		}
	case stylePage:
		u.RawQuery = withParam(u.RawQuery, p.PageParam, strconv.FormatInt(r.Page, 10))
		if p.PageSizeParam != "" {
			u.RawQuery = withParam(u.RawQuery, p.PageSizeParam, strconv.Itoa(p.PageSize))
		}
	case styleLink:
		if r.Link != "" {
			ref, err := url.Parse(r.Link)
			if err != nil {
				return nil, fmt.Errorf("http source: the saved Link URL %q does not parse", r.Link)
			}
			next := s.base.ResolveReference(ref)
			have := map[string]bool{}
			for _, raw := range strings.Split(next.RawQuery, "&") {
				k, _, _ := strings.Cut(raw, "=")
				k, _ = url.QueryUnescape(k)
				have[k] = true
			}
			for _, q := range s.baseQ {
				if !have[q.key] {
					next.RawQuery = joinQuery(next.RawQuery, q.raw)
				}
			}
			u = *next
		}
	}
	var body io.Reader
	if s.cfg.Body != "" {
		body = strings.NewReader(s.body(r))
	}
	method := s.cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("http source: request to %s: %v", s.shown(u.String()), err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "rivven-connect")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range s.cfg.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	return req, nil
}

// withParam sets key=value in a raw query: it replaces the url's own
// parameter of that name, else appends it.
func withParam(raw, key, value string) string {
	pair := url.QueryEscape(key) + "=" + url.QueryEscape(value)
	if raw == "" {
		return pair
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == key {
			parts[i] = pair
			return strings.Join(parts, "&")
		}
	}
	return raw + "&" + pair
}

func joinQuery(raw, pair string) string {
	if raw == "" {
		return pair
	}
	return raw + "&" + pair
}

// body renders the body template for page r: {{cursor}} as a JSON string
// (null on the first page), {{page}} as a number.
func (s *Source) body(r pageReq) string {
	cursor := "null"
	if r.Cursor != "" {
		cursor = string(runtime.AppendJSONString(nil, r.Cursor))
	}
	page := r.Page
	if s.style != stylePage {
		page = 0
	}
	return strings.NewReplacer("{{cursor}}", cursor, "{{page}}", strconv.FormatInt(page, 10)).Replace(s.cfg.Body)
}

// httpError is a request that failed.
type httpError struct {
	msg       string
	retriable bool
	// unreachable: no answer came (the connection failed or timed out).
	unreachable bool
	// unauthorized: the server answered 401 (do words the message).
	unauthorized bool
	after        time.Duration // the Retry-After wait; 0 = none
}

func (e *httpError) Error() string { return e.msg }

// do sends the request of page r until it succeeds, retrying transient
// failures with backoff (at most retry.max_retries times; a server that
// cannot be reached only when netRetries), and returns the 2xx response.
// With OAuth2, a 401 gets one more try with a new access token.
func (s *Source) do(ctx context.Context, r pageReq, netRetries bool) (*response, error) {
	fresh := false
	for attempt := 0; ; {
		resp, err := s.once(ctx, r, fresh)
		if err == nil {
			return resp, nil
		}
		var he *httpError
		if !errors.As(err, &he) {
			return nil, err // the context ended
		}
		if he.unauthorized && !fresh {
			if _, ok := s.auth.(*oauth2Auth); ok {
				fresh = true // the access token may have been revoked: ask for a new one
				continue
			}
		}
		if he.unauthorized {
			he.msg = s.unauthorized(r)
		}
		fresh = false
		if !he.retriable || (!netRetries && he.unreachable) {
			return nil, errors.New(he.msg)
		}
		if attempt >= s.cfg.Retry.MaxRetries {
			if attempt == 0 {
				return nil, errors.New(he.msg)
			}
			return nil, fmt.Errorf("%s (gave up after %d retries)", he.msg, attempt)
		}
		wait := s.backoff(attempt)
		if he.after > 0 {
			wait = min(he.after, s.maxBackoff())
		}
		attempt++
		s.log.Warn("http source: request failed; retrying", "error", he.msg, "retry", attempt, "of", s.cfg.Retry.MaxRetries, "wait", wait.String())
		if err := s.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// unauthorized says that the server refused the request's credentials.
func (s *Source) unauthorized(r pageReq) string {
	req, _ := s.newRequest(context.Background(), r)
	where := "the server"
	if req != nil {
		where = s.shown(req.URL.String())
	}
	if s.auth == nil {
		return fmt.Sprintf("http source: %s answered 401 Unauthorized: it needs credentials (set auth, or an Authorization header)", where)
	}
	return fmt.Sprintf("http source: %s answered 401 Unauthorized: it refused the credentials of %s", where, s.auth.method())
}

// once sends the request of page r one time. A failure is an
// *httpError, or the context's error.
func (s *Source) once(ctx context.Context, r pageReq, fresh bool) (*response, error) {
	req, err := s.newRequest(ctx, r)
	if err != nil {
		return nil, &httpError{msg: err.Error()}
	}
	shown := s.shown(req.URL.String())
	if s.auth != nil {
		if err := s.auth.apply(ctx, req, fresh); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var te *tokenError
			if errors.As(err, &te) && te.refused {
				return nil, &httpError{msg: "http source: " + s.redact(te.msg)}
			}
			return nil, &httpError{msg: "http source: " + s.redact(err.Error()), retriable: true, unreachable: true}
		}
	}
	if s.limiter != nil {
		if err := s.limiter.Wait(ctx); err != nil {
			return nil, ctx.Err()
		}
	}
	res, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var re *redirectError
		if errors.As(err, &re) {
			return nil, &httpError{msg: fmt.Sprintf("http source: %s: %s", shown, s.redact(re.Error()))}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &httpError{msg: fmt.Sprintf("http source: cannot reach %s: %s", shown, s.redact(err.Error())), retriable: true, unreachable: true}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &httpError{msg: fmt.Sprintf("http source: reading the response of %s: %s", shown, s.redact(err.Error())), retriable: true}
	}
	if len(body) > MaxResponseBytes {
		return nil, &httpError{msg: fmt.Sprintf("http source: the response of %s is larger than %d MiB (use smaller pages)", shown, MaxResponseBytes>>20)}
	}
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		return &response{status: res.Status, header: res.Header, body: body, url: shown}, nil
	case code == http.StatusUnauthorized:
		return nil, &httpError{unauthorized: true}
	case code == http.StatusForbidden:
		return nil, &httpError{msg: fmt.Sprintf("http source: %s answered 403 Forbidden: the credentials are not allowed to read it%s", shown, s.snippet(body))}
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code == http.StatusInternalServerError,
		code == http.StatusBadGateway, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return nil, &httpError{msg: fmt.Sprintf("http source: %s answered %s%s", shown, res.Status, s.snippet(body)),
			retriable: true, after: retryAfter(res.Header.Get("Retry-After"))}
	default:
		return nil, &httpError{msg: fmt.Sprintf("http source: %s answered %s%s", shown, res.Status, s.snippet(body))}
	}
}

// snippet quotes the start of an error response's body for a message
// (": …"), one line, the source's secrets masked; "" for an empty body.
func (s *Source) snippet(body []byte) string {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return ""
	}
	cut := len(b) > maxShownBody
	if cut {
		b = b[:maxShownBody]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	t := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if cut {
		t += "…"
	}
	return ": " + s.redact(t)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// mustParse parses a Link token's URL reference, which fetch produced
// from a parsed URL (an unparsable one is the empty reference).
func mustParse(ref string) *url.URL {
	u, err := url.Parse(ref)
	if err != nil {
		return &url.URL{}
	}
	return u
}
