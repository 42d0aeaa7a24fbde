package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// cursorSource produces three records whose positions carry tokens of its
// own ("cursor-1" …), and ends.
type cursorSource struct{ next int }

func (s *cursorSource) Open(context.Context) error                  { return nil }
func (s *cursorSource) Close() error                                { return nil }
func (s *cursorSource) Ack(context.Context, runtime.Position) error { return nil }
func (s *cursorSource) Read(_ context.Context, b []runtime.Record) (int, error) {
	if s.next == 3 {
		return 0, io.EOF
	}
	s.next++
	b[0] = runtime.Record{Stream: "s", Position: runtime.Position{Offset: uint64(s.next), Token: fmt.Sprintf("cursor-%d", s.next)}}
	return 1, nil
}

func TestAckedPositionAndToken(t *testing.T) {
	plain, tokens := pipe("plain", &oneSource{}, &linkSink{}), pipe("tokens", &cursorSource{}, &linkSink{})
	h := &Handler{Pipes: []*runtime.Pipeline{plain, tokens}, Start: time.Now()}
	_, r := get(t, h)
	for _, pl := range r.Pipelines {
		if s, ok := pl.AckedPosition(); ok || pl.AckedOffset != nil || pl.AckedToken != nil {
			t.Errorf("%s: acked %q before running", pl.Name, s)
		}
	}
	for _, p := range h.Pipes {
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	_, r = get(t, h)
	pl, tk := r.Pipelines[0], r.Pipelines[1]
	if pl.AckedOffset == nil || *pl.AckedOffset != 1 || pl.AckedToken != nil {
		t.Errorf("offset-only source: acked_position %v, acked_token %v", pl.AckedOffset, pl.AckedToken)
	}
	if s, _ := pl.AckedPosition(); s != "1" {
		t.Errorf("offset-only source shows %q", s)
	}
	if tk.AckedOffset == nil || *tk.AckedOffset != 3 || tk.AckedToken == nil || *tk.AckedToken != "cursor-3" {
		t.Errorf("token source: acked_position %v, acked_token %v", tk.AckedOffset, tk.AckedToken)
	}
	if s, _ := tk.AckedPosition(); s != "cursor-3" {
		t.Errorf("token source shows %q", s)
	}
	// The number stays a number; the token is a key of its own, absent
	// for sources without one.
	b, _ := json.Marshal(r.Pipelines)
	if js := string(b); !strings.Contains(js, `"acked_position":1,"last_error"`) ||
		!strings.Contains(js, `"acked_position":3,"acked_token":"cursor-3","last_error"`) {
		t.Errorf("JSON %s", js)
	}
}
