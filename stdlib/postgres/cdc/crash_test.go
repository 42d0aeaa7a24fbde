package cdc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/state"
)

// childEnv makes the test binary run one connector process (runChild)
// instead of the tests, so a test can kill it with SIGKILL.
const childEnv = "RIVVEN_CDC_CHILD"

// childSpec is what a child process runs: the source config, the state
// directory, and the file its sink appends "<op> <id> <token>" lines to
// (fsynced before each write is acknowledged).
type childSpec struct {
	Config   Config
	StateDir string
	Out      string
	DelayMs  int // per sink write, to make a kill land mid-snapshot
}

func runChild() int {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	src, err := New(spec.Config, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	f, err := os.OpenFile(spec.Out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p := &runtime.Pipeline{
		Name: "crash", Source: src, Sink: &fileSink{f: f, delay: time.Duration(spec.DelayMs) * time.Millisecond},
		Program:  runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }),
		Settings: runtime.Settings{BatchSize: 100, StateDir: spec.StateDir},
	}
	if err := p.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fileSink appends one line per record and fsyncs before it returns.
type fileSink struct {
	f     *os.File
	delay time.Duration
	buf   []byte
}

func (s *fileSink) Open(context.Context) error { return nil }
func (s *fileSink) Close() error               { return s.f.Close() }
func (s *fileSink) Write(_ context.Context, recs []runtime.Record) error {
	s.buf = s.buf[:0]
	for i := range recs {
		s.buf = fmt.Appendf(s.buf, "%s %d %s\n", recs[i].Op, recs[i].After[0].AsInt(), recs[i].Position.Token)
	}
	if _, err := s.f.Write(s.buf); err != nil {
		return err
	}
	time.Sleep(s.delay)
	return s.f.Sync()
}

type line struct {
	op    string
	id    int64
	token string
}

func readLines(t *testing.T, path string) []line {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.Split(string(b), "\n")
	ls = ls[:len(ls)-1] // "", or a torn last line of a killed process: never acknowledged
	out := make([]line, 0, len(ls))
	for _, l := range ls {
		f := strings.Split(l, " ")
		n, err := strconv.ParseInt(f[min(1, len(f)-1)], 10, 64)
		if len(f) != 3 || err != nil {
			t.Fatalf("%s: line %q is not <op> <id> <token>", path, l)
		}
		out = append(out, line{f[0], n, f[2]})
	}
	return out
}

func startChild(t *testing.T, spec childSpec) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// waitLines waits until ok holds for the sink's output, failing after 60 s.
func waitLines(t *testing.T, path string, what string, ok func([]line) bool) []line {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ls := readLines(t, path)
		if ok(ls) {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%d lines)", what, len(ls))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestKill9DuringSnapshotAndStream kills a connector process with SIGKILL
// in the middle of its snapshot and again in the middle of streaming under
// concurrent inserts: after the restarts every row arrives, the snapshot
// is taken again in full after the first kill (it was never recorded as
// done), and the second restart goes on after the position the driver
// kept (it replays what was written but not acknowledged).
func TestKill9DuringSnapshotAndStream(t *testing.T) {
	const snapRows, streamRows = 30000, 1500
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE k (id int PRIMARY KEY)`, fmt.Sprintf(`INSERT INTO k SELECT generate_series(1, %d)`, snapRows))
	spec := childSpec{Config: config(db, "k"), StateDir: t.TempDir(), Out: filepath.Join(t.TempDir(), "out"), DelayMs: 2}

	// 1. Kill mid-snapshot.
	c := startChild(t, spec)
	waitLines(t, spec.Out, "part of the snapshot", func(ls []line) bool { return len(ls) >= 2000 })
	kill9(t, c)
	before := readLines(t, spec.Out)
	if len(before) >= snapRows {
		t.Fatalf("the snapshot finished (%d rows) before the kill; the test needs a kill mid-snapshot", len(before))
	}
	st, _ := state.Open(spec.StateDir)
	if v, ok, err := st.Get("crash\x00source"); err != nil || !ok || !strings.Contains(string(v), `"pending"`) {
		t.Fatalf("marker after a kill mid-snapshot = %q, %v, %v; want pending", v, ok, err)
	}

	// Inserts while the connector is down and while it runs again.
	var wg sync.WaitGroup
	ins, stop := conn(t, db), make(chan struct{})
	t.Cleanup(func() { close(stop); wg.Wait() }) // before ins closes
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := snapRows + 1; i <= snapRows+streamRows; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if _, err := ins.Exec(context.Background(), `INSERT INTO k VALUES ($1)`, i); err != nil {
				t.Error(err)
				return
			}
		}
	}()

	// 2. The restart snapshots again in full, then streams; kill it mid-stream.
	spec.DelayMs = 0
	c = startChild(t, spec)
	waitLines(t, spec.Out, "streamed rows, acknowledged", func(ls []line) bool {
		n := 0
		for _, l := range ls[len(before):] {
			if l.op == "insert" {
				n++
			}
		}
		var p runtime.Position
		v, ok, err := st.Get("crash")
		return n >= 300 && err == nil && ok && p.UnmarshalJSON(v) == nil && !strings.HasPrefix(p.Token, snapshotTokenPrefix)
	})
	kill9(t, c)
	ls := readLines(t, spec.Out)
	snap := map[int64]bool{}
	for _, l := range ls[len(before):] {
		if l.op == "snapshot" {
			snap[l.id] = true
		}
	}
	if len(snap) < snapRows {
		t.Fatalf("the restart after a kill mid-snapshot re-read %d of %d rows: the snapshot must be taken again in full", len(snap), snapRows)
	}
	wg.Wait()
	mid := len(ls)
	var maxSeen int64
	for _, l := range ls {
		if l.op == "insert" && l.id > maxSeen {
			maxSeen = l.id
		}
	}
	// The position the driver kept: the restart goes on after it.
	var acked runtime.Position
	if v, ok, err := st.Get("crash"); err != nil || !ok || acked.UnmarshalJSON(v) != nil {
		t.Fatalf("state file after the kill mid-stream: %q, %v, %v", v, ok, err)
	}
	var ackedID int64
	for _, l := range ls[len(before):] {
		if l.token == acked.Token {
			ackedID = l.id
		}
	}
	if ackedID == 0 {
		t.Fatalf("the kept position %s is no record written after the first restart", acked.Token)
	}

	// 3. The next restart resumes from the slot: a suffix is replayed, nothing is missing.
	c = startChild(t, spec)
	ls = waitLines(t, spec.Out, "every row", func(ls []line) bool {
		seen := map[int64]bool{}
		for _, l := range ls {
			seen[l.id] = true
		}
		return len(seen) == snapRows+streamRows
	})
	kill9(t, c)
	var resumed []int64
	for _, l := range ls[mid:] {
		if l.op == "snapshot" {
			t.Fatalf("restart mid-stream re-read the snapshot (row %d)", l.id)
		}
		resumed = append(resumed, l.id)
	}
	if len(resumed) == 0 {
		t.Fatal("nothing after the second restart")
	}
	for i := 1; i < len(resumed); i++ {
		if resumed[i] != resumed[i-1]+1 {
			t.Fatalf("after the second restart ids jump from %d to %d", resumed[i-1], resumed[i])
		}
	}
	if first := resumed[0]; first != ackedID+1 {
		t.Fatalf("resumed at id %d; want %d, the one after the kept position %s (id %d): rows lost or acknowledged rows again", first, ackedID+1, acked.Token, ackedID)
	} else {
		t.Logf("killed after id %d, acknowledged up to %d; resumed at %d: %d rows delivered twice (unacknowledged window)", maxSeen, ackedID, first, maxSeen-first+1)
	}
}

// TestKill9InsideATransactionResumesAfterTheAckedPosition kills a
// connector process with SIGKILL in the middle of a large transaction:
// the restart, which the driver resumes at the position it kept in
// state_dir, delivers the transaction from the record after that
// position, and the records it delivers again (written, not yet
// acknowledged, before the kill) carry the tokens they had.
func TestKill9InsideATransactionResumesAfterTheAckedPosition(t *testing.T) {
	const rows = 20000
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE k (id int PRIMARY KEY)`)
	spec := childSpec{Config: config(db, "k"), StateDir: t.TempDir(), Out: filepath.Join(t.TempDir(), "out"), DelayMs: 5}
	st, err := state.Open(spec.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	c := startChild(t, spec)
	deadline := time.Now().Add(60 * time.Second)
	for { // the (empty) snapshot is done: the rows arrive as changes
		if v, ok, _ := st.Get("crash\x00source"); ok && strings.Contains(string(v), `"done"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child did not finish its snapshot")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cluster.Exec(t, db, fmt.Sprintf(`INSERT INTO k SELECT generate_series(1, %d)`, rows))
	var acked runtime.Position
	waitLines(t, spec.Out, "part of the transaction, acknowledged", func(ls []line) bool {
		v, ok, err := st.Get("crash")
		if err != nil || !ok || len(ls) < 3000 {
			return false
		}
		return acked.UnmarshalJSON(v) == nil && acked.Token != ""
	})
	kill9(t, c)
	before := readLines(t, spec.Out)
	if len(before) >= rows {
		t.Fatalf("the transaction was delivered in full (%d rows) before the kill; the test needs a kill inside it", len(before))
	}
	// The position kept at the kill (it may have moved since the wait).
	v, _, err := st.Get("crash")
	if err != nil || acked.UnmarshalJSON(v) != nil {
		t.Fatalf("state file after the kill: %q, %v", v, err)
	}
	_, commit, n, err := parseToken(acked.Token)
	if err != nil || n >= rows {
		t.Fatalf("kept position %+v: %v; want one inside the transaction", acked, err)
	}
	was := map[int64]string{}
	for _, l := range before {
		was[l.id] = l.token
		if want := fmt.Sprintf("%s:%d", commit, l.id); l.token != want {
			t.Fatalf("before the kill, id %d has token %q; want %q", l.id, l.token, want)
		}
	}
	for id := int64(1); id <= int64(n); id++ {
		if was[id] == "" {
			t.Fatalf("id %d is acknowledged (kept position %s) but was never written", id, acked.Token)
		}
	}

	c = startChild(t, spec)
	ls := waitLines(t, spec.Out, "every row", func(ls []line) bool {
		return len(ls) > len(before) && ls[len(ls)-1].id == rows
	})
	kill9(t, c)
	after := ls[len(before):]
	for i, l := range after {
		want := line{"insert", int64(n) + 1 + int64(i), fmt.Sprintf("%s:%d", commit, int64(n)+1+int64(i))}
		if l != want {
			t.Fatalf("after the restart at %s, line %d is %+v; want %+v (the rows after the kept position, once)", acked.Token, i, l, want)
		}
		if w, ok := was[l.id]; ok && w != l.token {
			t.Fatalf("id %d delivered again with token %q; it had %q", l.id, l.token, w)
		}
	}
	t.Logf("killed after %d rows, %d acknowledged (%s): %d rows delivered again", len(before), n, acked.Token, len(before)-int(n))
}
