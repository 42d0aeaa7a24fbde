package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
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

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// A postgres-cdc pipeline as a cluster singleton, three nodes (processes
// of this test binary running rivven-connect) on loopback with a real
// PostgreSQL and brokertest, under a steady insert load:
//   - kill -9 of the leader: a standby leads within heartbeat + 2 s, and
//     every row reaches the topic;
//   - SIGSTOP of the next leader past the failure timeout: a standby takes
//     over; after SIGCONT the old leader publishes nothing (its lease
//     check and its fenced producer epoch stop it) and stands by again.
//
// It logs the takeover times and the duplicates.
func TestDistributedSingletonFailover(t *testing.T) {
	bin := selfAs(t, "rivven-connect")
	cl := pgtest.New(t, pgtest.Options{})
	db := cl.NewDatabase(t)
	cl.Exec(t, db, `CREATE TABLE w (id bigint PRIMARY KEY)`)
	srv, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	const heartbeat, failure = 200 * time.Millisecond, 2 * time.Second
	slot := pgtest.SlotName(db)
	writeFile(t, cfg, fmt.Sprintf(`
broker: {bootstrap_servers: [%q]}
distributed:
  enabled: true
  node_id: ${NODE_ID}
  failover: {heartbeat_interval_ms: %d, failure_timeout_ms: %d}
settings: {shutdown_timeout: 20}
sources:
  pg:
    connector: postgres-cdc
    config: {host: 127.0.0.1, port: "${PGPORT}", database: %s, user: %s, password: "${PGPW}", slot_name: %s, tables: [w], tls: {mode: disable}}
    topic: rows
`, srv.Addr(), heartbeat.Milliseconds(), failure.Milliseconds(), db, pgtest.Superuser, slot))

	nodes := map[string]*node{}
	for _, name := range []string{"node-1", "node-2", "node-3"} {
		// Each node reaches PostgreSQL through a proxy of its own, which
		// can stall its network.
		px := startProxy(t, fmt.Sprintf("127.0.0.1:%d", cl.Port))
		nodes[name] = startNode(t, bin, cfg, name, cl.Password, px)
	}
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	w := startWriter(t, cl.DSN(db))
	defer w.stop()

	leader := waitLeader(t, cl.DSN(db), slot, "", 30*time.Second, nodes)
	waitRows(t, srv.Addr(), 200, 30*time.Second, nodes)

	// kill -9 of the leader.
	killed := time.Now()
	nodes[leader.holder].kill()
	next := waitLeader(t, cl.DSN(db), slot, leader.holder, heartbeat+10*time.Second, nodes)
	killTakeover := time.Since(killed)
	if killTakeover > heartbeat+2*time.Second {
		t.Errorf("after kill -9 a standby led in %v, want within heartbeat + 2 s (%v)", killTakeover, heartbeat+2*time.Second)
	}
	time.Sleep(500 * time.Millisecond) // rows for the new leader

	// SIGSTOP of the new leader past the failure timeout.
	paused := nodes[next.holder]
	paused.signal(syscall.SIGSTOP)
	stopped := time.Now()
	third := waitLeader(t, cl.DSN(db), slot, next.holder, failure+10*time.Second, nodes)
	stopTakeover := time.Since(stopped)
	last := w.stop()
	want := waitAllRows(t, srv.Addr(), last, 60*time.Second, nodes)
	paused.signal(syscall.SIGCONT)
	paused.waitLog(t, "lost the pipeline's lease", 20*time.Second)
	time.Sleep(2 * heartbeat) // anything the old leader still held would be published by now
	after := readTopic(t, srv.Addr(), "rows")
	if len(after) != len(want) {
		t.Errorf("the old leader published %d records after it resumed; want 0 (fenced)", len(after)-len(want))
	}
	if !paused.running() {
		t.Errorf("the old leader exited instead of standing by:\n%s", paused.log())
	}
	if h, _ := leaseHolder(t, cl.DSN(db), slot); h != third.holder {
		t.Errorf("lease holder %s after the old leader resumed, want %s", h, third.holder)
	}

	// A network stall between the leader and PostgreSQL: the leader's
	// renewals time out and it steps down; a standby takes over after the
	// failure timeout; rows written meanwhile all arrive.
	w2 := startWriterFrom(t, cl.DSN(db), last)
	defer w2.stop()
	waitRows(t, srv.Addr(), len(after)+100, 30*time.Second, nodes)
	cut := nodes[third.holder]
	steps := strings.Count(cut.log(), "lost the pipeline's lease")
	cut.proxy.stall()
	stalled := time.Now()
	fourth := waitLeader(t, cl.DSN(db), slot, third.holder, failure+10*time.Second, nodes)
	stallTakeover := time.Since(stalled)
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(cut.log(), "lost the pipeline's lease") == steps {
		if time.Now().After(deadline) {
			t.Fatalf("the cut-off leader never stepped down:\n%s", cut.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cut.proxy.resume()
	last = w2.stop()
	final := waitAllRows(t, srv.Addr(), last, 60*time.Second, nodes)
	if h, _ := leaseHolder(t, cl.DSN(db), slot); h != fourth.holder {
		t.Errorf("lease holder %s after the stall ended, want %s", h, fourth.holder)
	}
	want = final

	// status --cluster shows every node from the cluster topic: the live
	// leader, the standbys, and the node killed at the start as silent.
	t.Setenv("NODE_ID", "reader")
	t.Setenv("PGPW", cl.Password)
	t.Setenv("PGPORT", strconv.Itoa(cl.Port))
	var rep clusterReport
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, errOut, code := mainOut(t, "status", "--cluster", "-c", cfg, "--format", "json")
		rep = clusterReport{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("status --cluster: exit %d: %v\n%s%s", code, err, out, errOut)
		}
		if code == exitOK && clusterShows(rep, fourth.holder, leader.holder) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status --cluster: exit %d, want %s leading and %s silent:\n%s%s", code, fourth.holder, leader.holder, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
	text, _, code := mainOut(t, "status", "--cluster", "-c", cfg)
	t.Logf("status --cluster:\n%s", text)
	if code != exitOK || !strings.Contains(text, "cluster topic connect-status: 3 nodes") || !strings.Contains(text, "(silent)") {
		t.Errorf("status --cluster: exit %d\n%s", code, text)
	}
	for _, n := range nodes {
		n.stop()
		if l := n.log(); strings.Contains(l, "DATA RACE") || strings.Contains(l, "panic:") {
			t.Errorf("%s:\n%s", n.name, l)
		}
	}
	dups := len(want) - int(last)
	t.Logf("takeover after kill -9: %v (heartbeat %v); after SIGSTOP: %v, after a network stall: %v (failure timeout %v); %d rows, %d duplicates",
		killTakeover.Round(time.Millisecond), heartbeat, stopTakeover.Round(time.Millisecond), stallTakeover.Round(time.Millisecond), failure, last, dups)
}

// clusterShows reports whether rep has leader as the one live leader of
// the pipeline, the other live nodes standing by, and dead silent.
func clusterShows(rep clusterReport, leader, dead string) bool {
	leaders, silentDead := 0, false
	for _, s := range rep.Nodes {
		switch {
		case s.Node == dead:
			silentDead = s.Silent
		case s.Silent:
			return false
		case s.Role == "leader":
			leaders++
			if s.Node != leader || s.State != "running" {
				return false
			}
		case s.Role != "standby":
			return false
		}
	}
	return leaders == 1 && silentDead && len(rep.Nodes) == 3
}

// selfAs returns a path that runs this test binary as the testscript
// command name (TestMain dispatches on the program's name).
func selfAs(t *testing.T, name string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(exe, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// node is one rivven-connect process of the cluster.
type node struct {
	name  string
	proxy *proxy
	cmd   *exec.Cmd
	out   *syncBuffer
	done  chan struct{}
}

func startNode(t *testing.T, bin, cfg, name, pw string, px *proxy) *node {
	t.Helper()
	cmd := exec.Command(bin, "run", "-c", cfg)
	cmd.Env = append(os.Environ(), "PGPW="+pw, "PGPORT="+px.port())
	n := launch(t, name, cmd, nil)
	n.proxy = px
	return n
}

// launch starts cmd as node name (NODE_ID=name added to its environment,
// os.Environ() when it has none), its output going to out (a new buffer
// when nil).
func launch(t *testing.T, name string, cmd *exec.Cmd, out *syncBuffer) *node {
	t.Helper()
	if out == nil {
		out = &syncBuffer{}
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "NODE_ID="+name)
	n := &node{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(n.done)
	}()
	return n
}

func (n *node) signal(s syscall.Signal) { _ = n.cmd.Process.Signal(s) }

func (n *node) kill() {
	n.signal(syscall.SIGKILL)
	<-n.done
}

// stop ends the node gracefully (and at once if it does not stop).
func (n *node) stop() {
	if !n.running() {
		return
	}
	n.signal(syscall.SIGCONT)
	n.signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		n.kill()
	}
}

func (n *node) running() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

func (n *node) log() string { return n.out.String() }

func (n *node) waitLog(t *testing.T, text string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(n.log(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q:\n%s", n.name, text, n.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writer inserts ids 1, 2, … into w, one transaction each, until stopped.
type writer struct {
	once sync.Once
	quit chan struct{}
	done chan int64
}

func startWriter(t *testing.T, dsn string) *writer { return startWriterFrom(t, dsn, 0) }

// startWriterFrom is startWriter starting after id from.
func startWriterFrom(t *testing.T, dsn string, from int64) *writer {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{quit: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		defer c.Close(context.Background())
		id := from
		for {
			select {
			case <-w.quit:
				w.done <- id
				return
			default:
			}
			if _, err := c.Exec(context.Background(), `INSERT INTO w VALUES ($1)`, id+1); err != nil {
				t.Errorf("insert %d: %v", id+1, err)
				w.done <- id
				return
			}
			id++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

// stop stops the writer and returns the last id written.
func (w *writer) stop() int64 {
	var last int64 = -1
	w.once.Do(func() {
		close(w.quit)
		last = <-w.done
	})
	return last
}

type leaderInfo struct {
	holder string
	epoch  uint64
}

func leaseHolder(t *testing.T, dsn, slot string) (string, uint64) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var h string
	var e uint64
	err = c.QueryRow(context.Background(), `SELECT holder, epoch FROM `+cdc.LeaseTable+` WHERE name = $1`, slot).Scan(&h, &e)
	if err != nil && err != pgx.ErrNoRows && !strings.Contains(err.Error(), "does not exist") {
		t.Fatal(err)
	}
	return h, e
}

// waitLeader waits until a node other than not holds the lease.
func waitLeader(t *testing.T, dsn, slot, not string, within time.Duration, nodes map[string]*node) leaderInfo {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h, e := leaseHolder(t, dsn, slot)
		if h != "" && h != not {
			return leaderInfo{h, e}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader other than %q within %v (holder %q)\n%s", not, within, h, logs(nodes))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var rowID = regexp.MustCompile(`"id":(\d+)`)

// readTopic returns the ids of every record of topic, in partition order.
func readTopic(t *testing.T, addr, topic string) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{BootstrapServers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.GetMetadata(ctx, topic)
	if err != nil {
		return nil // not created yet
	}
	var ids []int64
	for p := range parts {
		var off uint64
		for {
			msgs, err := c.Consume(ctx, topic, p, off, client.ConsumeOptions{MaxMessages: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				sm := rowID.FindSubmatch(m.Value)
				if sm == nil {
					t.Fatalf("record without an id: %s", m.Value)
				}
				id, _ := strconv.ParseInt(string(sm[1]), 10, 64)
				ids = append(ids, id)
				off = m.Offset + 1
			}
		}
	}
	return ids
}

// waitRows waits until the topic holds at least n records.
func waitRows(t *testing.T, addr string, n int, within time.Duration, nodes map[string]*node) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(readTopic(t, addr, "rows")) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d records within %v\n%s", n, within, logs(nodes))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitAllRows waits until every id 1..last is in the topic and returns
// the topic's ids.
func waitAllRows(t *testing.T, addr string, last int64, within time.Duration, nodes map[string]*node) []int64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ids := readTopic(t, addr, "rows")
		seen := map[int64]bool{}
		for _, id := range ids {
			seen[id] = true
		}
		var missing []int64
		for id := int64(1); id <= last; id++ {
			if !seen[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows never reached the topic (first %v)\n%s", len(missing), last, missing[:min(10, len(missing))], logs(nodes))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func logs(nodes map[string]*node) string {
	var b strings.Builder
	names := make([]string, 0, len(nodes))
	for k := range nodes {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", k, nodes[k].log())
	}
	return b.String()
}

// proxy forwards loopback TCP connections to a server; stall stops every
// byte in both directions (connections stay open, new ones are accepted
// and stall too) until resume.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	held   bool
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(p.close)
	go p.accept()
	return p
}

func (p *proxy) port() string {
	return strconv.Itoa(p.ln.Addr().(*net.TCPAddr).Port)
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies from src to dst, waiting while the proxy is stalled.
func (p *proxy) pipe(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.held {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *proxy) stall() {
	p.mu.Lock()
	p.held = true
	p.mu.Unlock()
}

func (p *proxy) resume() {
	p.mu.Lock()
	p.held = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.resume()
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// A partitioned pipeline on two nodes (processes): the consumer group
// deals the topic's partitions between them, each node reads a share,
// and after a kill -9 of one the other reads everything published later.
// status --cluster shows both as members, the killed one silent.
func TestDistributedPartitioned(t *testing.T) {
	bin := selfAs(t, "rivven-connect")
	srv, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{BootstrapServers: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateTopic(ctx, "orders", 4); err != nil {
		t.Fatal(err)
	}
	next := 0
	publish := func(n int) {
		t.Helper()
		for range n {
			next++
			v := fmt.Appendf(nil, `{"oid":%d}`, next)
			if _, err := c.PublishBatch(ctx, "orders", client.Partition(uint32(next%4)), []wire.Record{{Value: v}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
broker: {bootstrap_servers: [%[1]q]}
distributed:
  enabled: true
  node_id: ${NODE_ID}
  failover: {heartbeat_interval_ms: 200, failure_timeout_ms: 2000}
sources:
  bus:
    connector: rivven
    config: {bootstrap_servers: [%[1]q], topics: [orders], consumer_group: printers, session_timeout_ms: 3000, heartbeat_interval_ms: 300}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: bus, sink: out}
`, srv.Addr()))
	nodes := map[string]*node{}
	for _, name := range []string{"node-1", "node-2"} {
		nodes[name] = launch(t, name, exec.Command(bin, "run", "-c", cfg), nil)
	}
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	// Publish once the group has dealt the partitions to both nodes.
	deadline := time.Now().Add(60 * time.Second)
	for !dealt(nodes) {
		if time.Now().After(deadline) {
			t.Fatalf("the group never dealt the partitions to both nodes\n%s", logs(nodes))
		}
		time.Sleep(50 * time.Millisecond)
	}
	publish(400)
	seen := func() (map[string]map[int]bool, map[int]bool) {
		per, all := map[string]map[int]bool{}, map[int]bool{}
		for name, n := range nodes {
			per[name] = map[int]bool{}
			for _, m := range orderID.FindAllStringSubmatch(n.log(), -1) {
				id, _ := strconv.Atoi(m[1])
				per[name][id], all[id] = true, true
			}
		}
		return per, all
	}
	waitAll := func(what string) map[string]map[int]bool {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			per, all := seen()
			if len(all) == next {
				return per
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d records read\n%s", what, len(all), next, logs(nodes))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	per := waitAll("two nodes")
	for name, ids := range per {
		if len(ids) == 0 {
			t.Errorf("%s read nothing: the group gave it no partition\n%s", name, logs(nodes))
		}
	}
	nodes["node-1"].kill()
	publish(400)
	per = waitAll("after node-1 was killed")
	for id := 401; id <= 800; id++ {
		if !per["node-2"][id] && !per["node-1"][id] {
			t.Fatalf("record %d lost", id)
		}
	}
	t.Setenv("NODE_ID", "reader")
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, errOut, code := mainOut(t, "status", "--cluster", "-c", cfg, "--format", "json")
		var rep clusterReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("status --cluster: exit %d: %v\n%s%s", code, err, out, errOut)
		}
		ok := code == exitOK && len(rep.Nodes) == 2
		for _, s := range rep.Nodes {
			ok = ok && s.Role == "member" && s.Silent == (s.Node == "node-1")
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status --cluster: exit %d, want two members, node-1 silent:\n%s%s", code, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var orderID = regexp.MustCompile(`oid\\?"\s*:\s*(\d+)`)

var assigned = regexp.MustCompile(`partitions assigned.*generation=(\d+) .*partitions=(\S+)`)

// dealt reports whether the latest assignment each node logged is of one
// generation and gives every node some partitions.
func dealt(nodes map[string]*node) bool {
	gen := ""
	for _, n := range nodes {
		all := assigned.FindAllStringSubmatch(n.log(), -1)
		if len(all) == 0 {
			return false
		}
		last := all[len(all)-1]
		if gen != "" && last[1] != gen || last[2] == "" {
			return false
		}
		gen = last[1]
	}
	return true
}
