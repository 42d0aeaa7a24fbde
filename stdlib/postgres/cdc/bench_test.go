package cdc

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

// The slot-drain benchmarks compare, on the same workload in the same run,
// pg_recvlogical draining a slot to /dev/null (the baseline) with this
// source decoding every row into typed records and acknowledging them
// through the runtime into a discarding sink. One op is one row; run them
// with -benchtime Nx (N rows), e.g.
//
//	go test ./stdlib/postgres/cdc -run '^$' -bench 'SlotDrain' -benchtime 1000000x
//
// bulk is one INSERT … SELECT of N rows; singles is N single-row
// transactions. Both sides use pgoutput protocol v1 and stop at the WAL
// position after the workload.

func BenchmarkSlotDrainBulk(b *testing.B) {
	benchDrain(b, func(b *testing.B, db string) {
		cluster.Exec(b, db, fmt.Sprintf(`INSERT INTO bench SELECT i, 'name-' || i, i * 1.5 FROM generate_series(1, %d) i`, b.N))
	})
}

func BenchmarkSlotDrainSingles(b *testing.B) {
	benchDrain(b, func(b *testing.B, db string) {
		// One transaction per row, from one session (a DO block commits each).
		cluster.Exec(b, db, fmt.Sprintf(`DO $$ BEGIN FOR i IN 1..%d LOOP INSERT INTO bench VALUES (i, 'name-' || i, i * 1.5); COMMIT; END LOOP; END $$`, b.N))
	})
}

func benchDrain(b *testing.B, workload func(*testing.B, string)) {
	for _, side := range []string{"baseline", "rivven"} {
		b.Run(side, func(b *testing.B) {
			db := cluster.NewDatabase(b)
			cluster.Exec(b, db, `CREATE TABLE bench (id int PRIMARY KEY, name text, price numeric)`,
				`CREATE PUBLICATION p1 FOR TABLE bench`,
				`SELECT pg_create_logical_replication_slot('`+slotOf(db)+`', 'pgoutput')`)
			workload(b, db)
			var end string
			c := conn(b, db)
			if err := c.QueryRow(context.Background(), `SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
				b.Fatal(err)
			}
			before := peakRSS()
			b.ResetTimer()
			if side == "baseline" {
				recvlogical(b, db, end)
			} else {
				drain(b, db, b.N)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			if side == "rivven" && b.N > 1 {
				b.ReportMetric(float64(max(peakRSS(), before))/(1<<20), "peak-RSS-MiB")
			}
		})
	}
}

// recvlogical runs pg_recvlogical until end.
func recvlogical(b *testing.B, db, end string) {
	bin, err := pgtest.BinDir()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "pg_recvlogical"), "-h", "127.0.0.1", "-p", strconv.Itoa(cluster.Port),
		"-U", pgtest.Superuser, "-d", db, "-S", slotOf(db), "--start", "--no-loop", "-E", end, "-f", "/dev/null",
		"-o", "proto_version=1", "-o", "publication_names=p1")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+cluster.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("pg_recvlogical: %v\n%s", err, out)
	}
}

// drain runs the source through the runtime into a sink that discards
// records, until n rows were acknowledged.
func drain(b *testing.B, db string, n int) {
	cfg := config(db, "bench")
	cfg.SnapshotMode, cfg.ProtocolVersion = SnapshotNever, 1
	src, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &countSink{n: int64(n), done: cancel}
	p := &runtime.Pipeline{Name: "bench", Source: src, Sink: sink,
		Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil })}
	if err := p.Run(ctx); err != nil {
		b.Fatal(err)
	}
	if got := sink.got.Load(); got < int64(n) {
		b.Fatalf("drained %d of %d rows", got, n)
	}
}

// countSink discards records and ends the run after n.
type countSink struct {
	n, seen int64
	got     atomic.Int64
	done    func()
}

func (s *countSink) Open(context.Context) error { return nil }
func (s *countSink) Close() error               { return nil }
func (s *countSink) Write(_ context.Context, recs []runtime.Record) error {
	s.seen += int64(len(recs))
	s.got.Store(s.seen)
	if s.seen >= s.n {
		go s.done()
	}
	return nil
}

// peakRSS is the process's peak resident set (VmHWM) in bytes.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
