package sink_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/conformance"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
)

// TestConformance runs the shared sink suite: each sink publishes to a
// fresh one-partition topic, which read decodes back (stream, position
// from the SourceEvent metadata, and the row).
func TestConformance(t *testing.T) {
	b := startBroker(t, brokertest.Config{})
	n := 0
	topic := ""
	newSink := func(t *testing.T) runtime.Sink {
		n++
		topic = fmt.Sprintf("conformance-%d", n)
		cfg := config(b.Addr(), topic)
		cfg.Partitions = 1
		s, err := sink.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	read := func(t *testing.T) []runtime.Record {
		var out []runtime.Record
		for _, m := range b.Records(topic, 0) {
			v, err := runtime.ParseJSON(m.Value)
			if err != nil {
				t.Fatalf("%s: %v", m.Value, err)
			}
			ev := v.AsObject()
			stream, _ := ev.Get("stream")
			data, _ := ev.Get("data")
			meta, _ := ev.Get("metadata")
			pv, _ := meta.AsObject().Get("position")
			pos, err := strconv.ParseUint(pv.AsString(), 10, 64)
			if err != nil {
				t.Fatalf("position in %s: %v", m.Value, err)
			}
			row := data.AsObject()
			out = append(out, runtime.Record{Stream: stream.AsString(), Position: runtime.Position{Offset: pos}, After: row.Values})
		}
		return out
	}
	conformance.RunSink(t, newSink, read)
}
