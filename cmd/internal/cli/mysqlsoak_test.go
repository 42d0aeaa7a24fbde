package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/mysql/mysqltest"
)

// The MySQL CDC stop/start soak (make soak; RIVVEN_SOAK_MYSQL=cycles): the
// real binary (mysql-cdc → stdout json), a real MariaDB, a steady insert
// load (single-row transactions and 500-row ones), and
//   - SIGTERM stop/start cycles while streaming: every exit is 0, nothing
//     is lost, and nothing is delivered twice, also when the stop lands
//     inside a multi-row transaction (a record inside a transaction
//     carries its change's token, and a restart goes on with the change
//     after the acknowledged one, SPEC "Positions");
//   - kill -9 cycles while streaming: nothing lost (a restart may deliver
//     again what was not acknowledged);
//   - kill -9 cycles during the initial snapshot of a 200,000-row table
//     (each kill after a random part of the snapshot was written out, and
//     the state file still holding no finished snapshot): nothing lost
//     once a last run finishes (a restart takes the snapshot again);
//   - kill -9 cycles during the re-snapshot of a 200,000-row table added
//     to `tables` while streaming (SPEC "Tables added to `tables`"):
//     nothing lost once a last run finishes.
func TestMySQLCDCStopStartSoak(t *testing.T) {
	cycles, _ := strconv.Atoi(os.Getenv("RIVVEN_SOAK_MYSQL"))
	if cycles <= 0 {
		t.Skip("set RIVVEN_SOAK_MYSQL=<cycles> (make soak) to run the MySQL CDC stop/start soak")
	}
	bin := filepath.Join(t.TempDir(), "rivven-connect")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rivven/rivven-connect/cmd/rivven-connect").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv := mysqltest.New(t, mysqltest.Options{})
	t.Setenv("MYSQLPW", srv.Password)
	s := &mysqlSoak{bin: bin, srv: srv}
	t.Run("sigterm", func(t *testing.T) { s.streamCycles(t, cycles, syscall.SIGTERM) })
	t.Run("kill", func(t *testing.T) { s.streamCycles(t, cycles, syscall.SIGKILL) })
	t.Run("kill-mid-snapshot", func(t *testing.T) { s.snapshotCycles(t, cycles, false) })
	t.Run("kill-mid-resnapshot", func(t *testing.T) { s.snapshotCycles(t, cycles, true) })
}

// mysqlSoak is the soak's binary and server.
type mysqlSoak struct {
	bin      string
	srv      *mysqltest.Server
	serverID int
}

// mysqlSoakTxRows is the size of the writer's multi-row transactions.
const mysqlSoakTxRows = 5000

// mysqlSoakRows is the size of the table snapshotted in snapshotCycles.
const mysqlSoakRows = 200_000

// config writes the config of a pipeline capturing db.w (mysql-cdc →
// stdout json), or db's tables, with its state in dir, and returns its
// path.
func (s *mysqlSoak) config(t *testing.T, db, dir string, tables ...string) string {
	if len(tables) == 0 {
		tables = []string{"w"}
	}
	for i, tb := range tables {
		tables[i] = db + "." + tb
	}
	s.serverID++
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
settings: {state_dir: %q, shutdown_timeout: 60}
sources:
  my:
    connector: mysql-cdc
    config: {host: 127.0.0.1, port: %d, user: %s, password: "${MYSQLPW}", server_id: %d, tables: [%s], tls: {mode: disable}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: my, sink: out}
`, filepath.Join(dir, "state"), s.srv.Port, mysqltest.Superuser, 7000+s.serverID, strings.Join(tables, ", ")))
	return cfg
}

// start runs the binary with stdout appended to out.
func (s *mysqlSoak) start(t *testing.T, cfg, out string, stderr *syncBuffer) *exec.Cmd {
	f, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(s.bin, "run", "-c", cfg)
	cmd.Stdout, cmd.Stderr = f, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// waitOutput waits until cmd appends to out (the file's size grows
// from what it is now); it fails the test when it does not within 2
// minutes.
func (s *mysqlSoak) waitOutput(t *testing.T, cmd *exec.Cmd, out string, stderr *syncBuffer) {
	size := func() int64 {
		fi, err := os.Stat(out)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	from := size()
	for deadline := time.Now().Add(2 * time.Minute); size() == from; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("a run wrote nothing in 2 minutes:\n%s", stderr.String())
		}
	}
}

// stateToken returns the token of the position in dir's state file; ok is
// false when there is no state file yet.
func (s *mysqlSoak) stateToken(t *testing.T, dir string) (tok string, ok bool) {
	files, _ := filepath.Glob(filepath.Join(dir, "state", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		_, rest, found := strings.Cut(string(b), `"token":"`)
		if !found {
			continue
		}
		tok, _, _ = strings.Cut(rest, `"`)
		return tok, true
	}
	return "", false
}

// mysqlWriter inserts ids from, from+1, … into w until stop: single-row
// transactions, and one in twenty a transaction of mysqlSoakTxRows rows.
type mysqlWriter struct {
	mu   sync.Mutex
	last int64      // the last id written
	txs  [][2]int64 // the multi-row transactions' first and last ids
	done chan struct{}
	err  error
}

func (s *mysqlSoak) writer(t *testing.T, db string, from int64, stop <-chan struct{}) *mysqlWriter {
	c := s.srv.Open(t, db)
	c.SetMaxOpenConns(1)
	w := &mysqlWriter{last: from - 1, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			w.mu.Lock()
			first := w.last + 1
			w.mu.Unlock()
			n := int64(1)
			if rand.IntN(20) == 0 {
				n = mysqlSoakTxRows
			}
			var err error
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if n == 1 {
				_, err = c.ExecContext(ctx, "INSERT INTO w VALUES (?, 'v')", first)
			} else {
				_, err = c.ExecContext(ctx, fmt.Sprintf("INSERT INTO w SELECT seq, 'v' FROM seq_%d_to_%d", first, first+n-1))
			}
			cancel()
			if err != nil {
				w.err = err
				return
			}
			w.mu.Lock()
			w.last = first + n - 1
			if n > 1 {
				w.txs = append(w.txs, [2]int64{first, first + n - 1})
			}
			w.mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		}
	}()
	return w
}

// wait waits for the writer to stop and returns the last id written; a
// failed write fails the test.
func (w *mysqlWriter) wait(t *testing.T) int64 {
	<-w.done
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	return w.last
}

// txOf returns the index of the multi-row transaction holding id, or -1.
func (w *mysqlWriter) txOf(id int64) int {
	i := sort.Search(len(w.txs), func(i int) bool { return w.txs[i][1] >= id })
	if i < len(w.txs) && w.txs[i][0] <= id {
		return i
	}
	return -1
}

// mysqlAgainIDs reads what was appended to ta's file and returns the ids of its
// events that were delivered before.
func mysqlAgainIDs(t *testing.T, ta *tally) []int64 {
	before := make(map[int64]int, len(ta.seen))
	for id, c := range ta.seen {
		before[id] = c
	}
	var ids []int64
	for id, c := range ta.update(t) {
		if b := before[id]; b > 0 && c > b {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// finish runs a last run until every id 1..last was delivered, stops it
// with SIGTERM, and returns how many ids are missing and how many events
// were delivered again.
func (s *mysqlSoak) finish(t *testing.T, cfg string, ta *tally, last int64) (missing, dups int) {
	var stderr syncBuffer
	cmd := s.start(t, cfg, ta.path, &stderr)
	count := func() int {
		seen, n := ta.update(t), 0
		for id := int64(1); id <= last; id++ {
			if seen[id] > 0 {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Minute)
	for count() < int(last) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("%d of %d ids delivered after the load stopped:\n%s", count(), last, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(cmd); code != 0 {
		t.Fatalf("last run: exit %d:\n%s", code, stderr.String())
	}
	seen := ta.update(t)
	for id := int64(1); id <= last; id++ {
		switch c := seen[id]; {
		case c == 0:
			missing++
		case c > 1:
			dups += c - 1
		}
	}
	return missing, dups
}

// firstRun runs cfg until the state in dir holds a finished snapshot,
// then stops it with SIGTERM (exit 0), its records appended to out.
func (s *mysqlSoak) firstRun(t *testing.T, cfg, dir, out string) {
	var stderr syncBuffer
	cmd := s.start(t, cfg, out, &stderr)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if tok, ok := s.stateToken(t, dir); ok && !strings.HasPrefix(tok, "snapshot ") {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the first run did not finish its snapshot:\n%s", stderr.String())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(cmd); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, stderr.String())
	}
}

// streamCycles stops and starts the binary n times with sig while it
// streams under the insert load.
func (s *mysqlSoak) streamCycles(t *testing.T, n int, sig syscall.Signal) {
	db := s.srv.NewDatabase(t)
	// Row 0 gives the first run's snapshot a record, so its end is
	// acknowledged and the cycles resume the stream.
	s.srv.Exec(t, db, "CREATE TABLE w (id BIGINT PRIMARY KEY, v VARCHAR(16))", "INSERT INTO w VALUES (0, 'v')")
	dir := t.TempDir()
	cfg, out := s.config(t, db, dir), filepath.Join(dir, "out.jsonl")
	s.firstRun(t, cfg, dir, out)
	stop := make(chan struct{})
	w := s.writer(t, db, 1, stop)
	ta := &tally{path: out}
	ta.update(t)
	againCycles, againEvents, inside := 0, 0, 0
	for i := range n {
		var stderr syncBuffer
		cmd := s.start(t, cfg, out, &stderr)
		// Once this run streams (a signal before the process reaches Main
		// would kill it whatever it is), a random while later.
		s.waitOutput(t, cmd, out, &stderr)
		time.Sleep(time.Duration(rand.IntN(2700)) * time.Millisecond)
		_ = cmd.Process.Signal(sig)
		code := exitCode(cmd)
		if sig == syscall.SIGTERM && code != 0 {
			t.Fatalf("cycle %d: exit %d after SIGTERM:\n%s", i, code, stderr.String())
		}
		if tok, _ := s.stateToken(t, dir); strings.Contains(tok, " #") {
			inside++ // the position kept is inside a transaction
		}
		again := mysqlAgainIDs(t, ta)
		if len(again) == 0 {
			continue
		}
		againCycles++
		againEvents += len(again)
		if sig != syscall.SIGTERM {
			continue
		}
		// After a graceful stop nothing comes again: everything delivered
		// was acknowledged, and the restart goes on after it.
		w.mu.Lock()
		txs := map[int]bool{}
		for _, id := range again {
			txs[w.txOf(id)] = true
		}
		w.mu.Unlock()
		t.Errorf("cycle %d delivered again ids %d..%d (%d events) from %d transactions (-1: single-row ones) %v after a graceful stop; want none; this run logged:\n%s",
			i, again[0], again[len(again)-1], len(again), len(txs), txs, stderr.String())
	}
	close(stop)
	last := w.wait(t)
	missing, dups := s.finish(t, cfg, ta, last)
	t.Logf("%s: %d cycles (%d stopped inside a transaction), %d ids (%d multi-row transactions of %d rows), %d snapshot reads, %d missing, %d delivered again (by %d of the runs)",
		sig, n, inside, last, len(w.txs), mysqlSoakTxRows, ta.snap, missing, dups, againCycles)
	if missing > 0 {
		t.Errorf("%d of %d ids were never delivered", missing, last)
	}
	if sig == syscall.SIGTERM && dups > 0 {
		t.Errorf("%d events delivered again after graceful stops; want none", dups)
	}
}

// snapshotCycles kills the binary with SIGKILL n times during the initial
// snapshot of a table of mysqlSoakRows rows under the insert load, then
// lets a last run finish. With resnap, the table is added to the tables
// of a pipeline that finished its snapshot of another one (whose one row
// has id -1): the kills land in its re-snapshot while streaming.
func (s *mysqlSoak) snapshotCycles(t *testing.T, n int, resnap bool) {
	db := s.srv.NewDatabase(t)
	s.srv.Exec(t, db, "CREATE TABLE w (id BIGINT PRIMARY KEY, v VARCHAR(16))",
		fmt.Sprintf("INSERT INTO w SELECT seq, 'v' FROM seq_1_to_%d", mysqlSoakRows))
	dir := t.TempDir()
	cfg, out := s.config(t, db, dir), filepath.Join(dir, "out.jsonl")
	what := "snapshot"
	if resnap {
		what = "re-snapshot"
		s.srv.Exec(t, db, "CREATE TABLE w0 (id BIGINT PRIMARY KEY, v VARCHAR(16))", "INSERT INTO w0 VALUES (-1, 'v')")
		s.firstRun(t, s.config(t, db, dir, "w0"), dir, out)
		cfg = s.config(t, db, dir, "w0", "w")
	}
	stop := make(chan struct{})
	w := s.writer(t, db, mysqlSoakRows+1, stop)
	ta := &tally{path: out}
	for i := range n {
		var stderr syncBuffer
		before := ta.snap
		// Killed once this run has written out a random part of the first
		// half of the snapshot.
		want := 1 + rand.IntN(mysqlSoakRows/2)
		cmd := s.start(t, cfg, out, &stderr)
		deadline := time.Now().Add(5 * time.Minute)
		for ta.update(t); ta.snap-before < want; ta.update(t) {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("cycle %d: %d of %d %s records in 5 minutes:\n%s", i, ta.snap-before, want, what, stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		_ = exitCode(cmd)
		if tok, ok := s.stateToken(t, dir); !resnap && ok && !strings.HasPrefix(tok, "snapshot ") {
			t.Fatalf("cycle %d: killed after %d snapshot records, the state already holds a finished snapshot (%s)", i, ta.snap-before, tok)
		}
	}
	close(stop)
	last := w.wait(t)
	missing, dups := s.finish(t, cfg, ta, last)
	t.Logf("kill -9 mid-%s: %d cycles, %d ids (%d in the table at the start), %d snapshot reads, %d missing, %d delivered again",
		what, n, last, mysqlSoakRows, ta.snap, missing, dups)
	if missing > 0 {
		t.Errorf("%d of %d ids were never delivered", missing, last)
	}
}
