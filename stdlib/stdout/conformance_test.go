package stdout

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/conformance"
)

// lockedBuffer is the sink's writer; the suite reads it while Write runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Split(bytes.TrimRight(append([]byte(nil), l.b.Bytes()...), "\n"), []byte("\n"))
}

func TestConformance(t *testing.T) {
	var cur *lockedBuffer
	newSink := func(t *testing.T) runtime.Sink {
		cur = &lockedBuffer{}
		s, err := New(Config{Format: "json", IncludeMetadata: true, IncludeTimestamp: true}, cur)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	read := func(t *testing.T) []runtime.Record {
		var out []runtime.Record
		for _, line := range cur.lines() {
			if len(line) == 0 {
				continue
			}
			var ev struct {
				Stream string `json:"stream"`
				Data   struct {
					N    int64  `json:"n"`
					Text string `json:"text"`
				} `json:"data"`
				Metadata struct {
					Position string `json:"position"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("stdout wrote a line that is not JSON: %q: %v", line, err)
			}
			pos, err := strconv.ParseUint(ev.Metadata.Position, 10, 64)
			if err != nil {
				t.Fatalf("metadata.position %q: %v", ev.Metadata.Position, err)
			}
			out = append(out, runtime.Record{Stream: ev.Stream, Position: runtime.Position{Offset: pos},
				After: []runtime.Value{runtime.Int(ev.Data.N), runtime.String(ev.Data.Text)}})
		}
		return out
	}
	conformance.RunSink(t, newSink, read)
}
