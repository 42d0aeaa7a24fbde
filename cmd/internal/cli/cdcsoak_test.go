package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

// The CDC stop/start soak (make soak; RIVVEN_SOAK_CDC=cycles): the real
// binary, a real server, a steady mixed write load (single-row and
// 1000-row transactions, logical_decoding_work_mem=64kB so large ones are
// streamed in progress), and
//   - SIGTERM stop/start cycles: nothing lost, nothing delivered twice;
//   - kill -9 cycles: nothing lost (a restart may re-deliver);
//   - SIGTERM during the initial snapshot: exit 0, and the slot this run
//     created is dropped every time;
//   - SIGTERM before the source connected: exit 0, "stopped before", no
//     slot left behind.
func TestCDCStopStartSoak(t *testing.T) {
	cycles, _ := strconv.Atoi(os.Getenv("RIVVEN_SOAK_CDC"))
	if cycles <= 0 {
		t.Skip("set RIVVEN_SOAK_CDC=<cycles> (make soak) to run the CDC stop/start soak")
	}
	bin := filepath.Join(t.TempDir(), "rivven-connect")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rivven/rivven-connect/cmd/rivven-connect").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cl := pgtest.New(t, pgtest.Options{Settings: map[string]string{"logical_decoding_work_mem": "64kB"}})
	t.Setenv("PGPW", cl.Password)
	s := &soak{t: t, bin: bin, cl: cl}
	t.Run("sigterm", func(t *testing.T) { s.cycles(t, cycles, syscall.SIGTERM) })
	t.Run("kill", func(t *testing.T) { s.cycles(t, cycles, syscall.SIGKILL) })
	t.Run("sigterm-mid-snapshot", func(t *testing.T) { s.midSnapshot(t, max(3, cycles/4)) })
	t.Run("sigterm-before-connect", func(t *testing.T) { s.beforeConnect(t, max(5, cycles/2)) })
}

type soak struct {
	t   *testing.T
	bin string
	cl  *pgtest.Cluster
}

// config writes the config of db's pipeline (postgres-cdc → stdout json).
func (s *soak) config(t *testing.T, db, dir string) string {
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
settings: {state_dir: %q, shutdown_timeout: 60}
sources:
  pg:
    connector: postgres-cdc
    config: {host: 127.0.0.1, port: %d, database: %s, user: %s, password: "${PGPW}", slot_name: %s, tables: [w], tls: {mode: disable}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: pg, sink: out}
`, filepath.Join(dir, "state"), s.cl.Port, db, pgtest.Superuser, pgtest.SlotName(db)))
	return cfg
}

// start runs the binary with stdout appended to out.
func (s *soak) start(t *testing.T, cfg, out string, stderr *syncBuffer) *exec.Cmd {
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

// exitCode waits for cmd and returns its exit code (-1: killed by a signal).
func exitCode(cmd *exec.Cmd) int {
	_ = cmd.Wait()
	return cmd.ProcessState.ExitCode()
}

// writer inserts ids 1, 2, … into w until stop: single-row transactions and
// 1000-row ones. It returns the last id written.
func (s *soak) writer(t *testing.T, db string, stop <-chan struct{}) func() int64 {
	c, err := pgx.Connect(context.Background(), s.cl.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.Close(context.Background())
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			from := last + 1
			n := int64(1)
			if rand.IntN(10) == 0 {
				n = 1000
			}
			mu.Unlock()
			if _, err := c.Exec(context.Background(), `INSERT INTO w SELECT g, 'v' FROM generate_series($1::bigint, $2::bigint) g`, from, from+n-1); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			mu.Lock()
			last = from + n - 1
			mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// tally counts the events that carry each id in an output file (snapshot
// reads and inserts), reading what was appended since its last call.
type tally struct {
	path string
	off  int64
	rest []byte
	seen map[int64]int
	snap int // snapshot reads among the events
}

// again reads what was appended since the last call and returns how many
// of its events carry an id delivered before, and the least and greatest
// such id.
func (ta *tally) again(t *testing.T) (n int, lo, hi int64) {
	before := make(map[int64]int, len(ta.seen))
	for id, c := range ta.seen {
		before[id] = c
	}
	for id, c := range ta.update(t) {
		if b := before[id]; b > 0 && c > b {
			n += c - b
			if lo == 0 || id < lo {
				lo = id
			}
			hi = max(hi, id)
		}
	}
	return n, lo, hi
}

func (ta *tally) update(t *testing.T) map[int64]int {
	if ta.seen == nil {
		ta.seen = map[int64]int{}
	}
	f, err := os.Open(ta.path)
	if os.IsNotExist(err) {
		return ta.seen
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(ta.off, 0); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	ta.off += int64(len(b))
	b = append(ta.rest, b...)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		var e struct {
			Op   string `json:"event_type"`
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		if json.Unmarshal(b[:i], &e) == nil && (e.Op == "insert" || e.Op == "snapshot") {
			ta.seen[e.Data.ID]++
			if e.Op == "snapshot" {
				ta.snap++
			}
		}
		// A line that does not parse is the torn end of a killed
		// process's last write: never acknowledged, so delivered again.
		b = b[i+1:]
	}
	ta.rest = append([]byte(nil), b...)
	return ta.seen
}

func (s *soak) cycles(t *testing.T, n int, sig syscall.Signal) {
	db := s.cl.NewDatabase(t)
	s.cl.Exec(t, db, `CREATE TABLE w (id bigint PRIMARY KEY, v text)`)
	dir := t.TempDir()
	cfg, out := s.config(t, db, dir), filepath.Join(dir, "out.jsonl")
	// The load starts once a first run has created the slot and taken its
	// (empty) snapshot: a snapshot interrupted by a stop is read again in
	// full by the next run (SPEC), which is not what this phase measures.
	var stderr syncBuffer
	cmd := s.start(t, cfg, out, &stderr)
	for deadline := time.Now().Add(time.Minute); !s.snapshotDone(t, dir); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the first run did not finish its snapshot:\n%s", stderr.String())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(cmd); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, stderr.String())
	}
	stop := make(chan struct{})
	lastID := s.writer(t, db, stop)
	ta := &tally{path: out}
	var prevErr, prevSlot string
	for i := range n {
		var stderr syncBuffer
		cmd := s.start(t, cfg, out, &stderr)
		time.Sleep(time.Duration(300+rand.IntN(2700)) * time.Millisecond)
		_ = cmd.Process.Signal(sig)
		code := exitCode(cmd)
		if sig == syscall.SIGTERM && code != 0 {
			t.Fatalf("cycle %d: exit %d after SIGTERM:\n%s", i, code, stderr.String())
		}
		// Which run delivered again what an earlier one had delivered,
		// and what the stop before it logged.
		if again, lo, hi := ta.again(t); again > 0 && sig == syscall.SIGTERM {
			t.Logf("cycle %d delivered %d events again (ids %d..%d); the slot was at %s after the stop before it, which logged:\n%s\nthis run logged:\n%s", i, again, lo, hi, prevSlot, prevErr, stderr.String())
		}
		prevErr, prevSlot = stderr.String(), s.slotAt(t, db)
	}
	close(stop)
	last := lastID()
	// A last run delivers the rest, then stops gracefully.
	var lastErr syncBuffer
	cmd = s.start(t, cfg, out, &lastErr)
	deadline := time.Now().Add(5 * time.Minute)
	for len(ta.update(t)) < int(last) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("%d of %d ids delivered after the load stopped:\n%s", len(ta.update(t)), last, lastErr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(cmd); code != 0 {
		t.Fatalf("last run: exit %d:\n%s", code, lastErr.String())
	}
	seen := ta.update(t)
	missing, dups, events := 0, 0, 0
	for id := int64(1); id <= last; id++ {
		switch c := seen[id]; {
		case c == 0:
			missing++
		case c > 1:
			dups += c - 1
		}
		events += seen[id]
	}
	t.Logf("%s: %d cycles, %d ids, %d events (%d snapshot reads), %d missing, %d delivered again", sig, n, last, events, ta.snap, missing, dups)
	if missing > 0 {
		t.Errorf("%d of %d ids were never delivered", missing, last)
	}
	if sig == syscall.SIGTERM && dups > 0 {
		t.Errorf("%d events were delivered again after graceful stops", dups)
	}
}

// snapshotDone reports whether the state file under dir records the
// snapshot as done.
func (s *soak) snapshotDone(t *testing.T, dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "state", "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), `"snapshot":"done"`) {
			return true
		}
	}
	return false
}

// slotAt returns the confirmed_flush_lsn of db's slot.
func (s *soak) slotAt(t *testing.T, db string) string {
	c, err := pgx.Connect(context.Background(), s.cl.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var at string
	if err := c.QueryRow(context.Background(), `SELECT coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE slot_name = $1`, pgtest.SlotName(db)).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// slotLeft reports whether db's slot exists.
func (s *soak) slotLeft(t *testing.T, db string) bool {
	c, err := pgx.Connect(context.Background(), s.cl.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, pgtest.SlotName(db)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func (s *soak) midSnapshot(t *testing.T, n int) {
	db := s.cl.NewDatabase(t)
	s.cl.Exec(t, db, `CREATE TABLE w (id bigint PRIMARY KEY, v text)`,
		`INSERT INTO w SELECT g, repeat('v', 100) FROM generate_series(1, 200000) g`)
	dir := t.TempDir()
	cfg := s.config(t, db, dir)
	for i := range n {
		var stderr syncBuffer
		cmd := s.start(t, cfg, filepath.Join(dir, "out.jsonl"), &stderr)
		// Past the process's start (see beforeConnect), well inside the
		// snapshot of 200,000 rows.
		time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if code := exitCode(cmd); code != 0 {
			t.Fatalf("run %d: exit %d after SIGTERM mid-snapshot:\n%s", i, code, stderr.String())
		}
		if s.slotLeft(t, db) {
			t.Fatalf("run %d: a SIGTERM mid-snapshot left the slot this run created:\n%s", i, stderr.String())
		}
	}
}

func (s *soak) beforeConnect(t *testing.T, n int) {
	// A server that accepts connections and never answers: every stop
	// lands while the source is connecting.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for i := range n {
		db := s.cl.NewDatabase(t)
		s.cl.Exec(t, db, `CREATE TABLE w (id bigint PRIMARY KEY, v text)`, `INSERT INTO w VALUES (1, 'v')`)
		dir := t.TempDir()
		out := filepath.Join(dir, "out.jsonl")
		cfg := s.config(t, db, dir)
		silent := i%2 == 0
		if silent {
			b, _ := os.ReadFile(cfg)
			writeFile(t, cfg, strings.Replace(string(b), fmt.Sprintf("port: %d", s.cl.Port), fmt.Sprintf("port: %d", ln.Addr().(*net.TCPAddr).Port), 1))
		}
		var stderr syncBuffer
		cmd := s.start(t, cfg, out, &stderr)
		// From the moment Main runs (the binary's package initialisation
		// takes some 40 ms, over 150 ms on a busy machine: the cloud SDK,
		// the MySQL protocol and the schema validators; a signal before
		// that has its default effect) through compiling, connecting and
		// slot creation.
		time.Sleep(time.Duration(200+rand.IntN(300)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		code := exitCode(cmd)
		if code != 0 || strings.Contains(stderr.String(), "context canceled") {
			t.Fatalf("run %d: exit %d after an early SIGTERM:\n%s", i, code, stderr.String())
		}
		if silent && !strings.Contains(stderr.String(), "stopped before source pg connected") {
			t.Errorf("run %d: a SIGTERM while connecting does not say what it stopped before:\n%s", i, stderr.String())
		}
		b, _ := os.ReadFile(out)
		if strings.Contains(string(b), `"event_type":"snapshot"`) {
			continue // the run got as far as delivering its snapshot: it may keep its slot
		}
		if s.slotLeft(t, db) {
			t.Fatalf("run %d: an early SIGTERM left the slot behind:\n%s", i, stderr.String())
		}
	}
}
