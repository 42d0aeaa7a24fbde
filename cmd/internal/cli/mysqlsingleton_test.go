package cli

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/mysql/mysqltest"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
)

// TestDistributedMySQLSingletonFailover runs a mysql-cdc pipeline as a
// cluster singleton on two processes with no state_dir (the position lives
// in the lease row), under a steady insert load: after a kill -9 of the
// leader the other node leads within heartbeat + 2 s and resumes from the
// shared position; every row arrives. With RIVVEN_SOAK_FAILOVER=N (make
// soak) the leader is killed N times, each time restarted as a standby.
func TestDistributedMySQLSingletonFailover(t *testing.T) {
	bin := selfAs(t, "rivven-connect")
	srv, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	my := mysqltest.New(t, mysqltest.Options{})
	db := my.NewDatabase(t)
	my.Exec(t, db, "CREATE TABLE w (id BIGINT PRIMARY KEY)")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
broker: {bootstrap_servers: [%q]}
distributed:
  enabled: true
  node_id: ${NODE_ID}
  failover: {heartbeat_interval_ms: 200, failure_timeout_ms: 2000}
sources:
  my:
    connector: mysql-cdc
    config: {host: 127.0.0.1, port: %d, user: %s, password: "${MYSQLPW}", server_id: 7301, tables: [%s.w], tls: {mode: disable}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: my, sink: out}
`, srv.Addr(), my.Port, mysqltest.Superuser, db))
	nodes := map[string]*node{}
	start := func(name string) {
		var out *syncBuffer
		if old := nodes[name]; old != nil {
			out = old.out // one log per node name, across restarts
		}
		cmd := exec.Command(bin, "run", "-c", cfg)
		cmd.Env = append(os.Environ(), "MYSQLPW="+my.Password)
		nodes[name] = launch(t, name, cmd, out)
	}
	start("node-1")
	start("node-2")
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	leads := regexp.MustCompile(`msg="leading the pipeline"`)
	leader := func(not *node, after int) *node {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			for _, n := range nodes {
				if n != not && n.running() && len(leads.FindAllString(n.log(), -1)) > after {
					return n
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no node leads\n%s", logs(nodes))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	first := leader(nil, 0)

	// The writer inserts ids 1, 2, … one autocommit statement each.
	conn := my.Open(t, db)
	var mu sync.Mutex
	last := int64(0)
	quit, wrote := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(wrote)
		for id := int64(1); ; id++ {
			select {
			case <-quit:
				return
			default:
			}
			if _, err := conn.Exec("INSERT INTO w VALUES (?)", id); err != nil {
				t.Errorf("insert %d: %v", id, err)
				return
			}
			mu.Lock()
			last = id
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	ids := func() map[int64]int {
		out := map[int64]int{}
		for _, n := range nodes {
			for _, m := range mysqlRowID.FindAllStringSubmatch(n.log(), -1) {
				v, _ := strconv.ParseInt(m[1], 10, 64)
				out[v]++
			}
		}
		return out
	}
	for deadline := time.Now().Add(60 * time.Second); len(ids()) < 300; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the leader delivered %d rows\n%s", len(ids()), logs(nodes))
		}
	}
	// Kill the leader, restart it as a standby, repeat: cycles from
	// RIVVEN_SOAK_FAILOVER (make soak), 1 by default.
	cycles, _ := strconv.Atoi(os.Getenv("RIVVEN_SOAK_FAILOVER"))
	cycles = max(cycles, 1)
	before := 0
	var takeovers []time.Duration
	for c := range cycles {
		if c > 0 {
			// Let the new leader deliver for a while first.
			time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		}
		counts := map[string]int{}
		for name, n := range nodes {
			counts[name] = len(leads.FindAllString(n.log(), -1))
		}
		first.kill()
		killed := time.Now()
		if c == 0 {
			before = len(ids())
		}
		var second *node
		for deadline := time.Now().Add(60 * time.Second); second == nil; time.Sleep(10 * time.Millisecond) {
			for name, n := range nodes {
				if n != first && n.running() && len(leads.FindAllString(n.log(), -1)) > counts[name] {
					second = n
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: no node leads after %s was killed\n%s", c, first.name, logs(nodes))
			}
		}
		took := time.Since(killed)
		takeovers = append(takeovers, took)
		if took > 200*time.Millisecond+2*time.Second {
			t.Errorf("cycle %d: %s led %v after the kill -9 of %s: more than heartbeat + 2 s", c, second.name, took, first.name)
		}
		start(first.name) // back as a standby
		first = second
	}
	second := first
	time.Sleep(time.Second)
	close(quit)
	<-wrote
	mu.Lock()
	n := last
	mu.Unlock()
	var got map[int64]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = ids()
		missing := 0
		for id := int64(1); id <= n; id++ {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows never arrived\n%s", missing, n, logs(nodes))
		}
	}
	dups := 0
	for _, c := range got {
		dups += c - 1
	}
	slices.Sort(takeovers)
	t.Logf("%d kill -9 cycles: take-over median %v, max %v; %d rows, 0 lost, %d delivered twice", cycles,
		takeovers[len(takeovers)/2].Round(time.Millisecond), takeovers[len(takeovers)-1].Round(time.Millisecond), n, dups)
	if cycles == 1 && dups >= before {
		t.Errorf("%d rows delivered twice of the %d the first leader delivered: %s started over instead of resuming from the position in the lease", dups, before, second.name)
	}
}

var mysqlRowID = regexp.MustCompile(`"data":\{"id":(\d+)\}`)
