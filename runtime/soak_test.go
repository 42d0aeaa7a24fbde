package runtime

import (
	"bufio"
	"context"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rssKB reads the resident set size of this process from /proc.
func rssKB(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// bigSource emits endless records carrying a fresh 1 KiB string each.
type bigSource struct{ endless }

func (b *bigSource) Read(ctx context.Context, batch []Record) (int, error) {
	n, err := b.endless.Read(ctx, batch)
	pad := strings.Repeat("x", 1024)
	for i := range batch[:n] {
		batch[i].After = append(batch[i].After, String(pad+strconv.Itoa(i)))
	}
	return n, err
}

// TestSoakSlowSinkRSS runs a fast source into a deliberately slow sink for
// RIVVEN_SOAK seconds (e.g. RIVVEN_SOAK=20) and checks that resident
// memory stays bounded: back-pressure, not buffering. Skipped unless the
// variable is set.
func TestSoakSlowSinkRSS(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("RIVVEN_SOAK"))
	if secs <= 0 {
		t.Skip("set RIVVEN_SOAK=<seconds> to run the soak test")
	}
	debug.FreeOSMemory()
	base := rssKB(t)
	for _, sb := range []SinkBatch{{}, {MaxRecords: 4096, TimeoutMs: 50}} {
		src := &bigSource{endless: endless{seqSource: *newSeqSource(0)}}
		sink := &slowCountSink{delay: 2 * time.Millisecond}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second/2)
		p := &Pipeline{Name: "soak", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{SinkBatch: sb}}
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		var peak, ahead int64
		tick := time.NewTicker(100 * time.Millisecond)
	loop:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				break loop
			case <-tick.C:
				if r := rssKB(t); r > peak {
					peak = r
				}
				if a := src.produced.Load() - sink.n.Load(); a > ahead {
					ahead = a
				}
			}
		}
		tick.Stop()
		cancel()
		t.Logf("sink batch %+v: %d records written, source at most %d records ahead, RSS baseline %d KiB, peak %d KiB (+%d KiB)",
			sb, sink.n.Load(), ahead, base, peak, peak-base)
		if peak-base > 64<<10 {
			t.Errorf("RSS grew by %d KiB with a slow sink: memory follows the backlog", peak-base)
		}
		if limit := int64(inflightBatches*DefaultBatchSize + max(sb.MaxRecords, DefaultBatchSize) + DefaultBatchSize); ahead > limit {
			t.Errorf("source ran %d records ahead of the sink (bound %d)", ahead, limit)
		}
	}
}

type slowCountSink struct {
	delay time.Duration
	n     atomic.Int64
}

func (s *slowCountSink) Open(context.Context) error { return nil }
func (s *slowCountSink) Close() error               { return nil }
func (s *slowCountSink) Write(_ context.Context, rs []Record) error {
	time.Sleep(s.delay)
	s.n.Add(int64(len(rs)))
	return nil
}
