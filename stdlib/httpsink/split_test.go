package httpsink

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

func testRecords(n int, text func(i int) string) []runtime.Record {
	s := runtime.NewSchema(
		runtime.Field{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "text", Type: runtime.Type{Kind: runtime.KindString}},
	)
	out := make([]runtime.Record, n)
	for i := range out {
		out[i] = runtime.Record{Stream: "s", Op: runtime.OpInsert, Schema: s,
			After: []runtime.Value{runtime.Int(int64(i)), runtime.String(text(i))}, Position: runtime.Position{Offset: uint64(100 + i)}}
	}
	return out
}

// Every body split makes is valid in its format, holds its records in
// order, keeps within max_batch_records and max_batch_bytes (a record
// larger than that goes alone), and no record is in two bodies.
func TestSplitBodies(t *testing.T) {
	text := func(i int) string { return strings.Repeat("x", (i*37)%300) }
	for _, format := range []string{FormatNDJSON, FormatJSONArray, FormatJSON} {
		for _, lim := range []struct{ recs, bytes int }{{500, 4 << 20}, {7, 1 << 20}, {1000, 1024}, {1, 1024}} {
			name := fmt.Sprintf("%s/%d-records/%d-bytes", format, lim.recs, lim.bytes)
			t.Run(name, func(t *testing.T) {
				cfg := Defaults("http://127.0.0.1:1/x")
				cfg.Format, cfg.MaxBatchRecords, cfg.MaxBatchBytes = format, lim.recs, lim.bytes
				s, err := New(cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				recs := testRecords(200, text)
				recs = append(recs, testRecords(1, func(int) string { return strings.Repeat("y", 3000) })...)
				recs[200].Position.Offset, recs[200].After[0] = 300, runtime.Int(200)
				s.done = map[uint64]struct{}{105: {}, 106: {}} // taken by the server before
				blk := &block{}
				reqs := s.split(blk, recs, nil)
				next := 0
				for _, rq := range reqs {
					body := blk.buf[rq.lo:rq.hi]
					var objs []json.RawMessage
					switch format {
					case FormatNDJSON:
						if body[len(body)-1] != '\n' {
							t.Fatalf("NDJSON body does not end with a newline: %q", body)
						}
						for _, l := range strings.Split(string(body[:len(body)-1]), "\n") {
							objs = append(objs, json.RawMessage(l))
						}
					case FormatJSONArray:
						if err := json.Unmarshal(body, &objs); err != nil {
							t.Fatalf("JSON array body %q: %v", body, err)
						}
					case FormatJSON:
						objs = []json.RawMessage{body}
					}
					if len(objs) != rq.n || (format == FormatJSON && rq.n != 1) || rq.n > lim.recs {
						t.Fatalf("request of %d records (n=%d) in a body of %d objects", rq.n, rq.n, len(objs))
					}
					if len(body) > lim.bytes && rq.n > 1 && format != FormatJSON {
						t.Fatalf("body of %d bytes and %d records, over max_batch_bytes %d", len(body), rq.n, lim.bytes)
					}
					for _, o := range objs {
						var ev struct {
							Data struct{ N int } `json:"data"`
						}
						if err := json.Unmarshal(o, &ev); err != nil {
							t.Fatalf("%s: %v", o, err)
						}
						if next == 5 {
							next = 7 // 105 and 106 are done
						}
						if ev.Data.N != next {
							t.Fatalf("record %d where %d comes next", ev.Data.N, next)
						}
						next++
					}
					if rq.first != recs[rq.from].Position.Offset || rq.last != recs[rq.to].Position.Offset {
						t.Fatalf("request positions %d..%d, records %d..%d", rq.first, rq.last, rq.from, rq.to)
					}
				}
				if next != 201 {
					t.Fatalf("bodies hold records up to %d, want all 201", next)
				}
			})
		}
	}
}

// Statuses are classed as documented, with successful_on, retry_on and
// drop_on overriding the defaults.
func TestClasses(t *testing.T) {
	cfg := Defaults("http://x/")
	cfg.SuccessfulOn, cfg.RetryOn, cfg.DropOn = []int{409}, []int{425}, []int{501, 404}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]class{
		200: success, 204: success, 299: success, 409: success,
		408: retry, 425: retry, 429: retry, 500: retry, 503: retry, 599: retry,
		501: permanent, 404: permanent, 400: permanent, 301: permanent, 302: permanent, 100: permanent, 600: permanent, -1: permanent,
	} {
		if got := s.classOf(code); got != want {
			t.Errorf("status %d: class %d, want %d", code, got, want)
		}
	}
}

// Retry-After is read as seconds or an HTTP date; the backoff doubles from
// initial_backoff_ms with jitter in its upper half, capped by
// max_backoff_ms, which also caps Retry-After.
func TestBackoff(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"0": 0, "7": 7 * time.Second, " 2 ": 2 * time.Second,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got, ok := retryAfter(h, now); !ok || got != want {
			t.Errorf("Retry-After %q: %v, %v; want %v", h, got, ok, want)
		}
	}
	for _, h := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := retryAfter(h, now); ok {
			t.Errorf("Retry-After %q was read", h)
		}
	}
	cfg := Defaults("http://x/")
	cfg.Retry = Retry{MaxRetries: 10, InitialBackoffMs: 100, MaxBackoffMs: 1000}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n, full := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		full *= time.Millisecond
		for range 50 {
			if got := s.backoff(n, outcome{}); got < full/2 || got > full {
				t.Fatalf("backoff %d: %v, want within [%v, %v]", n, got, full/2, full)
			}
		}
	}
	if got := s.backoff(0, outcome{wait: 5 * time.Second, after: true}); got != time.Second {
		t.Errorf("Retry-After 5 s waits %v, want max_backoff_ms (1 s)", got)
	}
	if got := s.backoff(3, outcome{wait: 20 * time.Millisecond, after: true}); got != 20*time.Millisecond {
		t.Errorf("Retry-After 20 ms waits %v", got)
	}
}

// Validate refuses what New cannot use, naming the key.
func TestValidate(t *testing.T) {
	ok := Defaults("https://api.example.com/v1/events?x=1")
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for want, change := range map[string]func(c *Config){
		"url is missing": func(c *Config) { c.URL = "" },
		"url must start with http:// or https://":    func(c *Config) { c.URL = "ftp://x/" },
		"url has no host":                            func(c *Config) { c.URL = "http:///x" },
		"url holds credentials":                      func(c *Config) { c.URL = "http://u:p@x/" },
		"url has a #fragment":                        func(c *Config) { c.URL = "http://x/#a" },
		`method "GET" is not one of`:                 func(c *Config) { c.Method = "GET" },
		`format "csv" is not one of`:                 func(c *Config) { c.Format = "csv" },
		`envelope "avro" is not one of`:              func(c *Config) { c.Envelope = "avro" },
		"max_in_flight 0 is below 1":                 func(c *Config) { c.MaxInFlight = 0 },
		"max_batch_bytes 10 is below 1024":           func(c *Config) { c.MaxBatchBytes = 10 },
		"retry.initial_backoff_ms 0 is below 1":      func(c *Config) { c.Retry.InitialBackoffMs = 0 },
		`headers: "Bad Name" is not a valid header`:  func(c *Config) { c.Headers = []Header{{Name: "Bad Name"}} },
		"headers: X-A is given twice":                func(c *Config) { c.Headers = []Header{{Name: "x-a"}, {Name: "X-A"}} },
		"headers.Host is set by the HTTP client":     func(c *Config) { c.Headers = []Header{{Name: "Host", Value: "h"}} },
		"headers.authorization and auth both set":    func(c *Config) { c.Headers = []Header{{Name: "authorization"}}; c.Auth.Bearer.Token = "t" },
		"headers.Idempotency-Key is the idempotency": func(c *Config) { c.Headers = []Header{{Name: "Idempotency-Key"}} },
		`idempotency_header "a b" is not a valid`:    func(c *Config) { c.IdempotencyHeader = "a b" },
		"auth: give one method":                      func(c *Config) { c.Auth = Auth{Basic: Basic{Username: "u"}, Bearer: Bearer{Token: "t"}} },
		"auth.basic.username must not contain ':'":   func(c *Config) { c.Auth.Basic = Basic{Username: "a:b"} },
		"tls.cert_path and tls.key_path go together": func(c *Config) { c.TLS.CertPath = "/c" },
		"drop_on: 99 is not an HTTP status":          func(c *Config) { c.DropOn = []int{99} },
		"successful_on and retry_on both list 409":   func(c *Config) { c.SuccessfulOn, c.RetryOn = []int{409}, []int{409} },
	} {
		c := ok
		change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
		if _, nerr := New(c, nil); nerr == nil || !strings.HasPrefix(nerr.Error(), "http sink: ") {
			t.Errorf("%s: New returned %v", want, nerr)
		}
	}
	hidden := Defaults("http://secret-host.example/x?k=v")
	hidden.HideURL = true
	s, err := New(hidden, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.target != "the url (from the environment)" {
		t.Errorf("a url from the environment is shown as %q", s.target)
	}
	s, _ = New(Defaults("http://host.example/x?k=secret-value"), nil)
	if s.target != "http://host.example/x?…" {
		t.Errorf("a url with a query is shown as %q", s.target)
	}
}
