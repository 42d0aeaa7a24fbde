// Package pgtest runs a throwaway PostgreSQL server for tests: initdb in a
// temporary directory, postgres with wal_level=logical listening only on
// 127.0.0.1 at a free port, and everything stopped and removed afterwards.
//
// PostgreSQL refuses to run as root, so when the test process is root the
// server runs as a dedicated system user (User, created with useradd when
// missing); otherwise it runs as the current user. The server binaries are
// found through $RIVVEN_PG_BINDIR, `pg_config --bindir`, or
// /usr/lib/postgresql/*/bin. When they are missing, Start fails with a
// message saying what to install: tests that need PostgreSQL fail, they do
// not skip.
//
// One cluster per test package keeps a suite fast:
//
//	var cluster *pgtest.Cluster
//
//	func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }
//
// and each test takes a fresh database with cluster.NewDatabase(t).
// Replication slots and roles are cluster-wide, so a test names its slot
// with SlotName(db) and creates roles with cluster.NewRole: no two tests,
// nor two runs of one test under -count, share one.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/stdlib/servertest"
)

// User is the system user the server runs as when the tests run as root.
const User = servertest.User

// Superuser is the database superuser of every cluster (it may also
// replicate).
const Superuser = "rivven"

// Cluster is a running throwaway server.
type Cluster struct {
	// Dir holds the data directory, the unix socket and the server log.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Password is the superuser's password.
	Password string
	// CAFile is the CA that signed the server certificate (Options.TLS).
	CAFile string

	cmd  *exec.Cmd
	done chan error
	seq  atomic.Int64
}

// Options tune a cluster. The zero value is the default.
type Options struct {
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string
	// TLS turns on ssl with a throw-away CA (Cluster.CAFile) and a server
	// certificate for "localhost" only, and accepts TCP connections only
	// over TLS (hostssl).
	TLS bool
}

// BinDir returns the directory of the PostgreSQL server binaries, or an
// error saying how to get them.
func BinDir() (string, error) {
	has := func(dir string) bool {
		fi, err := os.Stat(filepath.Join(dir, "initdb"))
		return err == nil && !fi.IsDir()
	}
	if d := os.Getenv("RIVVEN_PG_BINDIR"); d != "" {
		if has(d) {
			return d, nil
		}
		return "", fmt.Errorf("RIVVEN_PG_BINDIR=%s has no initdb", d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found: install PostgreSQL ≥ 14 " +
		"(Debian/Ubuntu: apt-get install postgresql-15), or set RIVVEN_PG_BINDIR to their directory")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Main starts a cluster, stores it in *c, runs the package's tests and
// stops it (servertest.Main: a start failure fails every test loudly).
func Main(m *testing.M, c **Cluster) {
	servertest.Main(m, "pgtest", func() (*Cluster, error) { return Start(Options{}) }, c)
}

// New starts a cluster for one test and stops and removes it in
// t.Cleanup; a failure to start fails the test.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	return servertest.New(t, "pgtest", func() (*Cluster, error) { return Start(opts) })
}

// Start creates and starts a cluster. The caller must Stop it.
func Start(opts Options) (_ *Cluster, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, uid, gid, err := servertest.RunAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rivven-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	var pw [12]byte
	_, _ = rand.Read(pw[:])
	c := &Cluster{Dir: dir, Password: hex.EncodeToString(pw[:])}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Chown(pwfile, uid, gid); err != nil {
		return nil, err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", Superuser,
		"--pwfile", pwfile, "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	_ = os.Remove(pwfile)

	var tlsSettings map[string]string
	if opts.TLS {
		ca, cert, key, err := writeTLS(dir, uid, gid)
		if err != nil {
			return nil, fmt.Errorf("tls: %v", err)
		}
		c.CAFile = ca
		tlsSettings = map[string]string{"ssl": "on", "ssl_cert_file": cert, "ssl_key_file": key}
		hba := "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl replication all 127.0.0.1/32 scram-sha-256\n"
		if err := os.WriteFile(filepath.Join(dir, "data", "pg_hba.conf"), []byte(hba), 0o600); err != nil {
			return nil, err
		}
		if err := os.Chown(filepath.Join(dir, "data", "pg_hba.conf"), uid, gid); err != nil {
			return nil, err
		}
	}
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": dir,
		"wal_level":               "logical",
		"max_replication_slots":   "32",
		"max_wal_senders":         "32",
		"max_connections":         "100",
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"shared_buffers":          "32MB",
		"log_min_messages":        "warning",
	}
	for k, v := range tlsSettings {
		settings[k] = v
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for attempt := 0; ; attempt++ {
		port, err := servertest.FreePort()
		if err != nil {
			return nil, err
		}
		args := []string{"-D", filepath.Join(dir, "data"), "-p", strconv.Itoa(port)}
		for _, k := range keys {
			args = append(args, "-c", k+"="+settings[k])
		}
		logPath := filepath.Join(dir, "postgres.log")
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = logf, logf
		// Pdeathsig: if the test binary dies (a panic, kill -9), the server
		// shuts down instead of lingering.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("start postgres: %v", err)
		}
		logf.Close()
		c.cmd, c.Port, c.done = cmd, port, make(chan error, 1)
		go func() { c.done <- cmd.Wait() }()
		err = c.waitReady(30 * time.Second)
		if err == nil {
			return c, nil
		}
		c.kill()
		log, _ := os.ReadFile(logPath)
		if attempt < 2 && bytes.Contains(log, []byte("could not bind")) {
			continue // the free port was taken meanwhile
		}
		return nil, fmt.Errorf("postgres did not become ready: %v\nserver log:\n%s", err, servertest.Tail(log, 40))
	}
}

func (c *Cluster) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("postgres exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %v: %v", d, last)
}

// DSN returns a URL connecting to database db as the superuser.
func (c *Cluster) DSN(db string) string {
	return c.DSNFor(Superuser, c.Password, db)
}

// DSNFor returns a URL connecting to db as user with password (over TLS,
// unverified, when the cluster has Options.TLS).
func (c *Cluster) DSNFor(user, password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	if c.CAFile != "" {
		u.RawQuery = "sslmode=require"
	}
	return u.String()
}

// Exec runs SQL statements on database db as the superuser; a failure
// fails the test.
func (c *Cluster) Exec(t testing.TB, db string, sql ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN(db))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("pgtest: %s: %v", s, err)
		}
	}
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 10 s) and
// removes its directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	if c.cmd == nil {
		return nil
	}
	c.kill()
	c.cmd = nil
	return os.RemoveAll(c.Dir)
}

func (c *Cluster) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-c.done:
		c.done <- err
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}
