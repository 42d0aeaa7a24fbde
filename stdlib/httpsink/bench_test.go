package httpsink_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// BenchmarkSink measures records per second (one op = one record) sent to
// a loopback server that reads each body and answers 204, at 500 records
// per request (NDJSON of SourceEvents, datagen orders): baseline is a bare
// net/http client loop posting the same bodies, encoded beforehand; sink
// is the http sink's Write of 500 records each (encoding, idempotency key,
// one request, the answer's classification), with the default config;
// encode is the sink's share that the baseline does not do: encoding 500
// records as NDJSON SourceEvents (runtime.AppendSourceEvent), no request.
func BenchmarkSink(b *testing.B) {
	const per = 500
	src, err := datagen.New(datagen.Config{Pattern: "orders", MaxEvents: 4000, Seed: 42, HasSeed: true},
		func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]runtime.Record, 4000)
	n, _ := src.Read(context.Background(), recs)
	recs = recs[:n-n%per]
	var bodies [][]byte
	for at := 0; at < len(recs); at += per {
		var body []byte
		for i := at; i < at+per; i++ {
			body = runtime.AppendSourceEvent(body, &recs[i], true, true)
			body = append(body, '\n')
		}
		bodies = append(bodies, body)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	// run calls send(k) for every per-th op, k counting the batches.
	run := func(b *testing.B, send func(k int) error) {
		if err := send(0); err != nil { // warm up: the connection
			b.Fatal(err)
		}
		b.ReportAllocs()
		i, k := 0, 0
		for b.Loop() {
			if i++; i == per {
				k++
				if err := send(k); err != nil {
					b.Fatal(err)
				}
				i = 0
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("baseline", func(b *testing.B) {
		client := &http.Client{}
		run(b, func(k int) error {
			body := bodies[k%len(bodies)]
			req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/x-ndjson")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
	})
	b.Run("encode", func(b *testing.B) {
		var buf []byte
		run(b, func(k int) error {
			at := (k % len(bodies)) * per
			buf = buf[:0]
			for i := at; i < at+per; i++ {
				buf = runtime.AppendSourceEvent(buf, &recs[i], true, true)
				buf = append(buf, '\n')
			}
			return nil
		})
	})
	b.Run("sink", func(b *testing.B) {
		s, err := httpsink.New(httpsink.Defaults(srv.URL), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Open(context.Background()); err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, func(k int) error {
			at := (k % len(bodies)) * per
			return s.Write(context.Background(), recs[at:at+per])
		})
	})
}

// BenchmarkPipelined measures records per second (one op = one record)
// through the pipeline driver into the http sink, max_in_flight 4 and the
// default 500 records per request, with sink writes of 1 and of 500
// records (source batches of that size, no sink batch), to a loopback
// server that answers at once (rtt=0s) or after 1 ms (rtt=1ms, a nearby
// service): baseline is the synchronous sink (on_error skip or
// dead_letter, and every pipeline before the sink pipelined), whose
// requests in flight all belong to one write — so one at a time here;
// pipelined keeps up to 4 requests of successive writes in flight
// (on_error stop).
func BenchmarkPipelined(b *testing.B) {
	for _, rtt := range []time.Duration{0, time.Millisecond} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if rtt > 0 && r.Method != http.MethodHead {
				time.Sleep(rtt)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		for _, per := range []int{1, 500} {
			for _, pipelined := range []bool{false, true} {
				name := fmt.Sprintf("write=%d/rtt=%v/baseline", per, rtt)
				if pipelined {
					name = fmt.Sprintf("write=%d/rtt=%v/pipelined", per, rtt)
				}
				b.Run(name, func(b *testing.B) {
					cfg := httpsink.Defaults(srv.URL)
					cfg.MaxInFlight = 4
					s, err := httpsink.New(cfg, nil)
					if err != nil {
						b.Fatal(err)
					}
					if pipelined {
						s.UseErrorPolicy(runtime.OnErrorStop)
					}
					p := &runtime.Pipeline{Name: "bench", Source: seqSource(uint64(b.N)), Sink: s, Program: runtime.ProgramFunc(keepAll),
						Settings: runtime.Settings{BatchSize: per}}
					b.ReportAllocs()
					b.ResetTimer()
					if err := p.Run(context.Background()); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
				})
			}
		}
		srv.Close()
	}
}
