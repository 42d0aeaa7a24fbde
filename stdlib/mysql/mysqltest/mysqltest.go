// Package mysqltest runs a throwaway MariaDB (or MySQL) server for tests:
// mariadb-install-db into a temporary directory, then mariadbd listening
// only on 127.0.0.1 at a free port with the binary log on in the form
// mysql-cdc needs (ROW format, FULL row image, FULL row metadata, a
// server_id, GTID strict mode), and everything stopped and removed
// afterwards.
//
// The server refuses to run as root without --user, so when the test
// process is root it runs as the system user User (the one pgtest uses,
// created with useradd when missing); otherwise as the current user. The
// binaries are found through $RIVVEN_MYSQL_BINDIR or PATH and /usr/sbin,
// /usr/bin. When they are missing, Start fails saying what to install:
// tests that need MariaDB fail, they do not skip.
//
// One server per test package keeps a suite fast:
//
//	var server *mysqltest.Server
//
//	func TestMain(m *testing.M) { mysqltest.Main(m, &server) }
//
// and each test takes a fresh database with server.NewDatabase(t), and a
// fresh user with server.NewUser(t, …) (users are server-wide).
package mysqltest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/rivven/rivven-connect/stdlib/servertest"
)

// User is the system user the server runs as when the tests run as root
// (the same one as pgtest's; .ci/run creates it).
const User = servertest.User

// Superuser is the server's administrative user for TCP connections (all
// privileges, replication included).
const Superuser = "rivven"

// Server is a running throwaway server.
type Server struct {
	// Dir holds the data directory, the unix socket and the server log.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Password is Superuser's password.
	Password string

	bin      string              // the server binary
	cred     *syscall.Credential // who it runs as (nil: the current user)
	settings []string            // its --name=value options, --port aside
	mu       sync.Mutex          // guards cmd, done and stopped (Restart, Shutdown, Stop)
	cmd      *exec.Cmd           // the running process; nil when down
	done     chan error          // receives cmd's exit
	stopped  bool                // Stop ran: the files are gone
	seq      atomic.Int64
}

// Options tune a server. The zero value is the default.
type Options struct {
	// Settings are extra or replacing `--name=value` server options, e.g.
	// {"binlog_format": "STATEMENT"}.
	Settings map[string]string
}

// Binaries returns the server binary and the install-db script, or an
// error saying how to get them.
func Binaries() (server, installDB string, err error) {
	find := func(dir string, names ...string) string {
		for _, n := range names {
			p := filepath.Join(dir, n)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
		return ""
	}
	servers := []string{"mariadbd", "mysqld"}
	installs := []string{"mariadb-install-db", "mysql_install_db"}
	if d := os.Getenv("RIVVEN_MYSQL_BINDIR"); d != "" {
		server, installDB = find(d, servers...), find(d, installs...)
		if server == "" || installDB == "" {
			return "", "", fmt.Errorf("RIVVEN_MYSQL_BINDIR=%s has no mariadbd and mariadb-install-db", d)
		}
		return server, installDB, nil
	}
	dirs := append(filepath.SplitList(os.Getenv("PATH")), "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
	for _, d := range dirs {
		if server == "" {
			server = find(d, servers...)
		}
		if installDB == "" {
			installDB = find(d, installs...)
		}
	}
	if server == "" || installDB == "" {
		return "", "", errors.New("MariaDB server binaries (mariadbd, mariadb-install-db) not found: install MariaDB " +
			"(Debian/Ubuntu: apt-get install mariadb-server), or set RIVVEN_MYSQL_BINDIR to their directory")
	}
	return server, installDB, nil
}

// Main starts a server, stores it in *s, runs the package's tests and
// stops it (servertest.Main: a start failure fails every test loudly).
func Main(m *testing.M, s **Server) {
	servertest.Main(m, "mysqltest", func() (*Server, error) { return Start(Options{}) }, s)
}

// New starts a server for one test and stops and removes it in
// t.Cleanup; a failure to start fails the test.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	return servertest.New(t, "mysqltest", func() (*Server, error) { return Start(opts) })
}

// Start creates and starts a server. The caller must Stop it.
func Start(opts Options) (_ *Server, err error) {
	server, installDB, err := Binaries()
	if err != nil {
		return nil, err
	}
	cred, uid, gid, err := servertest.RunAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rivven-mysql-")
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
	data := filepath.Join(dir, "data")
	// A private tmpdir: servers bootstrapping at the same time in a
	// shared /tmp collide on their temporary tables' names.
	install := exec.Command(installDB, "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve", "--tmpdir="+dir)
	install.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", filepath.Base(installDB), err, out)
	}
	var pw [12]byte
	_, _ = rand.Read(pw[:])
	s := &Server{Dir: dir, Password: hex.EncodeToString(pw[:])}
	settings := map[string]string{
		"bind-address":                   "127.0.0.1",
		"socket":                         filepath.Join(dir, "sock"),
		"pid-file":                       filepath.Join(dir, "pid"),
		"tmpdir":                         dir,
		"log-error":                      filepath.Join(dir, "server.log"),
		"log-bin":                        "mysql-bin",
		"binlog_format":                  "ROW",
		"binlog_row_image":               "FULL",
		"binlog_row_metadata":            "FULL",
		"server_id":                      "1",
		"gtid_strict_mode":               "1",
		"log_slave_updates":              "1",
		"skip-name-resolve":              "1",
		"innodb_buffer_pool_size":        "64M",
		"innodb_flush_log_at_trx_commit": "2",
		"sync_binlog":                    "0",
		"max_connections":                "200",
		"character_set_server":           "utf8mb4",
		"collation_server":               "utf8mb4_general_ci",
	}
	for k, v := range opts.Settings {
		delete(settings, strings.ReplaceAll(k, "_", "-"))
		delete(settings, strings.ReplaceAll(k, "-", "_"))
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s.bin, s.cred = server, cred
	for _, k := range keys {
		s.settings = append(s.settings, "--"+k+"="+settings[k])
	}
	for attempt := 0; ; attempt++ {
		port, err := servertest.FreePort()
		if err != nil {
			return nil, err
		}
		err = s.launch(port)
		if err == nil {
			err = s.rootExec(
				"CREATE USER '"+Superuser+"'@'%' IDENTIFIED BY '"+s.Password+"'",
				"GRANT ALL PRIVILEGES ON *.* TO '"+Superuser+"'@'%' WITH GRANT OPTION")
			if err == nil {
				return s, nil
			}
			s.kill()
			return nil, fmt.Errorf("create user %s: %v", Superuser, err)
		}
		if attempt < 2 && errors.Is(err, errPortTaken) {
			continue // the free port was taken meanwhile
		}
		return nil, err
	}
}

// errPortTaken marks a server that could not bind its port.
var errPortTaken = errors.New("address already in use")

// launch starts the server process on port with s's settings and waits
// until it accepts connections; on failure the process is gone and the
// error holds the tail of the server log.
func (s *Server) launch(port int) error {
	args := append([]string{"--no-defaults", "--datadir=" + filepath.Join(s.Dir, "data"), "--port=" + strconv.Itoa(port)}, s.settings...)
	logPath := filepath.Join(s.Dir, "server.log")
	var logFrom int64 // the log is appended to: this start's lines begin here
	if fi, err := os.Stat(logPath); err == nil {
		logFrom = fi.Size()
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.Dir
	// Pdeathsig: if the test binary dies (a panic, kill -9), the server
	// shuts down instead of lingering.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %v", filepath.Base(s.bin), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	s.mu.Lock()
	s.cmd, s.Port, s.done = cmd, port, done
	s.mu.Unlock()
	err := s.waitReady(done, 60*time.Second)
	if err == nil {
		return nil
	}
	s.kill()
	log, _ := os.ReadFile(logPath)
	log = log[min(logFrom, int64(len(log))):]
	if bytes.Contains(log, []byte("Address already in use")) {
		err = fmt.Errorf("%w: %v", errPortTaken, err)
	}
	return fmt.Errorf("%s did not become ready on port %d: %w\nserver log:\n%s", filepath.Base(s.bin), port, err, servertest.Tail(log, 40))
}

// Shutdown stops the server process (SIGTERM, then SIGKILL after 20 s)
// and keeps its files, so Restart can start it again. Connections to it
// fail until then. It is a no-op when the server is down.
func (s *Server) Shutdown() {
	s.kill()
}

// Restart shuts the server down (unless it is down already) and starts it
// again on the same port with the same data, waiting until it accepts
// connections. The binary log goes on in a new file, as after any restart.
func (s *Server) Restart() error {
	s.kill()
	s.mu.Lock()
	gone := s.stopped
	s.mu.Unlock()
	if gone {
		return errors.New("mysqltest: Restart after Stop")
	}
	return s.launch(s.Port)
}

// rootDB opens a connection pool as root over the unix socket (root has
// no password there: the socket is in the server's private directory).
func (s *Server) rootDB() (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "unix", filepath.Join(s.Dir, "sock")
	c.Timeout = 2 * time.Second
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

func (s *Server) rootExec(stmts ...string) error {
	db, err := s.rootDB()
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, st := range stmts {
		if _, err := db.ExecContext(ctx, st); err != nil {
			return err // the statement may hold a password: not shown
		}
	}
	return nil
}

func (s *Server) waitReady(exited chan error, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err // kill waits for it too
			return fmt.Errorf("server exited: %v", err)
		default:
		}
		db, err := s.rootDB()
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %v: %v", d, last)
}

// DSN returns a go-sql-driver DSN connecting to database db as the
// superuser over TCP.
func (s *Server) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = Superuser, s.Password, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), db
	c.Timeout = 10 * time.Second
	c.MultiStatements = true
	return c.FormatDSN()
}

// Open returns a connection pool to database db as the superuser; it is
// closed in t.Cleanup.
func (s *Server) Open(t testing.TB, db string) *sql.DB {
	t.Helper()
	d, err := sql.Open("mysql", s.DSN(db))
	if err != nil {
		t.Fatalf("mysqltest: open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Exec runs SQL statements on database db ("" for none) as the
// superuser; a failure fails the test.
func (s *Server) Exec(t testing.TB, db string, stmts ...string) {
	t.Helper()
	d, err := sql.Open("mysql", s.DSN(db))
	if err != nil {
		t.Fatalf("mysqltest: open: %v", err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, st := range stmts {
		if _, err := d.ExecContext(ctx, st); err != nil {
			t.Fatalf("mysqltest: %s: %v", st, err)
		}
	}
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 20 s) and
// removes its directory. It is safe to call more than once.
func (s *Server) Stop() error {
	s.kill()
	s.mu.Lock()
	stopped := s.stopped
	s.stopped = true
	s.mu.Unlock()
	if stopped {
		return nil
	}
	return os.RemoveAll(s.Dir)
}

// kill ends the server process, if one runs, and waits for it.
func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
