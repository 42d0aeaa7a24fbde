package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
// shared position; every row arrives.
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
	for _, name := range []string{"node-1", "node-2"} {
		n := &node{name: name, out: &syncBuffer{}, done: make(chan struct{})}
		n.cmd = exec.Command(bin, "run", "-c", cfg)
		n.cmd.Env = append(os.Environ(), "NODE_ID="+name, "MYSQLPW="+my.Password)
		n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			_ = n.cmd.Wait()
			close(n.done)
		}()
		nodes[name] = n
	}
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	leader := func(not *node) *node {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			for _, n := range nodes {
				if n != not && n.running() && regexp.MustCompile(`msg="leading the pipeline"`).MatchString(n.log()) {
					return n
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no node leads\n%s", logs(nodes))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	first := leader(nil)

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
	first.kill()
	killed := time.Now()
	before := len(ids())
	second := leader(first)
	took := time.Since(killed)
	if took > 200*time.Millisecond+2*time.Second {
		t.Errorf("%s led %v after the kill -9 of %s: more than heartbeat + 2 s", second.name, took, first.name)
	}
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
	t.Logf("%s led %v after %s was killed; %d rows, 0 lost, %d delivered twice", second.name, took.Round(time.Millisecond), first.name, n, dups)
	if dups >= before {
		t.Errorf("%d rows delivered twice of the %d %s delivered: %s started over instead of resuming from the position in the lease", dups, before, first.name, second.name)
	}
}

var mysqlRowID = regexp.MustCompile(`"data":\{"id":(\d+)\}`)
