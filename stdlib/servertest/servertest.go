// Package servertest holds what the throwaway servers of the tests
// (stdlib/postgres/pgtest, stdlib/mysql/mysqltest, stdlib/s3sink/s3test)
// share: the unprivileged system user a server runs as when the tests run
// as root, a free loopback port, the tail of a server log, and the
// lifecycles of one server per test package (Main) or per test (New).
package servertest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// User is the system user servers run as when the tests run as root
// (database servers refuse to run as root). .ci/run creates it; RunAs
// creates it when it is missing.
const User = "rivvenpg"

// RunAs returns the credential a server runs with (nil: the current user)
// and the uid/gid that must own its files. As root that is User, created
// on first use (concurrent test packages may race to create it: the loser
// finds it there).
func RunAs() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, os.Getuid(), os.Getgid(), nil
	}
	u, err := user.Lookup(User)
	if err != nil {
		out, aerr := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", User).CombinedOutput()
		// Exit status 9: another test package created it concurrently.
		var ee *exec.ExitError
		if aerr != nil && !(errors.As(aerr, &ee) && ee.ExitCode() == 9) {
			return nil, 0, 0, fmt.Errorf("running as root, and cannot create the system user %q that the server runs as: %v: %s", User, aerr, bytes.TrimSpace(out))
		}
		if u, err = user.Lookup(User); err != nil {
			return nil, 0, 0, fmt.Errorf("user %q: %v", User, err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, uid, gid, nil
}

// FreePort returns a TCP port free on 127.0.0.1 a moment ago (a server
// that then fails to bind it is started again on another).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail returns the last lines of a server log, for an error message.
func Tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// Stopper is a running server: Stop shuts it down and removes its files.
type Stopper interface{ Stop() error }

// Main starts a server with start, stores it in *dst, runs the package's
// tests and stops the server. When the server cannot start it prints why
// (prefixed with name) and exits 1, so every test of the package fails
// loudly; a failed stop fails the run too.
func Main[S Stopper](m *testing.M, name string, start func() (S, error), dst *S) {
	srv, err := start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	*dst = srv
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: stop: %v\n", name, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// New starts a server for one test and stops it in t.Cleanup; a failure
// to start fails the test.
func New[S Stopper](t testing.TB, name string, start func() (S, error)) S {
	t.Helper()
	srv, err := start()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("%s: stop: %v", name, err)
		}
	})
	return srv
}
