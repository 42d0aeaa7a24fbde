package httpsource

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// fakeAPI is a loopback JSON API over records 0..n-1, per records a page,
// in one pagination style:
//
//	cursor  GET /items[?cursor=cN] → {"data":{"items":[…]},"meta":{"next":"cN+1"}}
//	link    GET /items[?after=N]   → {"data":{"items":[…]}} with Link: </items?after=N+1>; rel="next"
//	page    GET /items?page=N      → {"data":{"items":[…]}} (pages from 1; an empty page ends)
//	none    GET /items             → […] (every record)
//
// Record i is {"id": i, "name": "item-i", "price": i/2 (a float when odd), "tags": ["t"]}.
// The next cursor or Link is given only while there are records after the
// page. Hooks inject failures and check credentials.
type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	style  string
	per    int
	echoes bool // error answers echo the request's credentials (the source must mask them)

	mu       sync.Mutex
	n        int
	requests int
	reqs     []*http.Request
	// fail, when set, answers request number k (from 1) itself when it
	// returns a status (with a Retry-After header value when not "").
	fail func(k int) (status int, retryAfter string)
	// authOK, when set, refuses requests it returns false for with 401.
	authOK func(r *http.Request) bool
	// hold, when set, runs before a request is answered (it may block).
	hold func(r *http.Request)
	// tokens are the OAuth2 access tokens the token endpoint issued; valid
	// says which the API accepts.
	tokens    int
	valid     map[string]bool
	clientOK  func(id, secret string) bool
	tokenHits int
	form      []string // the token requests' forms
}

func newFakeAPI(t *testing.T, style string, n, per int) *fakeAPI {
	a := &fakeAPI{t: t, style: style, n: n, per: per, valid: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/items", a.items)
	mux.HandleFunc("/token", a.token)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAPI) url() string { return a.srv.URL + "/items" }

func (a *fakeAPI) grow(k int) {
	a.mu.Lock()
	a.n += k
	a.mu.Unlock()
}

func (a *fakeAPI) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

func record(i int) string {
	price := strconv.Itoa(i / 2)
	if i%2 == 1 {
		price += ".5"
	}
	return fmt.Sprintf(`{"id":%d,"name":"item-%d","price":%s,"tags":["t"]}`, i, i, price)
}

func (a *fakeAPI) items(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests++
	k, n := a.requests, a.n
	a.reqs = append(a.reqs, r.Clone(context.Background()))
	fail, authOK, hold := a.fail, a.authOK, a.hold
	a.mu.Unlock()
	if hold != nil {
		hold(r)
	}
	if fail != nil {
		if status, after := fail(k); status != 0 {
			if after != "" {
				w.Header().Set("Retry-After", after)
			}
			w.WriteHeader(status)
			if a.echoes {
				fmt.Fprintf(w, `{"error":"busy","you_sent":%q,"key":%q}`, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
			}
			return
		}
	}
	if authOK != nil && !authOK(r) {
		w.WriteHeader(http.StatusUnauthorized)
		if a.echoes {
			fmt.Fprintf(w, `{"error":"bad credentials %s"}`, r.Header.Get("Authorization"))
		}
		return
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer at-"); ok {
		a.mu.Lock()
		valid := a.valid["at-"+tok]
		a.mu.Unlock()
		if !valid {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		// The body names the cursor: {"cursor": "cN" | null, …}.
		var body struct {
			Cursor *string `json:"cursor"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if body.Cursor != nil {
			q.Set("cursor", *body.Cursor)
		}
	}
	from := 0
	switch a.style {
	case "cursor":
		if c := q.Get("cursor"); c != "" {
			p, err := strconv.Atoi(strings.TrimPrefix(c, "c"))
			if err != nil {
				http.Error(w, "bad cursor", http.StatusBadRequest)
				return
			}
			from = p * a.per
		}
	case "link":
		if s := q.Get("after"); s != "" {
			from, _ = strconv.Atoi(s)
		}
	case "page":
		p, err := strconv.Atoi(q.Get("page"))
		if err != nil || p < 1 {
			http.Error(w, "bad page", http.StatusBadRequest)
			return
		}
		from = (p - 1) * a.per
	}
	to := min(from+a.per, n)
	if a.style == "none" {
		from, to = 0, n
	}
	var b bytes.Buffer
	items := func() {
		b.WriteByte('[')
		for i := from; i < to; i++ {
			if i > from {
				b.WriteByte(',')
			}
			b.WriteString(record(i))
		}
		b.WriteByte(']')
	}
	switch a.style {
	case "none":
		items()
	case "cursor":
		b.WriteString(`{"data":{"items":`)
		items()
		b.WriteString(`},"meta":{`)
		if to < n {
			fmt.Fprintf(&b, `"next":"c%d"`, to/a.per)
		}
		b.WriteString(`}}`)
	default:
		if a.style == "link" && to < n {
			w.Header().Set("Link", fmt.Sprintf(`<%s/items?after=%d>; rel="next", <%s/items>; rel="first"`, a.srv.URL, to, a.srv.URL))
		}
		b.WriteString(`{"data":{"items":`)
		items()
		b.WriteString(`}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// token is an OAuth2 client-credentials endpoint: it issues at-1, at-2, …
// to a client clientOK accepts (credentials in the basic auth header).
func (a *fakeAPI) token(w http.ResponseWriter, r *http.Request) {
	id, secret, _ := r.BasicAuth()
	_ = r.ParseForm()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokenHits++
	a.form = append(a.form, r.PostForm.Encode())
	if r.PostForm.Get("grant_type") != "client_credentials" || a.clientOK == nil || !a.clientOK(id, secret) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"unknown client","echo":%q}`, secret)
		return
	}
	a.tokens++
	tok := fmt.Sprintf("at-%d", a.tokens)
	a.valid[tok] = true
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
}

func (a *fakeAPI) revoke(tok string) {
	a.mu.Lock()
	delete(a.valid, tok)
	a.mu.Unlock()
}

// config is a Config reading a's records in its style, to the end (at_end
// stop).
func (a *fakeAPI) config() Config {
	c := Config{URL: a.url(), AtEnd: AtEndStop, RecordsPath: "data.items", Stream: "items",
		Retry: Retry{MaxRetries: 3, InitialBackoffMs: 100, MaxBackoffMs: 2000}}
	switch a.style {
	case "cursor":
		c.Pagination = Pagination{CursorPath: "meta.next", CursorParam: "cursor"}
	case "link":
		c.Pagination = Pagination{LinkHeader: true}
	case "page":
		c.Pagination = Pagination{PageParam: "page", FirstPage: 1}
	case "none":
		c.RecordsPath = ""
	}
	return c
}

// got is what a test read: each record's id and position.
type got struct {
	ids  []int64
	pos  []runtime.Position
	recs []runtime.Record
}

// sleeps records the waits a source asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newSource builds a source of cfg whose waits are recorded, not waited,
// and whose logs go to the returned buffer.
func newSource(t *testing.T, cfg Config) (*Source, *sleeps, *logBuffer) {
	t.Helper()
	s, err := NewPoll(cfg, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	sl, logs := &sleeps{}, &logBuffer{}
	s.sleep = sl.sleep
	s.UseLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return s, sl, logs
}

// readAll opens s and reads it to io.EOF (or to max records, or an error),
// in batches of batch.
func readAll(t *testing.T, s *Source, batch, max int) (got, error) {
	t.Helper()
	var g got
	if err := s.Open(context.Background()); err != nil {
		return g, err
	}
	defer s.Close()
	buf := make([]runtime.Record, batch)
	for max <= 0 || len(g.ids) < max {
		n, err := s.Read(context.Background(), buf)
		for _, r := range buf[:n] {
			g.ids = append(g.ids, r.After[r.Schema.Index("id")].AsInt())
			g.pos = append(g.pos, r.Position)
			c := r
			c.After = append([]runtime.Value(nil), r.After...)
			g.recs = append(g.recs, c)
		}
		if errors.Is(err, io.EOF) {
			return g, nil
		}
		if err != nil {
			return g, err
		}
	}
	return g, nil
}

// wantIDs fails unless ids are from..to-1 in order.
func wantIDs(t *testing.T, ids []int64, from, to int) {
	t.Helper()
	if len(ids) != to-from {
		t.Fatalf("read %d records, want %d (ids %d..%d)", len(ids), to-from, from, to-1)
	}
	for i, id := range ids {
		if id != int64(from+i) {
			t.Fatalf("record %d has id %d, want %d", i, id, from+i)
		}
	}
}

// basic renders user:password as a Basic authorization value.
func basic(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}
