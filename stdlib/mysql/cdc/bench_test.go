package cdc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mysql/mysqltest"
)

// BenchmarkBinlogDrain compares, on the same binlog events in the same
// run, the server's own binlog reader draining them to /dev/null (the
// baseline: mariadb-binlog, or mysqlbinlog, reading from the server over
// the replication protocol like the source, -R) with this source decoding
// every row into typed records and acknowledging them through the runtime
// into a discarding sink. The baseline runs twice: raw, writing the row
// events as its default base64 BINLOG statements (it copies their bytes
// and decodes no row), and decoded, --verbose, also decoding every row
// and printing its values as SQL comments (the work closest to the
// source's). One op is one row; run it with -benchtime Nx (N rows), e.g.
//
//	go test ./stdlib/mysql/cdc -run '^$' -bench BinlogDrain -benchtime 1000000x | go run ./cmd/benchratio
//
// singles is N single-row transactions (one INSERT each, autocommitted in
// a stored procedure's loop); bulk is one transaction of N rows (one
// INSERT … SELECT). Each workload is written once per N, starting in a
// new binlog file, and both sides read its events: the baseline from the
// position before it to the binlog's end after it, the source from the
// same position until its N rows reached the sink. Sub-benchmarks are
// <workload>/<raw|decoded>/baseline and <workload>/<raw|decoded>/source
// (cmd/benchratio compares each source run with the baseline run just
// before it; the source runs once per baseline). Besides rows/s, each side reports cpu-ns/row: the CPU time
// (user+sys) of the draining process per row (the mariadb-binlog child
// for the baseline, this test process for the source).
func BenchmarkBinlogDrain(b *testing.B) {
	tool := binlogTool(b)
	for _, w := range []struct {
		name string
		fill func(b *testing.B, db, tbl string, n int)
	}{
		{"singles", func(b *testing.B, db, tbl string, n int) {
			server.Exec(b, db, "CREATE PROCEDURE fill_"+tbl+"(n INT) BEGIN DECLARE i INT DEFAULT 1; "+
				"WHILE i <= n DO INSERT INTO "+tbl+" VALUES (i, CONCAT('name-', i), i * 1.5); SET i = i + 1; END WHILE; END",
				fmt.Sprintf("CALL fill_%s(%d)", tbl, n))
		}},
		{"bulk", func(b *testing.B, db, tbl string, n int) {
			server.Exec(b, db, fmt.Sprintf("INSERT INTO %s SELECT seq, CONCAT('name-', seq), seq * 1.5 FROM seq_1_to_%d", tbl, n))
		}},
	} {
		b.Run(w.name, func(b *testing.B) {
			db := server.NewDatabase(b)
			ranges := map[int]binlogRange{} // by row count
			workload := func(b *testing.B) binlogRange {
				if r, ok := ranges[b.N]; ok {
					return r
				}
				r := writeBinlogRange(b, db, b.N, w.fill)
				ranges[b.N] = r
				return r
			}
			for _, base := range []struct {
				name    string
				verbose bool
			}{{"raw", false}, {"decoded", true}} {
				b.Run(base.name, func(b *testing.B) {
					b.Run("baseline", func(b *testing.B) {
						r := workload(b)
						b.ResetTimer()
						cpu := runBinlogTool(b, tool, r, base.verbose)
						b.StopTimer()
						reportDrain(b, cpu)
					})
					b.Run("source", func(b *testing.B) {
						r := workload(b)
						b.ResetTimer()
						start := benchProcessCPU()
						drainBinlog(b, db, r)
						cpu := benchProcessCPU() - start
						b.StopTimer()
						reportDrain(b, cpu)
					})
				})
			}
		})
	}
}

// binlogRange is a workload's place in the binlog: from the position
// before it to the binlog's end after it.
type binlogRange struct {
	table string
	rows  int
	from  token    // where it starts (file:position, no GTID)
	files []string // the binlog files it spans, from.file first
	end   token    // the binlog's end after it
}

// writeBinlogRange writes the workload of n rows into a new table of db,
// starting in a new binlog file, and returns its range.
func writeBinlogRange(b *testing.B, db string, n int, fill func(b *testing.B, db, tbl string, n int)) binlogRange {
	tbl := "bench_" + strconv.Itoa(n)
	server.Exec(b, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, name VARCHAR(32), price DECIMAL(12,2))", "FLUSH BINARY LOGS")
	c := server.Open(b, db)
	ctx := context.Background()
	from, err := binlogEnd(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, db, tbl, n)
	end, err := binlogEnd(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	logs, err := binaryLogs(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	r := binlogRange{table: tbl, rows: n, from: from, end: end}
	in := false
	for _, f := range logs {
		in = in || f.name == from.file
		if in {
			r.files = append(r.files, f.name)
		}
		if f.name == end.file {
			break
		}
	}
	if len(r.files) == 0 || r.files[len(r.files)-1] != end.file {
		b.Fatalf("the binlog files %v do not span %s to %s", logs, from, end)
	}
	return r
}

// binlogTool finds mariadb-binlog, or else mysqlbinlog.
func binlogTool(b *testing.B) string {
	for _, name := range []string{"mariadb-binlog", "mysqlbinlog"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	b.Fatal("the baseline needs the server's binlog reader, mariadb-binlog or mysqlbinlog, and neither is on PATH: install it " +
		"(Debian/Ubuntu: apt-get install mariadb-client)")
	return ""
}

// runBinlogTool reads r's binlog range from the server with tool to
// /dev/null and returns the tool's CPU time. verbose (--verbose) has it
// decode every row and print its values as SQL comments.
func runBinlogTool(b *testing.B, tool string, r binlogRange, verbose bool) time.Duration {
	// The password in an option file, not on the command line.
	opts := filepath.Join(b.TempDir(), "client.cnf")
	text := fmt.Sprintf("[client]\nhost=127.0.0.1\nport=%d\nuser=%s\npassword=%s\n", server.Port, mysqltest.Superuser, server.Password)
	if err := os.WriteFile(opts, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	args := []string{"--defaults-file=" + opts, "--read-from-remote-server", "--skip-ssl",
		"--start-position=" + strconv.FormatUint(uint64(r.from.pos), 10),
		"--stop-position=" + strconv.FormatUint(uint64(r.end.pos), 10),
		"--result-file=/dev/null"}
	if verbose {
		args = append(args, "--verbose")
	}
	cmd := exec.Command(tool, append(args, r.files...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", filepath.Base(tool), err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// drainBinlog runs the source from r's start through the runtime into a
// sink that discards records, until r's rows were acknowledged.
func drainBinlog(b *testing.B, db string, r binlogRange) {
	cfg := config(db, r.table)
	cfg.SnapshotMode = SnapshotNever
	src, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Resume(runtime.Position{Token: r.from.String()}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &binlogCountSink{n: int64(r.rows), done: cancel}
	p := &runtime.Pipeline{Name: "bench", Source: src, Sink: sink,
		Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil })}
	if err := p.Run(ctx); err != nil {
		b.Fatal(err)
	}
	if got := sink.got.Load(); got != int64(r.rows) {
		b.Fatalf("drained %d of %d rows", got, r.rows)
	}
}

// binlogCountSink discards records and ends the run after n.
type binlogCountSink struct {
	n, seen int64
	got     atomic.Int64
	done    func()
}

func (s *binlogCountSink) Open(context.Context) error { return nil }
func (s *binlogCountSink) Close() error               { return nil }
func (s *binlogCountSink) Write(_ context.Context, recs []runtime.Record) error {
	s.seen += int64(len(recs))
	s.got.Store(s.seen)
	if s.seen >= s.n {
		go s.done()
	}
	return nil
}

// reportDrain reports rows/s and, for runs of more than one row,
// cpu-ns/row.
func reportDrain(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if b.N > 1 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/row")
	}
}

// benchProcessCPU is this process's CPU time so far (user+sys, every
// thread).
func benchProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
