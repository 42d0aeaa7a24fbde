package httpsource

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A paginated API of 10,000 pages read by the real rivven-connect binary
// (config → check → interpreter → driver → state_dir), killed with SIGKILL
// while records flow, then run again to the end: every record is
// delivered, the second run starts at the page of the position the first
// saved (so of the records at or before it at most one page comes again),
// and the bearer token from ${API_TOKEN} appears in neither the output,
// the logs nor the state directory.
func TestKill9MidwayResumes(t *testing.T) {
	const pages, per = 10_000, 3
	const n = pages * per
	bin := filepath.Join(t.TempDir(), "rivven-connect")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rivven/rivven-connect/cmd/rivven-connect").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	api := newFakeAPI(t, "cursor", n, per)
	api.authOK = func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok-secret-333" }
	// Pages from 9000 on wait until the first run is killed, so that it
	// cannot finish first.
	release := make(chan struct{})
	var once sync.Once
	api.hold = func(r *http.Request) {
		if c := r.URL.Query().Get("cursor"); c != "" {
			if p, _ := strconv.Atoi(strings.TrimPrefix(c, "c")); p >= 9000 {
				<-release
			}
		}
	}
	defer once.Do(func() { close(release) })

	dir := t.TempDir()
	cfg := filepath.Join(dir, "connect.yaml")
	stateDir := filepath.Join(dir, "state")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
settings: {state_dir: %q}
sources:
  api:
    connector: http
    config:
      url: %s
      records_path: data.items
      pagination: {cursor_path: meta.next, cursor_param: cursor}
      at_end: stop
      stream: items
      auth: {bearer: {token: "${API_TOKEN}"}}
sinks:
  out: {connector: stdout, config: {format: json, include_metadata: true}, batch: {max_records: 4}}
pipelines:
  p: {source: api, sink: out}
`, stateDir, api.url())), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	run := func(stderr *bytes.Buffer) *exec.Cmd {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(bin, "run", "-c", cfg)
		cmd.Env = append(os.Environ(), "API_TOKEN=tok-secret-333")
		cmd.Stdout, cmd.Stderr = f, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	var stderr1 bytes.Buffer
	cmd := run(&stderr1)
	for deadline := time.Now().Add(2 * time.Minute); lines(t, out) < n/3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the first run delivered %d records in 2 minutes:\n%s", lines(t, out), stderr1.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	once.Do(func() { close(release) })
	// A write cut by the kill leaves a line without its end: end it, so
	// that the second run's lines stay whole.
	torn := false
	if b, err := os.ReadFile(out); err != nil {
		t.Fatal(err)
	} else if len(b) > 0 && b[len(b)-1] != '\n' {
		torn = true
		f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("\n")
		f.Close()
	}
	firstLines := lines(t, out)
	saved := savedPosition(t, stateDir, "p")

	var stderr2 bytes.Buffer
	cmd = run(&stderr2)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr2.String())
	}

	// Every id, in order within each run; the second run from the saved
	// page on.
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var first, second []int64
	sc := bufio.NewScanner(bytes.NewReader(data))
	for i := 0; sc.Scan(); i++ {
		var e struct {
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
			Meta struct {
				Position string `json:"position"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			if !torn || i != firstLines-1 {
				t.Fatalf("line %d: %v: %s", i+1, err, sc.Bytes())
			}
			continue // the torn last line of the killed run: never acknowledged
		}
		if i < firstLines {
			first = append(first, e.Data.ID)
		} else {
			second = append(second, e.Data.ID)
		}
	}
	for i, id := range first {
		if id != int64(i) {
			t.Fatalf("first run: record %d has id %d", i, id)
		}
	}
	checkResumed(t, first, second, saved, n, per)
	dups := len(first) + len(second) - n
	t.Logf("killed after %d records; %d delivered again in all (records written after the last saved position, and at most one page before it)", len(first), dups)
	assertNoSecret(t, "the output", string(data))
	assertNoSecret(t, "the logs", stderr1.String()+stderr2.String())
	assertNoSecret(t, "the state directory", string(stateFiles(t, stateDir)))
}

// lines counts the complete lines of a file (0 when it does not exist).
func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte{'\n'})
}
