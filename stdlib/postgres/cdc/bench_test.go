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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
//
// Each side runs idle, then contended: with one CPU-bound neighbour
// process (a shell busy loop) running for the whole drain, started and
// killed by the benchmark, so that the contended ratio compares like with
// like. Sub-benchmarks are <load>/<side>: idle/baseline, idle/rivven,
// contended/baseline, contended/rivven (cmd/benchratio compares each
// side with the baseline of its load).
//
// Besides rows/s, each side reports cpu-ns/row, the CPU time (user+sys)
// of the draining process per row (this test process for the source, the
// pg_recvlogical child for the baseline); walsender-cpu-ns/row, that of
// the server process decoding the slot for it; and, contended,
// neighbour-cpu-%, the share of a core the busy loop got.

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
	for _, load := range []string{"idle", "contended"} {
		b.Run(load, func(b *testing.B) {
			for _, side := range []string{"baseline", "rivven"} {
				b.Run(side, func(b *testing.B) { benchSide(b, workload, side, load == "contended") })
			}
		})
	}
}

// benchSide drains one slot holding the workload's changes with side
// ("baseline": pg_recvlogical; "rivven": this source), with a busy
// neighbour process when contended.
func benchSide(b *testing.B, workload func(*testing.B, string), side string, contended bool) {
	db := cluster.NewDatabase(b)
	// Autovacuum of the new rows would compete with the drain at random.
	cluster.Exec(b, db, `CREATE TABLE bench (id int PRIMARY KEY, name text, price numeric) WITH (autovacuum_enabled = false)`,
		`CREATE PUBLICATION p1 FOR TABLE bench`,
		`SELECT pg_create_logical_replication_slot('`+slotOf(db)+`', 'pgoutput')`)
	workload(b, db)
	var end string
	c := conn(b, db)
	if _, err := c.Exec(context.Background(), `CHECKPOINT`); err != nil {
		b.Fatal(err)
	}
	if err := c.QueryRow(context.Background(), `SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
		b.Fatal(err)
	}
	ws := watchWalsender(b, db)
	var busy *neighbour
	if contended {
		busy = startNeighbour(b)
	}
	before := peakRSS()
	var cpu time.Duration
	busy0 := machineBusy()
	b.ResetTimer()
	if side == "baseline" {
		cpu = recvlogical(b, db, end)
	} else {
		start := processCPU()
		drain(b, db, b.N)
		cpu = processCPU() - start
	}
	b.StopTimer()
	busy1 := machineBusy()
	var share float64
	if busy != nil {
		share = busy.stop()
	}
	wsCPU := ws.stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if b.N > 1 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/row")
		b.ReportMetric(float64(wsCPU.Nanoseconds())/float64(b.N), "walsender-cpu-ns/row")
		others := busy1 - busy0 - cpu - wsCPU - time.Duration(share*float64(b.Elapsed()))
		if busy != nil {
			b.ReportMetric(100*share, "neighbour-cpu-%")
		}
		// The CPU time of everything else on the machine (other work,
		// the server's other processes): a busy machine makes the run
		// noisy.
		b.ReportMetric(100*max(float64(others)/float64(b.Elapsed()), 0), "others-cpu-%")
		if side == "rivven" {
			b.ReportMetric(float64(max(peakRSS(), before))/(1<<20), "peak-RSS-MiB")
		}
	}
}

// recvlogical runs pg_recvlogical until end and returns its CPU time.
func recvlogical(b *testing.B, db, end string) time.Duration {
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
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
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

// neighbour is a CPU-bound process competing with the drain for the
// cores: a shell busy loop.
type neighbour struct {
	cmd   *exec.Cmd
	start time.Time
	share float64 // its CPU time over its wall time, once stopped
	done  bool
}

// startNeighbour starts the busy loop. It is killed by stop, by the
// benchmark's cleanup even when the benchmark fails, and by the kernel
// when this process dies first (Pdeathsig).
func startNeighbour(b *testing.B) *neighbour {
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start the busy neighbour: %v", err)
	}
	n := &neighbour{cmd: cmd, start: time.Now()}
	b.Cleanup(func() { n.stop() })
	return n
}

// stop kills the busy loop (once) and returns the share of one core it
// used while it ran.
func (n *neighbour) stop() float64 {
	if !n.done {
		n.done = true
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
		if wall := time.Since(n.start); wall > 0 && n.cmd.ProcessState != nil {
			n.share = float64(n.cmd.ProcessState.UserTime()+n.cmd.ProcessState.SystemTime()) / float64(wall)
		}
	}
	return n.share
}

// walsenderWatch samples the CPU time of the walsender process that
// serves a slot, from /proc (the server runs on this machine).
type walsenderWatch struct {
	quit, done chan struct{}
	once       sync.Once
	cpu        time.Duration // the last sample; read after done
}

// watchWalsender watches the walsender of db's slot from now until stop:
// it looks up the slot's active_pid until a walsender holds the slot, then
// samples that process every 20 ms. The sample after the process ended is
// lost, so up to one interval of its CPU time may be missing.
func watchWalsender(b *testing.B, db string) *walsenderWatch {
	c := conn(b, db)
	w := &walsenderWatch{quit: make(chan struct{}), done: make(chan struct{})}
	b.Cleanup(func() { w.stop() }) // before c closes, also when the benchmark fails
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pid := 0
		for {
			if pid == 0 {
				var p *int32
				if err := c.QueryRow(context.Background(), `SELECT active_pid FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, slotOf(db)).Scan(&p); err == nil && p != nil {
					pid = int(*p)
				}
			}
			if pid != 0 {
				if t, ok := taskCPU(pid); ok {
					w.cpu = t
				}
			}
			select {
			case <-w.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the sampling and returns the walsender's CPU time.
func (w *walsenderWatch) stop() time.Duration {
	w.once.Do(func() { close(w.quit) })
	<-w.done
	return w.cpu
}

// taskCPU is the CPU time a single-threaded process has run
// (/proc/<pid>/schedstat: its first field, in ns).
func taskCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns), err == nil
}

// machineBusy is the CPU time all cores of the machine spent busy so far
// (/proc/stat: everything but idle and iowait).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var ticks int64
	for i, v := range f[1:] {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && i != 3 && i != 4 && i < 8 {
			ticks += n // user nice system (idle iowait) irq softirq steal
		}
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// processCPU is this process's CPU time so far (user+sys, every thread).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
