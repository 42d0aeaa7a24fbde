package httpsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Every pagination style reads every record once, in order, with
// increasing offsets; a page's records carry its own token and its last
// record the next page's, and the round's last record the last page with
// all its records counted.
func TestPaginationStyles(t *testing.T) {
	tests := []struct {
		style    string
		requests int
		tokens   map[int64]string // id → token
	}{
		{"cursor", 5, map[int64]string{0: `{"cursor":""}`, 3: `{"cursor":""}`, 4: `{"cursor":"c1"}`, 5: `{"cursor":"c1"}`,
			20: `{"cursor":"c4"}`, 21: `{"cursor":"c4"}`, 22: `{"cursor":"c4","skip":3}`}},
		{"link", 5, map[int64]string{0: `{"link":""}`, 4: `{"link":"/items?after=5"}`, 5: `{"link":"/items?after=5"}`,
			21: `{"link":"/items?after=20"}`, 22: `{"link":"/items?after=20","skip":3}`}},
		// Page 5 holds 3 records; without page_size only the empty page 6 ends.
		{"page", 6, map[int64]string{0: `{"page":1}`, 4: `{"page":2}`, 5: `{"page":2}`, 21: `{"page":5}`, 22: `{"page":6}`}},
		{"none", 1, map[int64]string{0: `{"skip":0}`, 21: `{"skip":0}`, 22: `{"skip":23}`}},
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			api := newFakeAPI(t, tt.style, 23, 5)
			s, _, _ := newSource(t, api.config())
			g, err := readAll(t, s, 4, 0)
			if err != nil {
				t.Fatal(err)
			}
			wantIDs(t, g.ids, 0, 23)
			for i, p := range g.pos {
				if p.Offset != uint64(i) {
					t.Fatalf("record %d has offset %d", i, p.Offset)
				}
				if want, ok := tt.tokens[g.ids[i]]; ok && p.Token != want {
					t.Errorf("record %d: token %s, want %s", g.ids[i], p.Token, want)
				}
			}
			if got := api.count(); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
			if g.recs[0].Stream != "items" || g.recs[0].Op != runtime.OpRecord || !g.recs[0].Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("record %+v", g.recs[0])
			}
		})
	}
}

// A page size ends the page style at the first short page, and
// total_pages_path at the page it counts.
func TestPageStopConditions(t *testing.T) {
	api := newFakeAPI(t, "page", 23, 5)
	cfg := api.config()
	cfg.Pagination.PageSize, cfg.Pagination.PageSizeParam = 5, "per_page"
	s, _, _ := newSource(t, cfg)
	g, err := readAll(t, s, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, g.ids, 0, 23)
	if n := api.count(); n != 5 {
		t.Errorf("%d requests with page_size, want 5 (the short page 5 is the last)", n)
	}
	if q := api.reqs[0].URL.RawQuery; q != "page=1&per_page=5" {
		t.Errorf("query %q", q)
	}
	if tok := g.pos[22].Token; tok != `{"page":5,"skip":3}` {
		t.Errorf("last token %s", tok)
	}

	// {"data":…,"pages":2} on a server with 4 full pages: 2 are read.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"pages":2,"data":[%s,%s]}`, record(0), record(1))
	}))
	defer srv.Close()
	s2, _, _ := newSource(t, Config{URL: srv.URL, AtEnd: AtEndStop, RecordsPath: "data",
		Pagination: Pagination{PageParam: "p", FirstPage: 0, TotalPagesPath: "pages"}})
	g2, err := readAll(t, s2, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(g2.ids) != 4 || g2.pos[3].Token != `{"page":1,"skip":2}` {
		t.Errorf("read %v, last %v", g2.ids, g2.pos[len(g2.pos)-1])
	}
}

// records_path takes dotted keys, $ roots, indexes and quoted keys; a
// missing records array is an empty page, anything else but an array an
// error naming the path.
func TestRecordsPath(t *testing.T) {
	body := `{"a.b":{"rows":[[{"id":1},{"id":2}]]},"n":null,"o":{"id":3}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	for _, tt := range []struct {
		path string
		ids  int
		err  string
	}{
		{`["a.b"].rows[0]`, 2, ""},
		{`$['a.b'].rows[0]`, 2, ""},
		{`$["a.b"]["rows"][0]`, 2, ""},
		{"n", 0, ""},
		{"missing.deeper", 0, ""},
		{"o", 0, `records_path "o" in the response of ` + srv.URL + ` is an object, not an array of records`},
		{"", 0, `the response of ` + srv.URL + ` is an object, not an array of records`},
	} {
		s, _, _ := newSource(t, Config{URL: srv.URL, AtEnd: AtEndStop, RecordsPath: tt.path})
		g, err := readAll(t, s, 10, 0)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: got %v, want %s", tt.path, err, tt.err)
		case tt.err == "" && (err != nil || len(g.ids) != tt.ids):
			t.Errorf("%s: read %v (%v), want %d records", tt.path, g.ids, err, tt.ids)
		}
	}
}

func TestParsePath(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "$": "", "$.data.items": "data.items", "data.items[2].x": "data.items[2].x",
		`a["b.c"]`: `a["b.c"]`, `['a']`: "a", "$[0]": "[0]",
	} {
		p, err := ParsePath(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePath(%q) = %q, %v; want %q", in, p.String(), err, want)
		}
	}
	for _, bad := range []string{"a..b", "a.", ".a", "a[", "a[x]", "a[-1]", `a["b]`, "a.[0]"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted", bad)
		}
	}
}

// A restart at any acknowledged position delivers every later record, and
// again at most the records of the acknowledged record's own page (none
// when it was the page's last).
func TestResumeRedeliversAtMostOnePage(t *testing.T) {
	const n, per = 23, 5
	for _, style := range []string{"cursor", "link", "page", "none"} {
		t.Run(style, func(t *testing.T) {
			api := newFakeAPI(t, style, n, per)
			s, _, _ := newSource(t, api.config())
			all, err := readAll(t, s, 3, 0)
			if err != nil {
				t.Fatal(err)
			}
			for k, pos := range all.pos {
				r, _, _ := newSource(t, api.config())
				if err := r.Resume(pos); err != nil {
					t.Fatalf("resume at %v: %v", pos, err)
				}
				g, err := readAll(t, r, 7, 0)
				if err != nil {
					t.Fatal(err)
				}
				from := k + 1 // the last record of a page: nothing again
				if (k+1)%per != 0 && k+1 != n {
					from = k / per * per // its page again
				}
				if style == "none" && k+1 != n {
					from = 0 // one page
				}
				if k+1 == n {
					if len(g.ids) != 0 {
						t.Fatalf("resumed after the last record: read %v", g.ids)
					}
					continue
				}
				wantIDs(t, g.ids, from, n)
				if g.pos[0].Offset != pos.Offset+1 {
					t.Errorf("resumed at offset %d: first offset %d", pos.Offset, g.pos[0].Offset)
				}
			}
		})
	}
}

func TestResumeRefusesOtherPositions(t *testing.T) {
	api := newFakeAPI(t, "cursor", 5, 5)
	s, _, _ := newSource(t, api.config())
	for tok, want := range map[string]string{
		"":                        "the saved position holds no page",
		`{"page":3}`:              `the saved position {"page":3} does not hold a cursor`,
		`{"cursor":1}`:            "does not hold a cursor",
		`{"cursor":"c1"}x`:        "does not hold a cursor",
		`{"cursor":"","skip":-1}`: "does not hold a cursor",
	} {
		err := s.Resume(runtime.Position{Offset: 4, Token: tok})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "delete the pipeline's state file") {
			t.Errorf("Resume(%q) = %v, want %q", tok, err, want)
		}
	}
}

// at_end tail reads the last page again after interval_ms and delivers
// only its new records, then follows the next page when one appears;
// restart reads from the first page again.
func TestAtEnd(t *testing.T) {
	t.Run("tail", func(t *testing.T) {
		api := newFakeAPI(t, "cursor", 12, 5)
		cfg := api.config()
		cfg.AtEnd, cfg.IntervalMs = AtEndTail, 1500
		s, sl, _ := newSource(t, cfg)
		g, err := readAll(t, s, 100, 12)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, g.ids, 0, 12)
		if tok := g.pos[11].Token; tok != `{"cursor":"c2","skip":2}` {
			t.Errorf("end of round token %s", tok)
		}
		api.grow(7)
		g2 := readMore(t, s, 7)
		wantIDs(t, g2.ids, 12, 19)
		if d := sl.all(); len(d) != 1 || d[0] != 1500*time.Millisecond {
			t.Errorf("waits %v, want one of interval_ms", d)
		}
		want := map[int64]string{12: `{"cursor":"c2","skip":2}`, 14: `{"cursor":"c3"}`, 15: `{"cursor":"c3"}`, 18: `{"cursor":"c3","skip":4}`}
		for i, id := range g2.ids {
			if w, ok := want[id]; ok && g2.pos[i].Token != w {
				t.Errorf("id %d: token %s, want %s", id, g2.pos[i].Token, w)
			}
		}
	})
	t.Run("tail-none", func(t *testing.T) {
		api := newFakeAPI(t, "none", 3, 0)
		cfg := api.config()
		cfg.AtEnd = AtEndTail
		s, _, _ := newSource(t, cfg)
		if g, err := readAll(t, s, 100, 3); err != nil || len(g.ids) != 3 {
			t.Fatal(g.ids, err)
		}
		api.grow(2)
		g := readMore(t, s, 2)
		wantIDs(t, g.ids, 3, 5)
		if g.pos[1].Token != `{"skip":5}` || g.pos[0].Token != `{"skip":3}` {
			t.Errorf("tokens %v", g.pos)
		}
	})
	t.Run("restart", func(t *testing.T) {
		api := newFakeAPI(t, "cursor", 6, 5)
		cfg := api.config()
		cfg.AtEnd = AtEndRestart
		s, sl, _ := newSource(t, cfg)
		g, err := readAll(t, s, 4, 12)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range g.ids {
			if id != int64(i%6) {
				t.Fatalf("ids %v: want two rounds of 0..5", g.ids)
			}
		}
		if tok := g.pos[5].Token; tok != `{"cursor":""}` {
			t.Errorf("a round's last record has token %s, want the first page's", tok)
		}
		if d := sl.all(); len(d) != 1 {
			t.Errorf("waits %v, want one", d)
		}
	})
}

// readMore reads k more records from an open source (fewer if it ends).
func readMore(t *testing.T, s *Source, k int) got {
	t.Helper()
	var g got
	buf := make([]runtime.Record, 3)
	for len(g.ids) < k {
		n, err := s.Read(context.Background(), buf)
		for _, r := range buf[:n] {
			g.ids = append(g.ids, r.After[r.Schema.Index("id")].AsInt())
			g.pos = append(g.pos, r.Position)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// 429 and 503 are retried, waiting Retry-After (at most max_backoff_ms)
// or the backoff; after max_retries the source fails naming the answer.
func TestRetries(t *testing.T) {
	t.Run("retry-after", func(t *testing.T) {
		api := newFakeAPI(t, "cursor", 12, 5)
		api.fail = func(k int) (int, string) {
			switch k {
			case 1:
				return http.StatusTooManyRequests, "1"
			case 2:
				return http.StatusServiceUnavailable, ""
			case 4:
				return http.StatusServiceUnavailable, "60" // capped at max_backoff_ms
			case 5:
				return http.StatusBadGateway, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
			}
			return 0, ""
		}
		s, sl, logs := newSource(t, api.config())
		g, err := readAll(t, s, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, g.ids, 0, 12)
		d := sl.all()
		if len(d) != 4 || d[0] != time.Second || d[1] < 100*time.Millisecond || d[1] > 200*time.Millisecond ||
			d[2] != 2*time.Second || d[3] != 2*time.Second {
			t.Errorf("waits %v, want [1s, 100ms..200ms, 2s, 2s]", d)
		}
		if !strings.Contains(logs.String(), "429 Too Many Requests") || !strings.Contains(logs.String(), "retrying") {
			t.Errorf("logs:\n%s", logs)
		}
	})
	t.Run("gives-up", func(t *testing.T) {
		api := newFakeAPI(t, "cursor", 12, 5)
		api.fail = func(k int) (int, string) { return http.StatusServiceUnavailable, "" }
		s, sl, _ := newSource(t, api.config())
		_, err := readAll(t, s, 100, 0)
		want := "http source: " + api.url() + " answered 503 Service Unavailable (gave up after 3 retries)"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
		if d := sl.all(); len(d) != 3 || d[2] < 200*time.Millisecond || d[2] > 400*time.Millisecond {
			t.Errorf("waits %v: want 3 doubling", d)
		}
	})
	t.Run("not-retried", func(t *testing.T) {
		api := newFakeAPI(t, "cursor", 12, 5)
		api.fail = func(k int) (int, string) { return http.StatusNotFound, "" }
		s, sl, _ := newSource(t, api.config())
		_, err := readAll(t, s, 100, 0)
		if err == nil || err.Error() != "http source: "+api.url()+" answered 404 Not Found" || len(sl.all()) != 0 {
			t.Fatalf("got %v after %v", err, sl.all())
		}
	})
	t.Run("unreachable-at-open", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/items"
		srv.Close()
		s, sl, _ := newSource(t, Config{URL: url, Retry: Retry{MaxRetries: 5}})
		err := s.Open(context.Background())
		if err == nil || !strings.HasPrefix(err.Error(), "http source: cannot reach "+url+": ") || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("got %v", err)
		}
		if len(sl.all()) != 0 {
			t.Errorf("retried an unreachable server at start: %v", sl.all())
		}
	})
	t.Run("unreachable-later", func(t *testing.T) {
		api := newFakeAPI(t, "cursor", 12, 5)
		s, sl, _ := newSource(t, api.config())
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		buf := make([]runtime.Record, 5)
		if n, err := s.Read(context.Background(), buf); n != 5 || err != nil {
			t.Fatal(n, err)
		}
		api.srv.Close()
		_, err := s.Read(context.Background(), buf)
		if err == nil || !strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "(gave up after 3 retries)") {
			t.Fatalf("got %v", err)
		}
		if len(sl.all()) != 3 {
			t.Errorf("waits %v", sl.all())
		}
	})
}

// rate_limit spaces requests: n requests at r per second take at least
// (n-1)/r seconds.
func TestRateLimit(t *testing.T) {
	api := newFakeAPI(t, "cursor", 25, 5)
	cfg := api.config()
	cfg.RateLimit = 40
	s, _, _ := newSource(t, cfg)
	start := time.Now()
	if _, err := readAll(t, s, 100, 0); err != nil {
		t.Fatal(err)
	}
	if el, n := time.Since(start), api.count(); n != 5 || el < 100*time.Millisecond {
		t.Errorf("%d requests in %v: want 5, at least 100ms apart in total at 40/s", n, el)
	}
}

// A POST body carries the cursor ({{cursor}}: null, then "cN").
func TestBodyTemplate(t *testing.T) {
	api := newFakeAPI(t, "cursor", 12, 5)
	cfg := api.config()
	cfg.Method, cfg.Body = "POST", `{"cursor": {{cursor}}, "limit": 5}`
	cfg.Pagination.CursorParam = ""
	s, _, _ := newSource(t, cfg)
	g, err := readAll(t, s, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, g.ids, 0, 12)
	if api.reqs[1].Method != "POST" || api.reqs[1].URL.RawQuery != "" || api.reqs[1].Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %v", api.reqs[1].Method, api.reqs[1].URL, api.reqs[1].Header)
	}
}

// A declared schema gives every record the same schema, converts ints to
// floats, leaves missing fields null and drops undeclared keys; a value
// of another type stops the source after the records before it, naming
// the field but not the value.
func TestDeclaredSchema(t *testing.T) {
	api := newFakeAPI(t, "cursor", 12, 5)
	cfg := api.config()
	cfg.Schema = []Field{{"id", "int"}, {"price", "float"}, {"missing", "string"}, {"tags", "array<string>"}}
	s, _, _ := newSource(t, cfg)
	g, err := readAll(t, s, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, g.ids, 0, 12)
	for i, r := range g.recs {
		if r.Schema != g.recs[0].Schema || len(r.After) != 4 {
			t.Fatalf("record %d: schema %v, row %v", i, r.Schema.Names(), r.After)
		}
		if p := r.After[1]; p.Kind() != runtime.KindFloat || p.AsFloat() != float64(i)/2 || !r.After[2].IsNull() {
			t.Errorf("record %d: row %v", i, r.After)
		}
	}

	cfg.Schema = []Field{{"id", "int"}, {"price", "int"}}
	s2, _, _ := newSource(t, cfg)
	g2, err := readAll(t, s2, 100, 0)
	want := `http source: record [1] of page {"cursor":""}: field "price" holds a float, but the declared schema says int`
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "0.5") {
		t.Fatalf("got %v, want %s…", err, want)
	}
	if len(g2.ids) != 1 || g2.recs[0].After[1].AsInt() != 0 {
		t.Errorf("before the bad record: %v", g2.ids)
	}

	cfg.Schema = []Field{{"id", "int"}, {"tags", "array<int>"}}
	s3, _, _ := newSource(t, cfg)
	if _, err := readAll(t, s3, 100, 0); err == nil || !strings.Contains(err.Error(), `field "tags"[0] holds a string, but the declared schema says int`) {
		t.Errorf("got %v", err)
	}
}

// Without a declared schema each distinct key list gets one shared
// schema, a non-object element the row {"value": …}, and values keep their
// JSON text.
func TestInferredSchemas(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"a":1},{"a":2.50},{"b":"x","a":{"k":[1,1.0]}},5]`)
	}))
	defer srv.Close()
	s, _, _ := newSource(t, Config{URL: srv.URL, AtEnd: AtEndStop})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	buf := make([]runtime.Record, 10)
	n, err := s.Read(context.Background(), buf)
	if n != 4 || !errors.Is(err, io.EOF) {
		t.Fatal(n, err)
	}
	if buf[0].Schema != buf[1].Schema || buf[2].Schema == buf[0].Schema || strings.Join(buf[2].Schema.Names(), ",") != "b,a" ||
		strings.Join(buf[3].Schema.Names(), ",") != "value" || buf[3].After[0].AsInt() != 5 {
		t.Errorf("schemas %v %v %v %v", buf[0].Schema.Names(), buf[1].Schema.Names(), buf[2].Schema.Names(), buf[3].Schema.Names())
	}
	var line []byte
	line = runtime.AppendData(line, &buf[1], "", 0)
	line = runtime.AppendData(line, &buf[2], "", 0)
	if got := string(line); got != `{"a":2.50}{"b":"x","a":{"k":[1,1.0]}}` {
		t.Errorf("JSON text not kept: %s", got)
	}
}

// Validate refuses what New cannot run, naming the key, never a value.
func TestConfigValidate(t *testing.T) {
	base := Config{URL: "https://api.example.com/x"}
	for _, tt := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.URL = "ftp://x" }, "url is not an http:// or https:// URL"},
		{func(c *Config) { c.URL = "https://" }, "url is not an http:// or https:// URL"},
		{func(c *Config) { c.Body = "{}" }, "body is sent with method POST only"},
		{func(c *Config) { c.RecordsPath = "a..b" }, "records_path"},
		{func(c *Config) { c.Pagination = Pagination{CursorPath: "n"} }, "needs cursor_param"},
		{func(c *Config) { c.Pagination = Pagination{CursorPath: "n", CursorParam: "c", LinkHeader: true} }, "pagination takes one style"},
		{func(c *Config) { c.Auth = Auth{Bearer: Bearer{"t"}, Basic: Basic{"u", "p"}} }, "auth takes one method"},
		{func(c *Config) { c.Headers = []Header{{"Bad Name", "v"}} }, `"Bad Name" is not a header name`},
		{func(c *Config) { c.Headers = []Header{{"X-Key", "secret\r\nvalue"}} }, "the value of X-Key holds a line break"},
		{func(c *Config) { c.Schema = []Field{{"a", "int"}, {"a", "int"}} }, `field "a" is declared twice`},
		{func(c *Config) { c.Schema = []Field{{"a", "decimal"}} }, `schema.a: record type "decimal": unknown type`},
		{func(c *Config) { c.Pagination = Pagination{PageParam: "p", PageSizeParam: "n"} }, "page_size_param needs page_size"},
	} {
		c := base
		tt.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q", c, err, tt.want)
		}
		if strings.Contains(fmt.Sprint(c.Validate()), "secret") {
			t.Errorf("a message shows a header value: %v", c.Validate())
		}
	}
	if err := base.Validate(); err != nil {
		t.Error(err)
	}
}

func TestDiscoverInfersTheFirstPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"items":[{"id":1,"price":2,"tags":[],"o":{"a":null},"n":null,"m":1},`+
			`{"id":2,"price":2.5,"tags":["x"],"o":{"a":"s","b":true},"n":null,"m":"x","late":[1,2.5]}]}`)
	}))
	defer srv.Close()
	s, _, _ := newSource(t, Config{URL: srv.URL, RecordsPath: "items", Stream: "things"})
	ds, err := s.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Name != "things" {
		t.Fatalf("%+v", ds)
	}
	var parts []string
	for _, f := range ds[0].Schema.Fields {
		parts = append(parts, f.Name+" "+f.Type.String())
	}
	want := "id int, price float, tags array<string>, o object{a ?string, b ?bool, ...}, n any, m any, late array<float>"
	if got := strings.Join(parts, ", "); got != want {
		t.Errorf("discovered %s\nwant       %s", got, want)
	}
}

// A page without records ends the round even when it names a next page:
// stop ends there; tail follows that next page after interval_ms, not at
// once.
func TestEmptyPagesWithCursors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch c := r.URL.Query().Get("c"); c {
		case "":
			fmt.Fprintf(w, `{"items":[%s,%s],"next":"a"}`, record(0), record(1))
		case "a", "b":
			fmt.Fprintf(w, `{"items":[],"next":"%c"}`, c[0]+1)
		default:
			fmt.Fprintf(w, `{"items":[%s]}`, record(2))
		}
	}))
	defer srv.Close()
	cfg := Config{URL: srv.URL, RecordsPath: "items", AtEnd: AtEndStop, IntervalMs: 700, Pagination: Pagination{CursorPath: "next", CursorParam: "c"}}
	s, sl, _ := newSource(t, cfg)
	g, err := readAll(t, s, 10, 0)
	if err != nil || len(g.ids) != 2 || len(sl.all()) != 0 {
		t.Fatalf("stop: read %v (%v), waits %v", g.ids, err, sl.all())
	}
	cfg.AtEnd = AtEndTail
	s2, sl2, _ := newSource(t, cfg)
	g2, err := readAll(t, s2, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, g2.ids, 0, 3)
	if d := sl2.all(); len(d) != 2 || d[0] != 700*time.Millisecond || d[1] != 700*time.Millisecond {
		t.Errorf("waits %v, want two of interval_ms (after each empty page)", d)
	}
	if g2.pos[1].Token != `{"cursor":"a"}` || g2.pos[2].Token != `{"cursor":"c","skip":1}` {
		t.Errorf("positions %v", g2.pos)
	}
}
