package httpsource

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// webhookConfig is a webhook-mode config listening on a free loopback
// port.
func webhookConfig() Config {
	return Config{Mode: ModeWebhook, Listen: Listen{Address: "127.0.0.1:0"}, Stream: "hooks", TimeoutMs: 30000}
}

// openWebhook builds and opens a webhook source of cfg; the test closes
// it. It returns the source and the URL to POST to.
func openWebhook(t *testing.T, cfg Config) (*Webhook, string, *logBuffer) {
	t.Helper()
	w, err := NewWebhook(cfg, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	w.UseLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := w.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, "http://" + w.Addr().String() + orDefault(cfg.Listen.Path, "/"), logs
}

// answer is a request's outcome.
type answer struct {
	status int
	header http.Header
	body   string
	err    error
}

// send POSTs body to url with headers in the background; the channel
// gets the answer.
func send(url, body string, headers ...string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			ch <- answer{err: err}
			return
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		ch <- answer{status: res.StatusCode, header: res.Header, body: string(b)}
	}()
	return ch
}

// wait returns the answer on ch (failing the test when none comes in 10 s:
// a guard against a hang, not a timed assertion).
func wait(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		if a.err != nil {
			t.Fatal(a.err)
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer in 10 s")
	}
	return answer{}
}

// pending reports whether ch has no answer yet (an answer, if any, is
// consumed: the test fails then).
func pending(ch <-chan answer) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// readN reads exactly n records from w.
func readN(t *testing.T, w *Webhook, n int) []runtime.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []runtime.Record
	batch := make([]runtime.Record, 4)
	for len(out) < n {
		k, err := w.Read(ctx, batch[:min(len(batch), n-len(out))])
		if err != nil {
			t.Fatalf("Read after %d records: %v", len(out), err)
		}
		out = append(out, batch[:k]...)
	}
	return out
}

// queued is the number of records accepted and not yet read.
func (w *Webhook) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) - w.head
}

// waitQueued polls until w holds n unread records.
func waitQueued(t *testing.T, w *Webhook, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records queued, want %d", w.queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func ids(recs []runtime.Record) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.After[r.Schema.Index("id")].AsInt())
	}
	return out
}

// A JSON array, one object, an array at records_path and NDJSON each
// become records of the stream, numbered from 0, with the request's time;
// every request is answered 204 once its records are acknowledged.
func TestWebhookBodies(t *testing.T) {
	cfg := webhookConfig()
	cfg.RecordsPath = "data"
	w, url, _ := openWebhook(t, cfg)
	cases := []struct {
		body, ctype string
		want        []int64
	}{
		{`{"data": [{"id": 1, "name": "a"}, {"id": 2}]}`, "application/json", []int64{1, 2}},
		{`{"data": {"id": 3}}`, "application/json; charset=utf-8", []int64{3}},
		{"{\"data\": [{\"id\": 4}]}\n\n{\"data\": {\"id\": 5}}\n", "application/x-ndjson", []int64{4, 5}},
	}
	off := uint64(0)
	for _, c := range cases {
		ch := send(url, c.body, "Content-Type", c.ctype)
		recs := readN(t, w, len(c.want))
		if got := ids(recs); !equalIDs(got, c.want) {
			t.Fatalf("%s: ids %v, want %v", c.body, got, c.want)
		}
		for _, r := range recs {
			if r.Stream != "hooks" || r.Op != runtime.OpRecord || r.Position != (runtime.Position{Offset: off}) ||
				!r.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Fatalf("record %+v (want offset %d)", r, off)
			}
			off++
		}
		if err := w.Ack(context.Background(), recs[len(recs)-1].Position); err != nil {
			t.Fatal(err)
		}
		if a := wait(t, ch); a.status != http.StatusNoContent {
			t.Fatalf("%s: answered %d %s", c.body, a.status, a.body)
		}
	}
	// Learned fields keep the object's key order.
	ch := send(url, `{"data": [{"z": 1, "id": 6}]}`)
	r := readN(t, w, 1)[0]
	if got := r.Schema.Fields[0].Name + "," + r.Schema.Fields[1].Name; got != "z,id" {
		t.Errorf("fields %s", got)
	}
	_ = w.Ack(context.Background(), r.Position)
	wait(t, ch)
	// A body without records is answered at once.
	if a := wait(t, send(url, `{"data": []}`)); a.status != http.StatusNoContent {
		t.Errorf("empty: %d %s", a.status, a.body)
	}
	if a := wait(t, send(url, `{"other": 1}`)); a.status != http.StatusNoContent {
		t.Errorf("no records_path: %d %s", a.status, a.body)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A request is answered only once every one of its records is
// acknowledged: not when they are read, nor when an earlier part of them
// is acknowledged.
func TestWebhookAnswersOnlyAfterAck(t *testing.T) {
	w, url, _ := openWebhook(t, webhookConfig())
	first := send(url, `[{"id": 1}, {"id": 2}]`)
	a := readN(t, w, 2) // read: the request's records are all queued
	second := send(url, `[{"id": 3}]`)
	b := readN(t, w, 1)
	if !pending(first) || !pending(second) {
		t.Fatal("answered before any Ack")
	}
	if err := w.Ack(context.Background(), a[0].Position); err != nil {
		t.Fatal(err)
	}
	// Ack is synchronous: a request it reaches is answered when it returns.
	w.mu.Lock()
	waiting := len(w.waiting)
	w.mu.Unlock()
	if waiting != 2 || !pending(first) {
		t.Fatalf("after a partial Ack %d requests wait, want 2", waiting)
	}
	if err := w.Ack(context.Background(), a[1].Position); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, first); got.status != http.StatusNoContent {
		t.Fatalf("first: %d %s", got.status, got.body)
	}
	if !pending(second) {
		t.Fatal("second answered with the first")
	}
	_ = w.Ack(context.Background(), b[0].Position)
	if got := wait(t, second); got.status != http.StatusNoContent {
		t.Fatalf("second: %d %s", got.status, got.body)
	}
}

// A full buffer answers 503 with Retry-After, without blocking or
// dropping: the records are taken again once Read made room. A request
// larger than the buffer is taken when it is empty.
func TestWebhookBackPressure(t *testing.T) {
	cfg := webhookConfig()
	cfg.Listen.MaxBufferedRecords = 2
	w, url, _ := openWebhook(t, cfg)
	held := send(url, `[{"id": 1}, {"id": 2}]`)
	waitQueued(t, w, 2)
	a := wait(t, send(url, `[{"id": 3}]`))
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" || !strings.Contains(a.body, "buffer is full") {
		t.Fatalf("full buffer: %d %q %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	if w.queued() != 2 {
		t.Fatalf("%d records queued after a refused request, want 2", w.queued())
	}
	got := readN(t, w, 2)
	retried := send(url, `[{"id": 3}]`)
	got = append(got, readN(t, w, 1)...)
	if ids := ids(got); !equalIDs(ids, []int64{1, 2, 3}) {
		t.Fatalf("ids %v", ids)
	}
	big := send(url, `[{"id": 4}, {"id": 5}, {"id": 6}]`)
	got = append(got, readN(t, w, 3)...)
	_ = w.Ack(context.Background(), got[len(got)-1].Position)
	for _, ch := range []<-chan answer{held, retried, big} {
		if a := wait(t, ch); a.status != http.StatusNoContent {
			t.Fatalf("%d %s", a.status, a.body)
		}
	}
}

// Credentials, signatures and bodies the source does not take are
// answered 4xx and queue nothing; the secrets never appear in answers or
// logs.
func TestWebhookRefusals(t *testing.T) {
	const secret = "s3cr3t-hmac-key-31337"
	sign := func(body string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	body := `[{"id": 1}]`
	tests := []struct {
		name    string
		cfg     func(*Config)
		url     string // appended to the source's URL
		method  string
		body    string
		headers []string
		status  int
		want    string
	}{
		{"basic missing", withBasic, "", "", body, nil, 401, "auth.basic"},
		{"basic wrong password", withBasic, "", "", body, []string{"Authorization", basic("hook", "nope-nope")}, 401, "wrong credentials"},
		{"basic wrong user", withBasic, "", "", body, []string{"Authorization", basic("hoo", "pw-31337-canary")}, 401, "wrong credentials"},
		{"basic right", withBasic, "", "", body, []string{"Authorization", basic("hook", "pw-31337-canary")}, 0, ""},
		{"bearer missing", withBearer, "", "", body, nil, 401, "auth.bearer"},
		{"bearer wrong", withBearer, "", "", body, []string{"Authorization", "Bearer tok-31337-canarx"}, 401, "wrong credentials"},
		{"bearer basic", withBearer, "", "", body, []string{"Authorization", basic("tok", "tok-31337-canary")}, 401, "wrong credentials"},
		{"bearer right", withBearer, "", "", body, []string{"Authorization", "bearer tok-31337-canary"}, 0, ""},
		{"hmac missing", withHMAC(secret), "", "", body, nil, 401, "X-Hub-Signature-256 is missing"},
		{"hmac no prefix", withHMAC(secret), "", "", body, []string{"X-Hub-Signature-256", strings.TrimPrefix(sign(body), "sha256=")}, 401, `does not start with hmac.prefix "sha256="`},
		{"hmac not hex", withHMAC(secret), "", "", body, []string{"X-Hub-Signature-256", "sha256=zz"}, 401, "not hex"},
		{"hmac other body", withHMAC(secret), "", "", body, []string{"X-Hub-Signature-256", sign(`[{"id": 2}]`)}, 401, "does not match the body"},
		{"hmac right", withHMAC(secret), "", "", body, []string{"X-Hub-Signature-256", sign(body)}, 0, ""},
		{"too large", func(c *Config) { c.Listen.MaxBodyBytes = 10 }, "", "", body, nil, 413, "max_body_bytes (10 bytes)"},
		{"not json", nil, "", "", `[{"id": 1}`, nil, 400, "not JSON"},
		{"scalar", nil, "", "", `"x"`, nil, 400, "the body is a string, not an array of records or one record"},
		{"schema", withSchema, "", "", `[{"id": 1}, {"id": "x"}]`, nil, 422, `record [1]: field "id" holds a string, but the declared schema says int`},
		{"ndjson line", nil, "", "", "{\"id\": 1}\n{\n", []string{"Content-Type", "application/x-ndjson"}, 400, "line 2: the body is not JSON"},
		{"other path", nil, "x", "", body, nil, 404, "records are POSTed to /"},
		{"get", nil, "", http.MethodGet, "", nil, 405, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := webhookConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			w, url, logs := openWebhook(t, cfg)
			var ch <-chan answer
			if tt.method == http.MethodGet {
				res, err := http.Get(url + tt.url)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				c := make(chan answer, 1)
				c <- answer{status: res.StatusCode, header: res.Header, body: string(b)}
				ch = c
			} else {
				ch = send(url+tt.url, tt.body, tt.headers...)
			}
			if tt.status == 0 { // taken: the record is queued
				readN(t, w, 1)
				if !pending(ch) {
					t.Fatal("answered before Ack")
				}
				_ = w.Ack(context.Background(), runtime.Position{Offset: 0})
				if a := wait(t, ch); a.status != http.StatusNoContent {
					t.Fatalf("%d %s", a.status, a.body)
				}
				return
			}
			a := wait(t, ch)
			if a.status != tt.status || !strings.Contains(a.body, tt.want) {
				t.Fatalf("answered %d %q, want %d with %q", a.status, a.body, tt.status, tt.want)
			}
			if tt.status == 401 && a.header.Get("WWW-Authenticate") == "" && cfg.HMAC.Secret == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.status == 405 && a.header.Get("Allow") != "POST" {
				t.Errorf("Allow: %q", a.header.Get("Allow"))
			}
			if n := w.queued(); n != 0 {
				t.Errorf("%d records queued", n)
			}
			for _, s := range []string{secret, "pw-31337-canary", "tok-31337-canary"} {
				if strings.Contains(a.body+logs.String(), s) {
					t.Errorf("a secret is shown:\n%s\n%s", a.body, logs)
				}
			}
			if tt.status == 401 && !strings.Contains(logs.String(), "refused a webhook request") {
				t.Errorf("no warning logged:\n%s", logs)
			}
		})
	}
}

func withBasic(c *Config)  { c.Auth.Basic = Basic{Username: "hook", Password: "pw-31337-canary"} }
func withBearer(c *Config) { c.Auth.Bearer.Token = "tok-31337-canary" }
func withSchema(c *Config) { c.Schema = []Field{{Name: "id", Type: "int"}} }
func withHMAC(secret string) func(*Config) {
	return func(c *Config) {
		c.HMAC = HMAC{Secret: secret, Header: "X-Hub-Signature-256", Prefix: "sha256="}
	}
}

// Signatures in base64 and with sha512 and sha1 check as well.
func TestWebhookHMACVariants(t *testing.T) {
	body := []byte(`[{"id": 1}]`)
	m := hmac.New(sha512.New, []byte("k-31337-canary"))
	m.Write(body)
	s := newSigner(HMAC{Secret: "k-31337-canary", Algorithm: "sha512", Encoding: "base64"})
	if why := s.verify(base64.StdEncoding.EncodeToString(m.Sum(nil)), body); why != "" {
		t.Errorf("sha512 base64: %s", why)
	}
	if why := s.verify(hex.EncodeToString(m.Sum(nil)), body); why == "" {
		t.Error("a hex signature passed as base64")
	}
	s = newSigner(HMAC{Secret: "k-31337-canary", Algorithm: "sha1"})
	if why := s.verify(hex.EncodeToString(m.Sum(nil)), body); !strings.Contains(why, "does not match") {
		t.Errorf("a sha512 signature with sha1: %q", why)
	}
}

// A declared schema types the records (an int as a float for a float
// field) and fixes their fields.
func TestWebhookDeclaredSchema(t *testing.T) {
	cfg := webhookConfig()
	cfg.Schema = []Field{{Name: "id", Type: "int"}, {Name: "total", Type: "float"}, {Name: "tags", Type: "array<string>"}}
	w, url, _ := openWebhook(t, cfg)
	ch := send(url, `{"total": 3, "id": 7.0, "extra": true}`)
	r := readN(t, w, 1)[0]
	if r.Schema != w.declared || len(r.After) != 3 || r.After[0].Kind() != runtime.KindInt || r.After[1].Kind() != runtime.KindFloat || !r.After[2].IsNull() {
		t.Fatalf("record %+v", r)
	}
	_ = w.Ack(context.Background(), r.Position)
	wait(t, ch)
	ds, err := w.Discover(context.Background())
	if err != nil || len(ds) != 1 || ds[0].Name != "hooks" || ds[0].Schema != w.declared {
		t.Errorf("Discover: %+v, %v", ds, err)
	}
	w2, err := NewWebhook(webhookConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Discover(context.Background()); err == nil || !strings.Contains(err.Error(), "learned from the requests") {
		t.Errorf("Discover without a schema: %v", err)
	}
}

// A stop (Read's context ends) refuses new requests and those whose
// records were not all read (503); those read are answered when the
// pipeline acknowledges them, or 503 by Close; Close then shuts the
// listener down.
func TestWebhookGracefulStop(t *testing.T) {
	w, url, _ := openWebhook(t, webhookConfig())
	acked := send(url, `[{"id": 1}, {"id": 2}]`)
	a := readN(t, w, 2)
	unacked := send(url, `[{"id": 3}]`)
	readN(t, w, 1)
	split := send(url, `[{"id": 4}, {"id": 5}]`)
	readN(t, w, 1) // id 4 read, id 5 not
	unread := send(url, `[{"id": 6}]`)
	waitQueued(t, w, 2)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Read(ctx, make([]runtime.Record, 4)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after the stop: %v", err)
	}
	// Records that will never be read: answered at once.
	for name, ch := range map[string]<-chan answer{"split": split, "unread": unread} {
		if got := wait(t, ch); got.status != http.StatusServiceUnavailable || got.header.Get("Retry-After") != "1" {
			t.Errorf("%s: %d %s", name, got.status, got.body)
		}
	}
	if got := wait(t, send(url, `[{"id": 7}]`)); got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, "stopping") {
		t.Fatalf("a request while stopping: %d %s", got.status, got.body)
	}
	if w.queued() != 0 {
		t.Fatalf("%d records queued while stopping", w.queued())
	}
	if !pending(acked) || !pending(unacked) {
		t.Fatal("answered before the final Ack")
	}
	// The driver's final Ack, then Close.
	if err := w.Ack(context.Background(), a[1].Position); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, acked); got.status != http.StatusNoContent {
		t.Fatalf("acked: %d %s", got.status, got.body)
	}
	if !pending(unacked) {
		t.Fatal("unacked answered by the Ack of earlier records")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, unacked); got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, "stopped before it acknowledged") {
		t.Errorf("unacked: %d %s", got.status, got.body)
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://")); err == nil {
		_ = c.Close()
		t.Error("the listener still accepts connections after Close")
	}
}

// Open fails on an address in use, naming it; Probe reports it as a
// failed check, and a free address as OK, warning about a listener beyond
// loopback without credentials.
func TestWebhookListenAndProbe(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := webhookConfig()
	cfg.Listen.Address = busy.Addr().String()
	w, err := NewWebhook(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot listen on listen.address "+busy.Addr().String()) {
		t.Fatalf("Open on a busy address: %v", err)
	}
	_ = w.Close()
	fs, err := w.Probe(context.Background())
	if err != nil || len(fs) != 1 || fs[0].Level != runtime.FindingFail || !strings.Contains(fs[0].Detail, busy.Addr().String()) {
		t.Fatalf("Probe on a busy address: %+v, %v", fs, err)
	}
	addr := busy.Addr().String()
	_ = busy.Close()
	fs, err = w.Probe(context.Background())
	if err != nil || len(fs) != 1 || fs[0].Level != runtime.FindingOK {
		t.Fatalf("Probe on a free address: %+v, %v", fs, err)
	}
	if ln, err := net.Listen("tcp", addr); err != nil { // released again
		t.Errorf("the probe kept %s: %v", addr, err)
	} else {
		_ = ln.Close()
	}
	cfg.Listen.Address = ":0"
	w, _ = NewWebhook(cfg, nil)
	fs, _ = w.Probe(context.Background())
	if len(fs) != 2 || fs[1].Level != runtime.FindingWarn || !strings.Contains(fs[1].Detail, "anyone who reaches it") {
		t.Errorf("Probe on every interface without auth: %+v", fs)
	}
	withBearer(&cfg)
	w, _ = NewWebhook(cfg, nil)
	fs, _ = w.Probe(context.Background())
	if len(fs) != 2 || fs[1].Level != runtime.FindingOK || !strings.Contains(fs[1].Detail, "auth.bearer") {
		t.Errorf("Probe with auth: %+v", fs)
	}
}

// Validate refuses poll-mode fields in webhook mode and bad webhook
// settings, naming the key; New picks the mode's type.
func TestWebhookValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  func(*Config)
		want string
	}{
		{func(c *Config) { c.URL = "https://x" }, "apply to poll mode only"},
		{func(c *Config) { c.Retry.MaxRetries = 3 }, "apply to poll mode only"},
		{func(c *Config) { c.Auth.OAuth2.TokenURL = "https://x" }, "auth.oauth2 applies to poll mode only"},
		{func(c *Config) { c.Listen.Address = "8080" }, `listen.address "8080" is not host:port`},
		{func(c *Config) { c.Listen.Address = "h:x" }, "the port must be a number"},
		{func(c *Config) { c.Listen.Path = "hooks" }, "must start with /"},
		{func(c *Config) { c.HMAC = HMAC{Header: "X"} }, "hmac.secret is required"},
		{func(c *Config) { c.HMAC = HMAC{Secret: "k", Algorithm: "md5"} }, `hmac.algorithm "md5"`},
		{func(c *Config) { c.HMAC = HMAC{Secret: "k", Encoding: "b32"} }, `hmac.encoding "b32"`},
		{func(c *Config) { c.HMAC = HMAC{Secret: "k", Header: "X Y"} }, "is not a header name"},
		{func(c *Config) { c.Schema = []Field{{Name: "a", Type: "decimal"}} }, "schema.a"},
	} {
		cfg := webhookConfig()
		tt.cfg(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", cfg, err, tt.want)
		}
	}
	poll := Config{URL: "https://x", Listen: Listen{Path: "/"}}
	if err := poll.Validate(); err == nil || !strings.Contains(err.Error(), "webhook mode only") {
		t.Errorf("listen in poll mode: %v", err)
	}
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "url is required in poll mode") {
		t.Errorf("no url: %v", err)
	}
	if s, err := New(webhookConfig(), nil); err != nil {
		t.Error(err)
	} else if _, ok := s.(*Webhook); !ok {
		t.Errorf("New in webhook mode: %T", s)
	}
	if s, err := New(Config{URL: "https://x"}, nil); err != nil {
		t.Error(err)
	} else if _, ok := s.(runtime.Resumable); !ok {
		t.Errorf("New in poll mode: %T", s)
	}
	if _, ok := any(&Webhook{}).(runtime.Resumable); ok {
		t.Error("a webhook source is Resumable: the driver would keep offsets that mean nothing across runs")
	}
}

// sinkFunc is a runtime.Sink calling write.
type sinkFunc func([]runtime.Record) error

func (f sinkFunc) Open(context.Context) error                         { return nil }
func (f sinkFunc) Close() error                                       { return nil }
func (f sinkFunc) Write(_ context.Context, rs []runtime.Record) error { return f(rs) }

// Through the driver: concurrent senders each get 204 only for records
// the sink holds (or the program dropped, which the driver acknowledges
// too); a graceful stop answers 503 to what it did not deliver; nothing
// answered 204 is missing from the sink.
func TestWebhookPipeline(t *testing.T) {
	cfg := webhookConfig()
	cfg.Listen.MaxBufferedRecords = 50
	w, err := NewWebhook(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	stored := map[int64]bool{}
	sink := sinkFunc(func(rs []runtime.Record) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			stored[r.After[r.Schema.Index("id")].AsInt()] = true
		}
		return nil
	})
	dropOdd := runtime.ProgramFunc(func(r *runtime.Record) (bool, error) {
		return r.After[r.Schema.Index("id")].AsInt()%2 == 0, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	p := &runtime.Pipeline{Name: "hooks", Source: w, Sink: sink, Program: dropOdd,
		Settings: runtime.Settings{BatchSize: 8, SinkBatch: runtime.SinkBatch{MaxRecords: 5, TimeoutMs: 5}}}
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	var addr net.Addr
	for deadline := time.Now().Add(10 * time.Second); addr == nil; time.Sleep(time.Millisecond) {
		if addr = w.Addr(); addr == nil && time.Now().After(deadline) {
			t.Fatal("the source did not open")
		}
	}
	url := "http://" + addr.String() + "/"

	const senders, perSender, recs = 8, 20, 3
	type sent struct {
		ids    []int64
		status int
	}
	results := make(chan sent, senders*perSender)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				var b bytes.Buffer
				b.WriteByte('[')
				var batch []int64
				for k := range recs {
					id := int64((s*perSender+i)*recs + k)
					batch = append(batch, id)
					if k > 0 {
						b.WriteByte(',')
					}
					b.WriteString(`{"id":` + itoa(id) + `}`)
				}
				b.WriteByte(']')
				for { // a sender retries 503s
					a := <-send(url, b.String())
					if a.err != nil {
						t.Error(a.err)
						return
					}
					if a.status == http.StatusServiceUnavailable {
						continue
					}
					results <- sent{batch, a.status}
					break
				}
			}
		}()
	}
	wg.Wait()
	close(results)
	n := 0
	for r := range results {
		if r.status != http.StatusNoContent {
			t.Fatalf("answered %d", r.status)
		}
		mu.Lock()
		for _, id := range r.ids {
			if id%2 == 0 && !stored[id] {
				t.Errorf("record %d was answered 204 but is not in the sink", id)
			}
			if id%2 == 1 && stored[id] {
				t.Errorf("record %d was not dropped", id)
			}
		}
		mu.Unlock()
		n++
	}
	if n != senders*perSender {
		t.Fatalf("%d requests answered, want %d", n, senders*perSender)
	}

	// A graceful stop with requests in flight: each is answered, 204 only
	// for records the sink holds.
	block := make(chan struct{})
	p2sink := sinkFunc(func(rs []runtime.Record) error { <-block; return sink(rs) })
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	w2, _ := NewWebhook(cfg, nil)
	ctx2, cancel2 := context.WithCancel(context.Background())
	p2 := &runtime.Pipeline{Name: "hooks", Source: w2, Sink: p2sink, Program: runtime.ProgramFunc(keep),
		Settings: runtime.Settings{BatchSize: 8, SinkBatch: runtime.SinkBatch{MaxRecords: 1}}}
	go func() { ran <- p2.Run(ctx2) }()
	for deadline := time.Now().Add(10 * time.Second); w2.Addr() == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second source did not open")
		}
	}
	url = "http://" + w2.Addr().String() + "/"
	var inflight []<-chan answer
	for i := range 5 {
		inflight = append(inflight, send(url, `[{"id":`+itoa(int64(10000+i))+`}]`))
	}
	// Wait until every request was taken (queued or read), then stop
	// while the sink is blocked, and let it go.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		w2.mu.Lock()
		k := len(w2.waiting)
		w2.mu.Unlock()
		if k == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests taken, want 5", k)
		}
	}
	cancel2()
	close(block)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	for i, ch := range inflight {
		a := wait(t, ch)
		id := int64(10000 + i)
		mu.Lock()
		have := stored[id]
		mu.Unlock()
		switch a.status {
		case http.StatusNoContent:
			if !have {
				t.Errorf("record %d answered 204 but is not in the sink", id)
			}
		case http.StatusServiceUnavailable:
		default:
			t.Errorf("record %d answered %d %s", id, a.status, a.body)
		}
	}
}

func itoa(n int64) string { return string(runtime.AppendJSON(nil, runtime.Int(n))) }
