package httpsink_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
	"github.com/rivven/rivven-connect/stdlib/stdout"
)

// poison says how the server refuses a record: 422 for every 97th (from
// 13), 501 (which drop_on makes final) for every 101st (from 7).
func poison(n int64) int {
	switch {
	case n%97 == 13:
		return http.StatusUnprocessableEntity
	case n%101 == 7:
		return http.StatusNotImplemented
	}
	return 0
}

// refuser answers a request holding a poisoned record with its status and
// counts the attempts of each idempotency key it refused with 501.
type refuser struct {
	mu       sync.Mutex
	attempts map[string]int
}

func (f *refuser) handle(w http.ResponseWriter, _ *http.Request, g *got, _ func()) bool {
	for _, e := range g.Events {
		if code := poison(e.N); code != 0 {
			if code == http.StatusNotImplemented {
				f.mu.Lock()
				f.attempts[g.Key]++
				f.mu.Unlock()
			}
			g.Status = code
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":"record %d is invalid"}`, e.N)
			return true
		}
	}
	return false
}

// A status the sink does not retry (422; 501 through drop_on) fails its
// records through the pipeline's on_error: with skip and dead_letter the
// runtime writes the failed write's records again one at a time, the sink
// does not resend those the server already took, and exactly the refused
// records are skipped or dead-lettered — every other record arrives once;
// with stop the pipeline stops before the first refused record, naming it
// and the status.
func TestRefusedRecordsTakeOnError(t *testing.T) {
	const n = 3000
	var want []uint64
	for i := range int64(n) {
		if poison(i) != 0 {
			want = append(want, uint64(i))
		}
	}
	for _, policy := range []runtime.ErrorPolicy{runtime.OnErrorSkip, runtime.OnErrorDeadLetter, runtime.OnErrorStop} {
		t.Run(policy.String(), func(t *testing.T) {
			ref := &refuser{attempts: map[string]int{}}
			c := newCollector(t)
			c.fault = ref.handle
			c.start()
			cfg := fast(httpsink.Defaults(c.url()))
			cfg.MaxInFlight, cfg.MaxBatchRecords, cfg.DropOn = 3, 50, []int{501}
			src := seqSource(n)
			dlOut := &syncBuffer{}
			dl, err := stdout.New(stdout.Config{Format: "json", IncludeTimestamp: true}, dlOut)
			if err != nil {
				t.Fatal(err)
			}
			sink := newSink(t, cfg, nil)
			if policy != runtime.OnErrorStop {
				// As the runtime tells it: the sink does not pipeline, so
				// that the refused records can take on_error one by one.
				// (Pipelined, stop is TestPipelinedFailureStopsAtItsWrite:
				// here the failure would be reported while the driver
				// reuses the failed write's record slots.)
				sink.UseErrorPolicy(policy)
			}
			p := &runtime.Pipeline{Name: "refused", Source: src, Sink: sink, Program: runtime.ProgramFunc(keepAll),
				Settings:   runtime.Settings{BatchSize: 256, SinkBatch: runtime.SinkBatch{MaxRecords: 400}, OnError: policy, DeadLetterSink: "dl"},
				DeadLetter: dl}
			err = p.Run(context.Background())
			if policy == runtime.OnErrorStop {
				var re *runtime.RecordError
				if !errors.As(err, &re) {
					t.Fatalf("run returned %v, want a RecordError", err)
				}
				msg := err.Error()
				for _, w := range []string{"501 Not Implemented", `record 7 is invalid`, "drop_on lists it", "positions 0..49", "POST " + c.url()} {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not say %q", msg, w)
					}
				}
				if last, ok := src.Last(); ok && last >= want[0] {
					t.Errorf("position %d acknowledged, past the refused record %d", last, want[0])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if last, _ := src.Last(); last != n-1 {
				t.Errorf("last acknowledged position %d, want %d", last, n-1)
			}
			times := map[uint64]int{}
			for _, g := range c.accepted() {
				for _, e := range g.Events {
					times[e.Position]++
				}
			}
			for i := range uint64(n) {
				wantTimes := 1
				if poison(int64(i)) != 0 {
					wantTimes = 0
				}
				if times[i] != wantTimes {
					t.Fatalf("record %d arrived %d times, want %d", i, times[i], wantTimes)
				}
			}
			for key, k := range ref.attempts {
				if k != 1 {
					t.Errorf("a request refused with 501 (drop_on) was sent %d times (key %s)", k, key)
				}
			}
			if got := p.Stats.Failed.Load(); got != uint64(len(want)) {
				t.Errorf("%d records failed, want %d", got, len(want))
			}
			if policy != runtime.OnErrorDeadLetter {
				return
			}
			var dead []uint64
			sc := bufio.NewScanner(strings.NewReader(dlOut.String()))
			for sc.Scan() {
				var ev struct {
					Data struct {
						Position string `json:"position"`
						Error    string `json:"error"`
						Record   struct {
							Data struct {
								N int64 `json:"n"`
							} `json:"data"`
						} `json:"record"`
					} `json:"data"`
				}
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("dead letter %s: %v", sc.Bytes(), err)
				}
				n := ev.Data.Record.Data.N
				status := map[int]string{422: "422 Unprocessable Entity", 501: "501 Not Implemented: " + fmt.Sprintf(`{"error":"record %d is invalid"}`, n) + " (drop_on lists it"}[poison(n)]
				if status == "" || !strings.Contains(ev.Data.Error, status) || ev.Data.Position != fmt.Sprint(n) {
					t.Errorf("dead letter of record %d at %s: error %q, want it to say %q", n, ev.Data.Position, ev.Data.Error, status)
				}
				dead = append(dead, uint64(n))
			}
			if fmt.Sprint(dead) != fmt.Sprint(want) {
				t.Errorf("dead letters for %v, want %v", dead, want)
			}
		})
	}
}

// A request whose retries are used up fails its records through on_error
// too: the error says how many retries were made, and the request went out
// max_retries + 1 times, always with the same idempotency key.
func TestRetriesUsedUp(t *testing.T) {
	c := newCollector(t)
	c.fault = func(w http.ResponseWriter, _ *http.Request, g *got, _ func()) bool {
		g.Status = http.StatusServiceUnavailable
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.Retry = httpsink.Retry{MaxRetries: 3, InitialBackoffMs: 1, MaxBackoffMs: 5}
	src := seqSource(10)
	p := &runtime.Pipeline{Name: "down", Source: src, Sink: newSink(t, cfg, nil), Program: runtime.ProgramFunc(keepAll)}
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable") || !strings.Contains(err.Error(), "gave up after 3 retries") {
		t.Fatalf("run returned %v, want the 503 after 3 retries", err)
	}
	reqs := c.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4 (1 + 3 retries)", len(reqs))
	}
	for _, g := range reqs {
		if g.Key != reqs[0].Key || g.Key == "" {
			t.Errorf("retried request has key %q, the first %q", g.Key, reqs[0].Key)
		}
	}
	if _, ok := src.Last(); ok {
		t.Error("a position was acknowledged although nothing was written")
	}
}

// The sink's own retries count as the pipeline's sink retries (status,
// health, metrics) and the error that caused the last one is its last
// error (runtime.RetryReported).
func TestRetriesReachThePipelineStats(t *testing.T) {
	c := newCollector(t)
	var n atomic.Int32
	c.fault = func(w http.ResponseWriter, _ *http.Request, g *got, accept func()) bool {
		if n.Add(1) <= 2 {
			g.Status = http.StatusServiceUnavailable
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	c.start()
	cfg := httpsink.Defaults(c.url())
	cfg.Retry = httpsink.Retry{MaxRetries: 3, InitialBackoffMs: 1, MaxBackoffMs: 5}
	p := &runtime.Pipeline{Name: "flaky", Source: seqSource(10), Sink: newSink(t, cfg, nil), Program: runtime.ProgramFunc(keepAll)}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := p.Status()
	if st.Retries != 2 || !strings.Contains(st.LastError, "503 Service Unavailable") {
		t.Errorf("status: %d retries, last error %q; want 2 and the 503", st.Retries, st.LastError)
	}
}
