package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// oneSource produces one record with an event time 3 s before now, reports
// a WAL-byte lag, and then ends.
type oneSource struct{ done bool }

func (s *oneSource) Open(context.Context) error { return nil }
func (s *oneSource) Close() error               { return nil }
func (s *oneSource) Ack(context.Context, runtime.Position) error {
	return nil
}
func (s *oneSource) Read(_ context.Context, b []runtime.Record) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	s.done = true
	b[0] = runtime.Record{Time: time.Now().Add(-3 * time.Second), Position: runtime.Position{Offset: 1}}
	return 1, nil
}
func (s *oneSource) SourceLag() (uint64, string, bool) { return 4096, "bytes", true }

// linkSink is a sink that reports a broker link.
type linkSink struct{ up atomic.Bool }

func (s *linkSink) Open(context.Context) error                    { return nil }
func (s *linkSink) Close() error                                  { return nil }
func (s *linkSink) Write(context.Context, []runtime.Record) error { return nil }
func (s *linkSink) BrokerConnected() bool                         { return s.up.Load() }
func keep(*runtime.Record) (bool, error)                          { return true, nil }
func pipe(name string, src runtime.Source, sink runtime.Sink) *runtime.Pipeline {
	return &runtime.Pipeline{Name: name, Source: src, Sink: sink, Program: runtime.ProgramFunc(keep)}
}

func get(t *testing.T, h *Handler) (int, Report) {
	t.Helper()
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, r
}

func TestBrokerConnected(t *testing.T) {
	a, b := &linkSink{}, &linkSink{}
	h := &Handler{Pipes: []*runtime.Pipeline{pipe("a", &oneSource{}, a), pipe("b", &oneSource{}, b)}, Start: time.Now()}
	if _, r := get(t, h); r.BrokerConnected {
		t.Fatal("broker_connected with no link up")
	}
	a.up.Store(true)
	if _, r := get(t, h); r.BrokerConnected {
		t.Fatal("broker_connected with one of two links down")
	}
	b.up.Store(true)
	if _, r := get(t, h); !r.BrokerConnected {
		t.Fatal("broker_connected false with every link up")
	}
	noBroker := &Handler{Pipes: []*runtime.Pipeline{pipe("c", &oneSource{}, nil)}, Start: time.Now()}
	if _, r := get(t, noBroker); r.BrokerConnected {
		t.Fatal("broker_connected without any broker component")
	}
}

func TestLagReported(t *testing.T) {
	p := pipe("lag", &oneSource{}, &linkSink{})
	h := &Handler{Pipes: []*runtime.Pipeline{p}, Start: time.Now()}
	if _, r := get(t, h); r.Pipelines[0].LagSecs != nil || r.Pipelines[0].Lag != nil {
		t.Fatalf("lag before the pipeline started: %+v", r.Pipelines[0])
	}
	if err := p.Run(context.Background()); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	code, r := get(t, h)
	pl := r.Pipelines[0]
	if code != http.StatusOK || pl.LagSecs == nil || *pl.LagSecs < 2.9 || *pl.LagSecs > 60 {
		t.Fatalf("source_lag_seconds = %v (HTTP %d), want about 3", pl.LagSecs, code)
	}
	if pl.Lag == nil || pl.Lag.Value != 4096 || pl.Lag.Unit != "bytes" {
		t.Fatalf("source_lag = %+v, want 4096 bytes", pl.Lag)
	}
	b, _ := json.Marshal(pl)
	if !strings.Contains(string(b), `"source_lag":{"value":4096,"unit":"bytes"}`) {
		t.Fatalf("JSON %s", b)
	}
}
