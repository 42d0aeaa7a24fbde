package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
)

// TestDistributedScalable runs a scalable pipeline of 6 tasks (datagen,
// split) on up to 3 processes sharing them through the broker's group
// protocol: a node joining and a node leaving (SIGTERM) rebalance within
// the session (failure_timeout) + 3 s, a killed node's tasks move within
// the session + 3 s, every task produces records, and no task ever runs
// on two nodes at once — each node logs when each task starts and stops,
// and the intervals of one task on different nodes never overlap (a
// killed node's end at the moment it was killed).
func TestDistributedScalable(t *testing.T) {
	for _, mode := range []struct {
		name    string
		rivvend bool
	}{{"join-barrier", false}, {"rivvend-timing", true}} {
		t.Run(mode.name, func(t *testing.T) { testScalable(t, mode.rivvend) })
	}
}

const scalableTasks = 6

func testScalable(t *testing.T, rivvend bool) {
	bin := selfAs(t, "rivven-connect")
	srv, err := brokertest.Start(brokertest.Config{RivvendGroupTiming: rivvend})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const session = 2 * time.Second
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
broker: {bootstrap_servers: [%q]}
distributed:
  enabled: true
  node_id: ${NODE_ID}
  failover: {heartbeat_interval_ms: 200, failure_timeout_ms: %d}
sources:
  gen: {connector: datagen, config: {pattern: sequence, events_per_second: 600, seed: 7}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: gen, sink: out, mode: scalable, tasks: %d}
`, srv.Addr(), session.Milliseconds(), scalableTasks))

	nodes := map[string]*node{}
	killedAt := map[string]time.Time{}
	start := func(name string) { nodes[name] = launch(t, name, exec.Command(bin, "run", "-c", cfg), nil) }
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	// waitDealt waits until the live nodes' latest assignments are of one
	// generation and cover every task once, want[node] tasks each.
	waitDealt := func(what string, want map[string]int, within time.Duration) time.Duration {
		t.Helper()
		t0 := time.Now()
		for {
			if taskDeal(nodes, want) {
				return time.Since(t0)
			}
			if time.Since(t0) > within {
				t.Fatalf("%s: the tasks were not dealt %v within %v\n%s", what, want, within, logs(nodes))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	limit := session + 3*time.Second

	start("node-1")
	start("node-2")
	waitDealt("two nodes", map[string]int{"node-1": 3, "node-2": 3}, 60*time.Second)

	start("node-3")
	joined := waitDealt("node-3 joined", map[string]int{"node-1": 2, "node-2": 2, "node-3": 2}, limit)
	time.Sleep(500 * time.Millisecond) // records of every task on three nodes

	nodes["node-3"].stop()
	left := waitDealt("node-3 left", map[string]int{"node-1": 3, "node-2": 3}, limit)

	nodes["node-2"].kill()
	killedAt["node-2"] = time.Now()
	moved := waitDealt("node-2 killed", map[string]int{"node-1": 6}, limit)
	waitClusterStatus(t, cfg, "node-1", 6, 10*time.Second)

	// A node paused past the session loses its tasks to another, and
	// once it wakes writes nothing but what a task had already passed its
	// membership check for: stdout cannot be fenced, so each task has the
	// one-write window SPEC §2.8 describes.
	start("node-4")
	waitDealt("node-4 joined", map[string]int{"node-1": 3, "node-4": 3}, limit)
	n1 := nodes["node-1"]
	n1.signal(syscall.SIGSTOP)
	stoppedAt := time.Now()
	paused := waitDealt("node-1 paused", map[string]int{"node-4": 6}, 2*limit)
	time.Sleep(200 * time.Millisecond) // the pipe drained what node-1 wrote before it stopped
	before := len(seqValue.FindAllString(n1.log(), -1))
	n1.signal(syscall.SIGCONT)
	n1.waitLog(t, "stopping its tasks at once", 10*time.Second)
	time.Sleep(time.Second)
	// (Later it joins again and is dealt tasks anew.)
	after := len(seqValue.FindAllString(n1.log(), -1))
	if after-before > 50 {
		t.Errorf("node-1 wrote %d records in the second after it woke from a pause past the session; want at most one write per task (a few records)", after-before)
	}
	t.Logf("node-1 wrote %d records after it woke (one-write window)", after-before)
	killedAt["node-1"] = stoppedAt // its tasks ended when it was paused, as far as the others know
	nodes["node-4"].stop()
	n1.stop()
	t.Logf("rebalance after a join %v, after a leave %v, after kill -9 %v, after SIGSTOP %v (limit %v)", joined.Round(time.Millisecond), left.Round(time.Millisecond), moved.Round(time.Millisecond), paused.Round(time.Millisecond), limit)

	// Every task produced records: task i emits the sequence numbers ≡ i.
	perTask := map[int]int{}
	for _, n := range nodes {
		for _, m := range seqValue.FindAllStringSubmatch(n.log(), -1) {
			v, _ := strconv.Atoi(m[1])
			perTask[v%scalableTasks]++
		}
	}
	for i := range scalableTasks {
		if perTask[i] == 0 {
			t.Errorf("task %d produced no records\n%s", i, logs(nodes))
		}
	}
	// No task on two nodes at once.
	type span struct {
		node       string
		start, end time.Time
	}
	spans := map[int][]span{}
	for name, n := range nodes {
		open := map[int]time.Time{}
		for _, line := range strings.Split(n.log(), "\n") {
			m := taskEvent.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				t.Fatalf("%s: log time %q: %v", name, m[1], err)
			}
			task, _ := strconv.Atoi(m[3])
			if m[2] == "started" {
				open[task] = at
				continue
			}
			spans[task] = append(spans[task], span{name, open[task], at})
			delete(open, task)
		}
		if end, ok := killedAt[name]; ok {
			// A paused or killed node's tasks end, for the others, when
			// it stopped: anything it logged later is its own wake-up.
			for task, ss := range spans {
				for k := range ss {
					if ss[k].node == name && ss[k].end.After(end) && ss[k].start.Before(end) {
						spans[task][k].end = end
					}
				}
			}
		}
		for task, at := range open {
			end, ok := killedAt[name]
			if !ok {
				t.Errorf("%s: task %d started at %v and never stopped, though the node was not killed\n%s", name, task, at, n.log())
				continue
			}
			spans[task] = append(spans[task], span{name, at, end})
		}
	}
	for task, ss := range spans {
		slices.SortFunc(ss, func(a, b span) int { return a.start.Compare(b.start) })
		for k := 1; k < len(ss); k++ {
			if ss[k].node != ss[k-1].node && ss[k].start.Before(ss[k-1].end) {
				t.Errorf("task %d ran on %s from %v and on %s from %v to %v at the same time", task,
					ss[k].node, ss[k].start.Format(time.StampMilli), ss[k-1].node, ss[k-1].start.Format(time.StampMilli), ss[k-1].end.Format(time.StampMilli))
			}
		}
	}
	if os.Getenv("SCALABLE_DEBUG") != "" {
		for task, ss := range spans {
			for _, s := range ss {
				t.Logf("task %d on %s %s → %s", task, s.node, s.start.Format(time.StampMilli), s.end.Format(time.StampMilli))
			}
		}
	}
	if len(spans) != scalableTasks {
		t.Errorf("%d tasks ran, want %d", len(spans), scalableTasks)
	}
}

var (
	seqValue   = regexp.MustCompile(`"data":\{"value":(\d+)\}`)
	taskEvent  = regexp.MustCompile(`time=(\S+) .*msg="task (started|stopped)".* task=(\d+)`)
	tasksDealt = regexp.MustCompile(`msg="tasks assigned".* generation=(\d+) tasks="?\[([\d ]*)\]"?`)
)

// waitClusterStatus waits until `status --cluster` shows node running
// tasks tasks, with records read and their event lag, and every task
// owned (exit 0).
func waitClusterStatus(t *testing.T, cfg, node string, tasks int, within time.Duration) {
	t.Helper()
	t.Setenv("NODE_ID", "reader")
	deadline := time.Now().Add(within)
	for {
		out, errOut, code := mainOut(t, "status", "--cluster", "-c", cfg, "--format", "json")
		var rep clusterReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("status --cluster: exit %d: %v\n%s%s", code, err, out, errOut)
		}
		ok := code == exitOK && len(rep.Unowned) == 0
		found := false
		for _, s := range rep.Nodes {
			if s.Node == node && !s.Silent && s.Role == "member" && len(strings.Split(s.Tasks, ",")) == tasks && s.LagMs >= 0 && s.In > 0 {
				found = true
			}
		}
		if ok && found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status --cluster: exit %d, want %s running %d tasks and none unowned:\n%s%s", code, node, tasks, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// taskDeal reports whether the latest assignment of each node in want is
// of one generation and gives it want[node] tasks, together every task
// once.
func taskDeal(nodes map[string]*node, want map[string]int) bool {
	gen := ""
	seen := map[string]bool{}
	for name, count := range want {
		n := nodes[name]
		if n == nil || !n.running() {
			return false
		}
		all := tasksDealt.FindAllStringSubmatch(n.log(), -1)
		if len(all) == 0 {
			return false
		}
		last := all[len(all)-1]
		if gen != "" && last[1] != gen {
			return false
		}
		gen = last[1]
		fs := strings.Fields(last[2])
		if len(fs) != count {
			return false
		}
		for _, f := range fs {
			if seen[f] {
				return false
			}
			seen[f] = true
		}
	}
	return len(seen) == scalableTasks
}

// TestDistributedScalableSharesPositions runs a resumable source (http,
// cursor pages) as a scalable pipeline of one task on two nodes, one the
// interpreter and one the compiled binary of the config: when
// the node that runs it is killed, the other takes it over from the
// position acknowledged in the cluster (the tasks' state topic), not
// from the first page, and every record arrives.
func TestDistributedScalableSharesPositions(t *testing.T) {
	bin := selfAs(t, "rivven-connect")
	srv, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const pages, perPage = 300, 5
	var mu sync.Mutex
	type request struct {
		at     time.Time
		cursor string
	}
	var reqs []request
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := r.URL.Query().Get("cursor")
		mu.Lock()
		reqs = append(reqs, request{time.Now(), cur})
		mu.Unlock()
		k, _ := strconv.Atoi(cur)
		time.Sleep(10 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		if k >= pages {
			fmt.Fprint(w, `{"data":[],"next":null}`)
			return
		}
		var ids []string
		for i := range perPage {
			ids = append(ids, fmt.Sprintf(`{"id":%d}`, k*perPage+i))
		}
		fmt.Fprintf(w, `{"data":[%s],"next":"%d"}`, strings.Join(ids, ","), k+1)
	}))
	defer api.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
broker: {bootstrap_servers: [%q]}
distributed:
  enabled: true
  node_id: ${NODE_ID}
  failover: {heartbeat_interval_ms: 200, failure_timeout_ms: 2000}
sources:
  api:
    connector: http
    config: {url: %q, records_path: data, pagination: {cursor_path: next, cursor_param: cursor}, interval_ms: 200, stream: items}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: api, sink: out, mode: scalable}
`, srv.Addr(), api.URL+"/items"))
	// node-2 runs the compiled binary of the same config: both back ends
	// share one group.
	compiled := filepath.Join(dir, "compiled")
	t.Setenv("NODE_ID", "compiler") // read again at start-up
	if out, errs, code := mainOut(t, "compile", "-c", cfg, "-o", compiled); code != 0 {
		t.Fatalf("compile exit %d: %s%s", code, out, errs)
	}
	nodes := map[string]*node{}
	nodes["node-1"] = launch(t, "node-1", exec.Command(bin, "run", "-c", cfg), nil)
	nodes["node-2"] = launch(t, "node-2", exec.Command(compiled, "run"), nil)
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	ids := func(n *node) map[int]bool {
		out := map[int]bool{}
		for _, m := range itemID.FindAllStringSubmatch(n.log(), -1) {
			v, _ := strconv.Atoi(m[1])
			out[v] = true
		}
		return out
	}
	// Kill whichever node runs the task once it delivered a few pages.
	var first, second *node
	deadline := time.Now().Add(60 * time.Second)
	for first == nil {
		for _, n := range nodes {
			if len(ids(n)) >= 20*perPage {
				first = n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node delivered 20 pages\n%s", logs(nodes))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, n := range nodes {
		if n != first {
			second = n
		}
	}
	first.kill()
	killed := time.Now()
	delivered := len(ids(first))
	deadline = time.Now().Add(60 * time.Second)
	for {
		all := ids(first)
		for id := range ids(second) {
			all[id] = true
		}
		if len(all) == pages*perPage {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records arrived after %s was killed\n%s", len(all), pages*perPage, first.name, logs(nodes))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	var after []request
	for _, r := range reqs {
		if r.at.After(killed) {
			after = append(after, r)
		}
	}
	mu.Unlock()
	if len(after) == 0 || after[0].cursor == "" {
		t.Fatalf("%s started the task over from the first page, not from the acknowledged position (first request after the kill: %+v)", second.name, after[:min(1, len(after))])
	}
	resumed, _ := strconv.Atoi(after[0].cursor)
	again := len(ids(second)) - (pages*perPage - resumed*perPage)
	t.Logf("%s delivered %d records before kill -9; %s resumed at page %d (records delivered twice: %d)", first.name, delivered, second.name, resumed, max(again, 0))
	if resumed*perPage > delivered {
		t.Errorf("%s resumed at page %d, past the %d records %s delivered", second.name, resumed, delivered, first.name)
	}
}

var itemID = regexp.MustCompile(`"data":\{"id":(\d+)\}`)
