// Package health serves a running process's health over HTTP: GET
// <path> (default /health) answers 200 when every pipeline is healthy and
// 503 otherwise, with per-pipeline state, counters, last error and uptime;
// /ready answers whether every pipeline has started and none has failed;
// /live answers while the process serves at all.
//
// The JSON keeps the original rivven-connect's shape (status,
// broker_connected, sources, sinks, uptime_secs) and adds pipelines, the
// per-pipeline detail. `rivven-connect status` reads it.
package health

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Report is the body of GET /health.
type Report struct {
	// Status is "healthy" (HTTP 200) or "unhealthy" (HTTP 503: a pipeline
	// failed or is retrying a failing sink).
	Status string `json:"status"`
	// BrokerConnected is true when the pipelines have broker components
	// (a rivven sink or source, a broker dead-letter topic) and every one of
	// them last reached the broker; false otherwise, and without any.
	BrokerConnected bool        `json:"broker_connected"`
	Sources         []Connector `json:"sources"`
	Sinks           []Connector `json:"sinks"`
	Pipelines       []Pipeline  `json:"pipelines"`
	UptimeSecs      uint64      `json:"uptime_secs"`
}

// Connector is a source or sink entry of the original's shape.
type Connector struct {
	Name            string  `json:"name"`
	Pipeline        string  `json:"pipeline"`
	Status          string  `json:"status"`
	EventsProcessed uint64  `json:"events_processed"`
	ErrorsCount     uint64  `json:"errors_count"`
	LastError       *string `json:"last_error"`
}

// Pipeline is one pipeline's detail.
type Pipeline struct {
	Name         string `json:"name"`
	State        string `json:"state"`
	RecordsIn    uint64 `json:"records_in"`
	RecordsOut   uint64 `json:"records_out"`
	Dropped      uint64 `json:"records_dropped"`
	Failed       uint64 `json:"records_failed"`
	DeadLettered uint64 `json:"records_dead_lettered"`
	Retries      uint64 `json:"sink_retries"`
	Expected     uint64 `json:"records_expected,omitempty"`
	// AckedOffset is the Offset of the last position acknowledged to the
	// source (runtime.Status.Acked), null before any.
	AckedOffset *uint64 `json:"acked_position"`
	// AckedToken is that position's Token, the source's own resume point
	// (a GTID set, a cursor); absent when the source sets none.
	AckedToken *string `json:"acked_token,omitempty"`
	LastError  *string `json:"last_error"`
	UptimeSecs uint64  `json:"uptime_secs"`
	// LagSecs is how long before it was read the newest record read so far
	// happened (absent until a record with an event time was read).
	LagSecs *float64 `json:"source_lag_seconds,omitempty"`
	// Lag is the source's own measure of how far behind it is, when known.
	Lag *Lag `json:"source_lag,omitempty"`
}

// AckedPosition returns the acknowledged position as `status` shows it —
// the token when the source sets one, else the decimal offset (as
// runtime.Position.String) — and false when nothing was acknowledged.
func (p Pipeline) AckedPosition() (string, bool) {
	switch {
	case p.AckedToken != nil && *p.AckedToken != "":
		return *p.AckedToken, true
	case p.AckedOffset != nil:
		return strconv.FormatUint(*p.AckedOffset, 10), true
	}
	return "", false
}

// Lag is a source's distance behind its upstream.
type Lag struct {
	Value uint64 `json:"value"`
	Unit  string `json:"unit"` // "bytes" (WAL), "records"
}

// Names gives a pipeline's source and sink names for the report.
type Names struct{ Source, Sink string }

// Handler serves the endpoints for pipes. names (may be nil) maps a
// pipeline to its source's and sink's config names; without them the
// pipeline's name is used.
type Handler struct {
	Pipes []*runtime.Pipeline
	Names map[string]Names
	Start time.Time
	// Path of the main endpoint; "" = /health.
	Path string
}

// Report builds the current report.
func (h *Handler) Report() Report {
	now := time.Now()
	r := Report{Status: "healthy", Sources: []Connector{}, Sinks: []Connector{}, Pipelines: []Pipeline{},
		UptimeSecs: uint64(now.Sub(h.Start) / time.Second)}
	links, up := 0, 0
	for _, p := range h.Pipes {
		for _, c := range []any{p.Source, p.Sink, p.DeadLetter} {
			if l, ok := c.(runtime.BrokerLink); ok && c != nil {
				links++
				if l.BrokerConnected() {
					up++
				}
			}
		}
	}
	r.BrokerConnected = links > 0 && up == links
	for _, p := range h.Pipes {
		st := p.Status()
		if st.State == runtime.StateFailed || st.State == runtime.StateUnhealthy {
			r.Status = "unhealthy"
		}
		var lastErr *string
		if st.LastError != "" {
			e := st.LastError
			lastErr = &e
		}
		var acked *uint64
		var token *string
		if st.Acked != nil {
			o, t := st.Acked.Offset, st.Acked.Token
			acked = &o
			if t != "" {
				token = &t
			}
		}
		var up uint64
		if !st.Started.IsZero() {
			up = uint64(now.Sub(st.Started) / time.Second)
		}
		n := h.Names[p.Name]
		if n.Source == "" {
			n.Source = p.Name
		}
		if n.Sink == "" {
			n.Sink = p.Name
		}
		state := st.State.String()
		r.Sources = append(r.Sources, Connector{Name: n.Source, Pipeline: p.Name, Status: state, EventsProcessed: st.In, ErrorsCount: st.Failed, LastError: lastErr})
		r.Sinks = append(r.Sinks, Connector{Name: n.Sink, Pipeline: p.Name, Status: state, EventsProcessed: st.Out, ErrorsCount: st.Retries, LastError: lastErr})
		pl := Pipeline{Name: p.Name, State: state, RecordsIn: st.In, RecordsOut: st.Out,
			Dropped: st.Dropped, Failed: st.Failed, DeadLettered: st.DeadLettered, Retries: st.Retries, Expected: st.Expected,
			AckedOffset: acked, AckedToken: token, LastError: lastErr, UptimeSecs: up}
		if st.HasEventLag {
			secs := st.EventLag.Seconds()
			pl.LagSecs = &secs
		}
		if st.HasSourceLag {
			pl.Lag = &Lag{Value: st.SourceLag, Unit: st.SourceLagUnit}
		}
		r.Pipelines = append(r.Pipelines, pl)
	}
	return r
}

// Ready reports whether every pipeline has started and none has failed.
func (h *Handler) Ready() bool {
	for _, p := range h.Pipes {
		if s := p.Status().State; s == runtime.StateStarting || s == runtime.StateFailed {
			return false
		}
	}
	return true
}

// Register adds the endpoints (Routes) to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for pattern, hf := range h.Routes() {
		mux.Handle(pattern, hf)
	}
}

// Routes returns the endpoints by ServeMux pattern: "GET <Path>", and
// "GET /ready" and "GET /live" unless Path is one of them.
func (h *Handler) Routes() map[string]http.Handler {
	path := h.Path
	if path == "" {
		path = "/health"
	}
	routes := map[string]http.Handler{
		"GET " + path: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			rep := h.Report()
			code := http.StatusOK
			if rep.Status != "healthy" {
				code = http.StatusServiceUnavailable
			}
			writeJSON(w, code, rep)
		}),
	}
	if path != "/ready" {
		routes["GET /ready"] = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			ok := h.Ready()
			code := http.StatusOK
			if !ok {
				code = http.StatusServiceUnavailable
			}
			writeJSON(w, code, map[string]bool{"ready": ok})
		})
	}
	if path != "/live" {
		routes["GET /live"] = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]bool{"alive": true})
		})
	}
	return routes
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
