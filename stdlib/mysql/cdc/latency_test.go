package cdc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// The commit-to-sink latency benchmark's load: single-row transactions
// committed at latencyRate per second for latencyDuration, by
// latencyWriters connections.
const (
	latencyRate     = 5000
	latencyDuration = 10 * time.Second
	latencyWriters  = 16
)

// BenchmarkCommitToSinkLatency measures how long a committed row takes to
// reach the sink: writers commit single-row INSERTs (autocommit) at
// latencyRate rows/s for latencyDuration, each row holding in committed_at
// the writer's clock (Unix ns) read just before it sends the INSERT that
// commits it; the source (snapshot_mode never, started and streaming
// before the load) runs through the runtime (runtime.Pipeline with the
// settings of a config without a settings section) into a sink that
// records, for each row, the time of the Write that received it minus
// committed_at. The writers and the sink share this process's clock.
//
// Sub-benchmarks: state_dir keeps the acknowledged position in a
// state_dir, as a resumable mysql-cdc pipeline does (the driver writes
// and fsyncs the state file at every acknowledgement); no_state_dir keeps
// none. One op is one run of the whole load (run it with -benchtime 1x):
//
//	go test ./stdlib/mysql/cdc -run '^$' -bench CommitToSinkLatency -benchtime 1x
//
// Each reports p50-ms, p99-ms and max-ms of the latencies (over every row
// of every op), and rows/s, the commit rate achieved (below latencyRate
// when the writers cannot keep up; the latencies then hold for that rate).
func BenchmarkCommitToSinkLatency(b *testing.B) {
	for _, durable := range []bool{true, false} {
		name := "state_dir"
		if !durable {
			name = "no_state_dir"
		}
		b.Run(name, func(b *testing.B) {
			db := server.NewDatabase(b)
			var lat []time.Duration
			var rows int
			var took time.Duration
			b.StopTimer()
			for i := range b.N {
				tbl := fmt.Sprintf("lat_%d", i)
				server.Exec(b, db, "CREATE TABLE "+tbl+" (id BIGINT PRIMARY KEY, committed_at BIGINT NOT NULL)")
				l, d := latencyRun(b, db, tbl, durable)
				lat = append(lat, l...)
				rows += len(l)
				took += d
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
		})
	}
}

// latencyRun runs the load once into table tbl of db, with a state_dir
// when durable, and returns each row's commit-to-sink latency and how
// long the writers took.
func latencyRun(b *testing.B, db, tbl string, durable bool) ([]time.Duration, time.Duration) {
	total := int(latencyRate * latencyDuration / time.Second)
	cfg := config(db, tbl)
	cfg.SnapshotMode = SnapshotNever
	src, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	sink := &latencySink{want: total, done: make(chan struct{}), firstCh: make(chan struct{})}
	settings := runtime.DefaultSettings()
	if durable {
		settings.StateDir = b.TempDir()
	}
	p := &runtime.Pipeline{Name: "latency", Source: src, Sink: sink, Settings: settings,
		Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil })}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()

	w := server.Open(b, db)
	w.SetMaxOpenConns(latencyWriters)
	insert := func(id int64) error {
		_, err := w.Exec("INSERT INTO "+tbl+" VALUES (?, ?)", id, time.Now().UnixNano())
		return err
	}
	// Rows 0, -1, … every 100 ms until one reaches the sink (the source
	// streams from the binlog's end when it opens): not measured.
	for warm := int64(0); ; warm-- {
		if err := insert(warm); err != nil {
			b.Fatal(err)
		}
		select {
		case <-sink.firstCh:
		case err := <-ran:
			b.Fatalf("the pipeline ended before the first row: %v", err)
		case <-time.After(100 * time.Millisecond):
			if warm > -600 {
				continue
			}
			b.Fatal("no row reached the sink within a minute")
		}
		break
	}

	b.StartTimer()
	began := time.Now()
	due := make(chan int64, total)
	var wg sync.WaitGroup
	errs := make(chan error, latencyWriters)
	for range latencyWriters {
		wg.Go(func() {
			for id := range due {
				if err := insert(id); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Row n is due at began + n/latencyRate: whatever is due is handed to
	// the writers every 200 µs or so.
	for next := 1; next <= total; {
		for upTo := min(total, 1+int(time.Since(began)*latencyRate/time.Second)); next <= upTo; next++ {
			due <- int64(next)
		}
		time.Sleep(200 * time.Microsecond)
	}
	close(due)
	wg.Wait()
	wrote := time.Since(began)
	select {
	case err := <-errs:
		b.Fatalf("writer: %v", err)
	default:
	}
	select {
	case <-sink.done:
	case err := <-ran:
		b.Fatalf("the pipeline ended with %d of %d rows: %v", sink.count(), total, err)
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d rows reached the sink a minute after the writers finished", sink.count(), total)
	}
	b.StopTimer()
	cancel()
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	return sink.lat, wrote
}

// latencySink records, for every row of id 1 and up, the time of the
// Write that received it minus the row's committed_at. It closes firstCh
// at its first row, and done once it has want rows of id 1 and up.
type latencySink struct {
	want    int
	done    chan struct{}
	firstCh chan struct{}

	mu  sync.Mutex
	any bool
	lat []time.Duration
}

func (s *latencySink) Open(context.Context) error { return nil }
func (s *latencySink) Close() error               { return nil }

func (s *latencySink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lat)
}

func (s *latencySink) Write(_ context.Context, recs []runtime.Record) error {
	now := time.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lat == nil {
		s.lat = make([]time.Duration, 0, s.want)
	}
	was := len(s.lat)
	for i := range recs {
		r := &recs[i]
		if r.After[0].AsInt() > 0 {
			s.lat = append(s.lat, time.Duration(now-r.After[1].AsInt()))
		}
	}
	if !s.any && len(recs) > 0 {
		s.any = true
		close(s.firstCh)
	}
	if was < s.want && len(s.lat) >= s.want {
		close(s.done)
	}
	return nil
}
