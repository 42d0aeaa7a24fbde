package mysqltest

import (
	"fmt"
	"strings"
	"testing"
)

// NewDatabase creates a fresh database for one test and returns its name:
// lower-case letters, digits and _, at most 64 bytes, unique on the server
// for the life of the process (a sequence number leads it, so a test run
// again under -count gets a new one). It is dropped in t.Cleanup.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.seq.Add(1), strings.ToLower(sanitize(t.Name())))
	if len(name) > 64 {
		name = name[:64]
	}
	s.Exec(t, "", "CREATE DATABASE `"+name+"`")
	t.Cleanup(func() {
		if err := s.rootExec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("mysqltest: cleanup: drop database %s: %v", name, err)
		}
	})
	return name
}

// NewUser creates a user with password that may connect from 127.0.0.1,
// with the privileges privs ("SELECT, REPLICATION SLAVE ON *.*", or "" for
// none), for one test, and returns its name (unique on the server for the
// life of the process, at most 32 bytes). It is dropped in t.Cleanup.
// Errors never show the password.
func (s *Server) NewUser(t testing.TB, password, privs string) string {
	t.Helper()
	name := fmt.Sprintf("u%d_%s", s.seq.Add(1), strings.ToLower(sanitize(t.Name())))
	if len(name) > 32 {
		name = name[:32]
	}
	q := "'" + name + "'@'127.0.0.1'"
	stmts := []string{"CREATE USER " + q + " IDENTIFIED BY '" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(password) + "'"}
	if privs != "" {
		stmts = append(stmts, "GRANT "+privs+" TO "+q)
	}
	if err := s.rootExec(stmts...); err != nil {
		t.Fatalf("mysqltest: create user %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.rootExec("DROP USER IF EXISTS " + q); err != nil {
			t.Errorf("mysqltest: cleanup: drop user %s: %v", name, err)
		}
	})
	return name
}

func sanitize(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
