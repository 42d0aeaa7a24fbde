package enrich

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsource"
)

// api serves /c/{key}: customers 1..5 ({"data": {...}}), 404 otherwise;
// fail makes it answer that status instead, while positive.
type api struct {
	requests atomic.Int64
	fail     atomic.Int64 // answers left to fail with 503
	mu       sync.Mutex
	headers  []string
	paths    []string
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	a.mu.Lock()
	a.headers = append(a.headers, r.Header.Get("X-Api-Key"))
	a.paths = append(a.paths, r.URL.EscapedPath())
	a.mu.Unlock()
	if a.fail.Add(-1) >= 0 {
		http.Error(w, "busy, key=secret-in-body", http.StatusServiceUnavailable)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/c/")
	switch key {
	case "1", "2", "3", "4", "5":
		fmt.Fprintf(w, `{"data": {"name": "c%s", "tier": "gold", "score": %s}}`, key, key)
	default:
		http.NotFound(w, r)
	}
}

func httpConfig(t testing.TB) (Config, *api) {
	t.Helper()
	a := &api{}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	cfg := Defaults()
	cfg.Name, cfg.Key, cfg.Into = "customer", "customer_id", "customer"
	cfg.HTTP = HTTP{URL: srv.URL + "/c/{{key}}", ResultPath: "data", MaxInFlight: 2,
		Headers: []httpsource.Header{{Name: "X-Api-Key", Value: "k-SECRET-1"}}}
	cfg.Schema = []Field{{"name", "string"}, {"score", "float"}}
	return cfg, a
}

// One request per key not cached, with the headers; the row at
// result_path, converted to the schema; 404 is a miss.
func TestHTTPLookup(t *testing.T) {
	cfg, a := httpConfig(t)
	s, _ := newStep(t, cfg, newClock())
	recs := records(1, 2, 1, 77)
	out := chainOf(s, nil).ProcessBatch(recs)
	for i, want := range []string{`{"name":"c1","score":1}`, `{"name":"c2","score":2}`, `{"name":"c1","score":1}`, `null`} {
		if out[i].Err != nil || into(&recs[i]) != want {
			t.Errorf("record %d: %v %s, want %s", i, out[i].Err, into(&recs[i]), want)
		}
	}
	if k := recs[0].After[2].AsObject().Values[1].Kind(); k != runtime.KindFloat {
		t.Errorf("score is %s, the schema declares float", k)
	}
	if a.requests.Load() != 3 {
		t.Errorf("%d requests, want 3 (one per distinct key)", a.requests.Load())
	}
	for _, h := range a.headers {
		if h != "k-SECRET-1" {
			t.Errorf("header %q", h)
		}
	}
}

// {{key}} is escaped: a key cannot change the url's path.
func TestHTTPKeyEscaped(t *testing.T) {
	cfg, a := httpConfig(t)
	s, _ := newStep(t, cfg, newClock())
	chainOf(s, nil).ProcessBatch(records("../admin?x=1"))
	if got := a.paths[0]; got != "/c/..%2Fadmin%3Fx=1" {
		t.Errorf("path %s", got)
	}
}

// A 503 is retried with backoff; when it lasts, the records fail with the
// status, the number of retries, naming the transform — never a header
// value or the answer's body.
func TestHTTPRetries(t *testing.T) {
	cfg, a := httpConfig(t)
	cfg.Retry = Retry{MaxRetries: 2, InitialBackoffMs: 5, MaxBackoffMs: 100}
	s, waits := newStep(t, cfg, newClock())
	a.fail.Store(1)
	recs := records(3)
	if out := chainOf(s, nil).ProcessBatch(recs); out[0].Err != nil || into(&recs[0]) != `{"name":"c3","score":3}` {
		t.Fatalf("after one 503: %v %s", out[0].Err, into(&recs[0]))
	}
	if fmt.Sprint(*waits) != "[5ms]" {
		t.Errorf("waits %v", *waits)
	}
	a.fail.Store(100)
	out := chainOf(s, nil).ProcessBatch(records(4))
	err := out[0].Err
	if err == nil || !strings.HasPrefix(err.Error(), `transform "customer": enrich: http lookup at http://127.0.0.1:`) ||
		!strings.HasSuffix(err.Error(), "answered 503 Service Unavailable (gave up after 2 retries)") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "secret-in-body") {
		t.Errorf("the error shows a secret: %v", err)
	}
}

// A server that is not there: the request fails transiently, is retried,
// then every record of the key fails.
func TestHTTPServerDown(t *testing.T) {
	cfg, _ := httpConfig(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	cfg.HTTP.URL = url + "/c/{{key}}"
	cfg.Retry.MaxRetries = 1
	s, waits := newStep(t, cfg, newClock())
	out := chainOf(s, nil).ProcessBatch(records(1, 1))
	want := `transform "customer": enrich: http lookup at ` + url + `: the request failed (gave up after 1 retry)`
	for i := range out {
		if out[i].Err == nil || out[i].Err.Error() != want {
			t.Errorf("record %d: %v\nwant %s", i, out[i].Err, want)
		}
	}
	if len(*waits) != 1 {
		t.Errorf("waits %v", *waits)
	}
}

// Entries expire after ttl_ms (found) and negative_ttl_ms (misses), on
// the step's clock.
func TestCacheTTL(t *testing.T) {
	cfg, a := httpConfig(t)
	cfg.Cache = Cache{Size: 10, TTLMs: 1000, NegativeTTLMs: 100}
	c := newClock()
	s, _ := newStep(t, cfg, c)
	ch := chainOf(s, nil)
	ask := func(wantRequests int64, keys ...any) {
		t.Helper()
		ch.ProcessBatch(records(keys...))
		if got := a.requests.Load(); got != wantRequests {
			t.Fatalf("at +%v: %d requests, want %d", c.now().Sub(newClock().now()), got, wantRequests)
		}
	}
	ask(2, 1, 99)
	ask(2, 1, 99)
	c.advance(99 * time.Millisecond)
	ask(2, 1, 99)
	c.advance(time.Millisecond) // the miss expires
	ask(3, 1, 99)
	c.advance(899 * time.Millisecond)
	ask(3, 1) // the row stays until 1000 ms
	c.advance(time.Millisecond)
	ask(4, 1)
}

// The cache keeps size entries, evicting the least recently used.
func TestCacheLRU(t *testing.T) {
	cfg, a := httpConfig(t)
	cfg.Cache = Cache{Size: 2, TTLMs: 0, NegativeTTLMs: 0}
	s, _ := newStep(t, cfg, newClock())
	ch := chainOf(s, nil)
	for _, step := range []struct {
		keys []any
		want int64
	}{
		{[]any{1, 2}, 2},
		{[]any{1}, 2}, // 1 is now the most recent
		{[]any{3}, 3}, // evicts 2
		{[]any{1}, 3},
		{[]any{2}, 4},
		{[]any{99}, 5}, // misses are not cached with negative_ttl_ms 0
		{[]any{99}, 6},
	} {
		ch.ProcessBatch(records(step.keys...))
		if got := a.requests.Load(); got != step.want {
			t.Fatalf("after %v: %d requests, want %d", step.keys, got, step.want)
		}
	}
	if s.cache.len() != 2 {
		t.Errorf("cache holds %d entries", s.cache.len())
	}
	cfg.Cache.Size = 0 // no cache: every batch asks
	s, _ = newStep(t, cfg, newClock())
	before := a.requests.Load()
	chainOf(s, nil).ProcessBatch(records(1, 1))
	chainOf(s, nil).ProcessBatch(records(1))
	if got := a.requests.Load() - before; got != 2 {
		t.Errorf("without a cache: %d requests, want 2", got)
	}
}

// Concurrent lookups of one key that is not cached make one request: the
// others wait for it.
func TestSingleFlight(t *testing.T) {
	cfg, _ := httpConfig(t)
	release := make(chan struct{})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-release
		fmt.Fprint(w, `{"data": {"name": "slow"}}`)
	}))
	t.Cleanup(srv.Close)
	cfg.HTTP.URL = srv.URL + "/c/{{key}}"
	s, _ := newStep(t, cfg, newClock())
	const n = 8
	var wg sync.WaitGroup
	results := make([]map[string]Result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = s.Lookup([]runtime.Value{runtime.Int(7)})
		}()
	}
	for { // poll until one request is in the server and the others wait for it
		s.mu.Lock()
		w := s.waiting
		s.mu.Unlock()
		if requests.Load() == 1 && w == n-1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if requests.Load() != 1 {
		t.Errorf("%d requests, want 1", requests.Load())
	}
	for i, r := range results {
		if got := string(runtime.AppendJSON(nil, r["7"].Row)); !r["7"].Found || got != `{"name":"slow","score":null}` {
			t.Errorf("caller %d: %v %s", i, r["7"].Found, got)
		}
	}
}

// The segment before a step runs over the whole batch first: the records
// it drops are not looked up, and a scope limits the step to its streams.
func TestChainSegmentsAndScope(t *testing.T) {
	cfg, a := httpConfig(t)
	s, _ := newStep(t, cfg, newClock())
	evenOnly := func(r *runtime.Record) (bool, error) { return r.After[1].AsInt()%2 == 0, nil }
	ch := chainOf(s, evenOnly)
	recs := records(1, 2, 3, 4)
	out := ch.ProcessBatch(recs)
	if a.requests.Load() != 2 {
		t.Errorf("%d requests, want 2 (records 0 and 2 only)", a.requests.Load())
	}
	if out[1].Keep || !out[0].Keep || into(&recs[2]) != `{"name":"c3","score":3}` {
		t.Errorf("outcomes %+v", out)
	}
	ch = chainOf(s, nil)
	ch.Scopes = [][]runtime.StreamRef{{{Name: "other"}}}
	recs = records(5)
	if out := ch.ProcessBatch(recs); !out[0].Keep || len(recs[0].After) != 2 || recs[0].Schema != inSchema {
		t.Errorf("a record out of scope changed: %+v %v", out[0], recs[0].After)
	}
	// Process (one record) gives what a batch of one gives.
	recs = records(2)
	if keep, err := chainOf(s, evenOnly).Process(&recs[0]); !keep || err != nil || into(&recs[0]) != `{"name":"c2","score":2}` {
		t.Errorf("Process: %v %v %s", keep, err, into(&recs[0]))
	}
}

// A key inside an object field, and a field into that the record already
// has (replaced in place).
func TestNestedKeyAndReplacedField(t *testing.T) {
	cfg, _ := httpConfig(t)
	cfg.Key, cfg.Into = "who.id", "who"
	s, _ := newStep(t, cfg, newClock())
	schema := runtime.NewSchema(runtime.Field{Name: "who", Type: runtime.Type{Kind: runtime.KindObject, Open: true}})
	o := runtime.NewObject(1).Set("id", runtime.Int(5))
	r := runtime.Record{Schema: schema, After: []runtime.Value{runtime.ObjectValue(o)}}
	if keep, err := s.Process(&r); !keep || err != nil {
		t.Fatal(keep, err)
	}
	if len(r.After) != 1 || into(&r) != `{"name":"c5","score":5}` || r.Schema.Fields[0].Type.String() != "object{name ?string, score ?float}" {
		t.Errorf("record %s, schema %v", into(&r), r.Schema.Fields)
	}
}
