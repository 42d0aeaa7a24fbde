package httpsink_test

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// faults answers about 30 % of the requests with a fault: 429 or 503 (half
// of them with a Retry-After, in seconds or as an HTTP date), a reset before
// the body is taken, a reset or a slow answer after the records were taken
// (the sink cannot know they were: it sends them again), and counts each
// kind.
type faults struct {
	mu     sync.Mutex
	rng    *rand.Rand
	counts map[string]int
	slow   time.Duration
}

func newFaults(seed uint64, slow time.Duration) *faults {
	return &faults{rng: rand.New(rand.NewPCG(seed, seed+1)), counts: map[string]int{}, slow: slow}
}

func (f *faults) pick() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := []struct {
		name string
		pct  int
	}{{"429", 10}, {"503", 10}, {"reset-before", 4}, {"reset-after", 3}, {"slow-after", 3}}
	x := f.rng.IntN(100)
	for _, k := range kinds {
		if x < k.pct {
			f.counts[k.name]++
			return k.name, f.rng.IntN(2) == 0
		}
		x -= k.pct
	}
	f.counts["ok"]++
	return "ok", false
}

func (f *faults) handle(w http.ResponseWriter, r *http.Request, g *got, accept func()) bool {
	kind, header := f.pick()
	switch kind {
	case "429":
		if header {
			w.Header().Set("Retry-After", "1") // capped at max_backoff_ms
		}
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"slow down"}`))
	case "503":
		if header {
			w.Header().Set("Retry-After", time.Now().Add(-time.Second).UTC().Format(http.TimeFormat))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	case "reset-before":
		reset(w)
	case "reset-after":
		accept()
		reset(w)
	case "slow-after":
		accept()
		select {
		case <-time.After(f.slow):
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	default:
		return false
	}
	return true
}

// A server that fails about 30 % of the requests (429, 503, resets, slow
// answers) loses no record, through the real pipeline driver with several
// requests in flight: every record arrives; a record arrives more than
// once only in a request that was retried, with the same idempotency key
// and the same body, so that deduplicating by key leaves each record
// exactly once; and every acknowledged position is a contiguous prefix of
// the records the server took. It holds with the requests in flight all
// of one write (the sink synchronous), and pipelined across writes
// (on_error stop) — sink writes of 1000 records, 10 requests each, and
// writes of 20 records, one request each.
func TestFaultServerLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		format    string
		pipelined bool
		batch     int // records per sink write
	}{
		{"ndjson", httpsink.FormatNDJSON, false, 1000},
		{"json_array", httpsink.FormatJSONArray, false, 1000},
		{"ndjson/pipelined", httpsink.FormatNDJSON, true, 1000},
		{"json_array/pipelined-small-writes", httpsink.FormatJSONArray, true, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			f := newFaults(7, 300*time.Millisecond)
			c := newCollector(t)
			var inflight, most atomic.Int32 // requests in the handler
			c.fault = func(w http.ResponseWriter, r *http.Request, g *got, accept func()) bool {
				now := inflight.Add(1)
				defer inflight.Add(-1)
				for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
				}
				return f.handle(w, r, g, accept)
			}
			c.start()
			cfg := fast(httpsink.Defaults(c.url()))
			cfg.Format = tc.format
			cfg.MaxInFlight = 4
			cfg.MaxBatchRecords = 100
			cfg.TimeoutMs = 100 // the slow answers time out
			log := &syncBuffer{}
			sink := newSink(t, cfg, log)
			if tc.pipelined {
				sink.UseErrorPolicy(runtime.OnErrorStop)
			}
			settings := runtime.Settings{BatchSize: 500, SinkBatch: runtime.SinkBatch{MaxRecords: tc.batch}}
			if tc.batch < 500 {
				settings = runtime.Settings{BatchSize: tc.batch}
			}
			var badAcks atomic.Int64
			src := seqSource(n)
			src.Check = func(pos uint64) {
				if !c.covers(pos) {
					badAcks.Add(1)
					t.Errorf("position %d acknowledged before the server took every record up to it", pos)
				}
			}
			// The driver hands the sink the pipeline's logger (runtime.Logged).
			p := &runtime.Pipeline{Name: "faults", Source: src, Sink: sink, Program: runtime.ProgramFunc(keepAll),
				Logger: slog.New(slog.NewTextHandler(log, nil)), Settings: settings}
			if err := p.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if last, ok := src.Last(); !ok || last != n-1 {
				t.Errorf("last acknowledged position %d (%v), want %d", last, ok, n-1)
			}
			byKey := map[string]*got{}
			dups, reordered := 0, 0
			var highest uint64
			for _, g := range c.accepted() {
				if first := g.Events[0].Position; first < highest {
					reordered++
				} else {
					highest = first
				}
				if g.Key == "" {
					t.Fatal("a request without an idempotency key")
				}
				if prev, ok := byKey[g.Key]; ok {
					dups++
					if !bytes.Equal(prev.Body, g.Body) {
						t.Errorf("two requests with key %s carry different records", g.Key)
					}
					continue
				}
				byKey[g.Key] = g
			}
			seen := make([]int, n)
			for _, g := range byKey {
				for _, e := range g.Events {
					if e.Position >= n || int64(e.Position) != e.N {
						t.Fatalf("record n=%d at position %d", e.N, e.Position)
					}
					seen[e.Position]++
				}
			}
			for pos, k := range seen {
				if k != 1 {
					t.Fatalf("after deduplicating by idempotency key, record %d arrived %d times", pos, k)
				}
			}
			// A copy: a request the sink gave up on (timeout_ms) may still
			// reach the handler after the run ended.
			f.mu.Lock()
			counts := maps.Clone(f.counts)
			f.mu.Unlock()
			faulty := len(c.requests()) - counts["ok"]
			t.Logf("%d requests, %d faults %v, %d accepted duplicates (all with a repeated key), %d requests taken after a later one, at most %d in flight",
				len(c.requests()), faulty, counts, dups, reordered, most.Load())
			if tc.batch <= cfg.MaxBatchRecords && most.Load() < 2 {
				t.Errorf("at most %d request in flight with writes of one request each: the sink did not pipeline", most.Load())
			}
			if dups == 0 || reordered == 0 {
				t.Errorf("no duplicate (%d) or no request out of order (%d): the faults did not test what they should", dups, reordered)
			}
			for _, k := range []string{"429", "503", "reset-before", "reset-after", "slow-after"} {
				if counts[k] == 0 {
					t.Errorf("no %s fault happened; the test proves less than it says", k)
				}
			}
			if !bytes.Contains([]byte(log.String()), []byte("retrying")) {
				t.Errorf("retries were not logged:\n%s", log.String())
			}
		})
	}
}
