package httpsink_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/conformance"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// schema is the schema of the test records: a sequence number and a text.
var schema = runtime.NewSchema(
	runtime.Field{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}},
	runtime.Field{Name: "text", Type: runtime.Type{Kind: runtime.KindString}},
)

// record fills dst with the test record at offset n.
func record(dst *runtime.Record, n uint64) {
	*dst = runtime.Record{
		Stream: "orders", Op: runtime.OpInsert, Schema: schema,
		After:    append(dst.After[:0], runtime.Int(int64(n)), runtime.String(fmt.Sprintf("record %d <&>\n", n))),
		Time:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(n) * time.Millisecond),
		Position: runtime.Position{Offset: n},
	}
}

func records(from, to uint64) []runtime.Record {
	out := make([]runtime.Record, 0, to-from)
	for n := from; n < to; n++ {
		var r runtime.Record
		record(&r, n)
		out = append(out, r)
	}
	return out
}

// seqSource returns a source of the test records 0..n-1.
func seqSource(n uint64) *conformance.SeqSource {
	return &conformance.SeqSource{N: n, Record: record}
}

func keepAll(*runtime.Record) (bool, error) { return true, nil }

// event is one record as the server received it.
type event struct {
	N        int64
	Position uint64
	Stream   string
}

// got is one request as the server received it.
type got struct {
	Key    string
	Header http.Header
	Body   []byte
	Events []event
	Status int // the status the server answered (0: it reset or timed out)
}

// collector is a loopback HTTP server keeping every request the sink
// sent, and which it accepted. fault, when set, may answer a request
// itself (return true) instead of the default 200; it runs after the
// request was parsed, and may call accept.
type collector struct {
	t     testing.TB
	srv   *httptest.Server
	mu    sync.Mutex
	all   []*got
	taken []*got
	have  map[uint64]int // position → times accepted
	// prefix: every position below it was accepted
	prefix uint64
	fault  func(w http.ResponseWriter, r *http.Request, g *got, accept func()) bool
}

func newCollector(t testing.TB) *collector {
	c := &collector{t: t, have: map[uint64]int{}}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(c.serve))
	return c
}

func (c *collector) start() *collector {
	c.srv.Start()
	c.t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) url() string { return c.srv.URL + "/ingest" }

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	g := &got{Key: r.Header.Get("Idempotency-Key"), Header: r.Header.Clone(), Body: body}
	g.Events, err = parseBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		c.t.Errorf("the sink sent a body that does not parse: %v\n%s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.all = append(c.all, g)
	c.mu.Unlock()
	accept := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.taken = append(c.taken, g)
		for _, e := range g.Events {
			c.have[e.Position]++
		}
		for c.have[c.prefix] > 0 {
			c.prefix++
		}
	}
	if c.fault != nil && c.fault(w, r, g, accept) {
		return
	}
	accept()
	g.Status = http.StatusOK
	w.WriteHeader(http.StatusOK)
}

// covers reports whether every position 0..pos was accepted.
func (c *collector) covers(pos uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prefix > pos
}

func (c *collector) accepted() []*got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*got(nil), c.taken...)
}

func (c *collector) requests() []*got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*got(nil), c.all...)
}

// parseBody reads the SourceEvents of a body: NDJSON, a JSON array, or
// one object.
func parseBody(contentType string, body []byte) ([]event, error) {
	var raws []json.RawMessage
	switch {
	case strings.HasPrefix(contentType, "application/x-ndjson"):
		if len(body) == 0 || body[len(body)-1] != '\n' {
			return nil, fmt.Errorf("NDJSON body does not end with a newline")
		}
		for _, line := range bytes.Split(body[:len(body)-1], []byte("\n")) {
			raws = append(raws, line)
		}
	case bytes.HasPrefix(body, []byte("[")):
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, err
		}
	default:
		raws = []json.RawMessage{body}
	}
	out := make([]event, 0, len(raws))
	for _, raw := range raws {
		var ev struct {
			Stream string `json:"stream"`
			Data   struct {
				N *int64 `json:"n"`
			} `json:"data"`
			Metadata struct {
				Position string `json:"position"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", raw, err)
		}
		pos, err := strconv.ParseUint(ev.Metadata.Position, 10, 64)
		if err != nil || ev.Data.N == nil {
			return nil, fmt.Errorf("%s: no position or n", raw)
		}
		out = append(out, event{N: *ev.Data.N, Position: pos, Stream: ev.Stream})
	}
	return out, nil
}

// reset closes the request's connection with a TCP reset.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// newSink builds a sink on cfg, failing the test on an error.
func newSink(t testing.TB, cfg httpsink.Config, log io.Writer) *httpsink.Sink {
	t.Helper()
	s, err := httpsink.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fast is cfg with retries that wait at most a few milliseconds.
func fast(cfg httpsink.Config) httpsink.Config {
	cfg.Retry = httpsink.Retry{MaxRetries: 50, InitialBackoffMs: 1, MaxBackoffMs: 20}
	return cfg
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
