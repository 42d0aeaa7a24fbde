package httpsink_test

import (
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/conformance"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// TestConformance runs the shared sink suite: each sink sends to a fresh
// loopback server, whose accepted requests read decodes back (stream,
// position from the SourceEvent metadata, and n). The requests are JSON
// arrays of at most 16 records, one in flight (the suite reads records in the
// order the server took them, which only max_in_flight 1 keeps).
func TestConformance(t *testing.T) {
	var cur *collector
	newSink := func(t *testing.T) runtime.Sink {
		cur = newCollector(t).start()
		cfg := httpsink.Defaults(cur.url())
		cfg.Format, cfg.MaxBatchRecords = httpsink.FormatJSONArray, 16
		s, err := httpsink.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	read := func(t *testing.T) []runtime.Record {
		var out []runtime.Record
		for _, g := range cur.accepted() {
			for _, e := range g.Events {
				out = append(out, runtime.Record{Stream: e.Stream, Position: runtime.Position{Offset: e.Position}, After: []runtime.Value{runtime.Int(e.N)}})
			}
		}
		return out
	}
	conformance.RunSink(t, newSink, read)
}
