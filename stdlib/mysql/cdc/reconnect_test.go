package cdc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/mysql/mysqltest"
)

// openLogged opens a source whose log records go to the returned
// recorder.
func openLogged(t *testing.T, cfg Config, resume *runtime.Position) (*Source, *recorder) {
	t.Helper()
	rec := &recorder{}
	return openWith(t, cfg, resume, func(s *Source) { s.UseLogger(slog.New(rec)) }), rec
}

// logged returns the recorded log lines at level whose message contains
// msg, as "message k=v …".
func (r *recorder) logged(level slog.Level, msg string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Level != level || !strings.Contains(rec.Message, msg) {
			continue
		}
		var b strings.Builder
		b.WriteString(rec.Message)
		rec.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		out = append(out, b.String())
	}
	return out
}

// killDumps kills the server's binlog dump threads (the source's
// connection: tests run one at a time) and returns how many it killed.
func killDumps(t *testing.T, srv *mysqltest.Server) int {
	t.Helper()
	d := srv.Open(t, "")
	rows, err := d.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		// The thread may have ended meanwhile (1094: unknown thread).
		if _, err := d.Exec(fmt.Sprintf("KILL %d", id)); err != nil && !strings.Contains(err.Error(), "1094") {
			t.Fatal(err)
		}
	}
	return len(ids)
}

// waitDump waits until the server has a binlog dump thread (the source
// is connected).
func waitDump(t *testing.T, srv *mysqltest.Server) {
	t.Helper()
	d := srv.Open(t, "")
	for i := 0; ; i++ {
		var n int
		if err := d.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if i == 1500 {
			t.Fatal("no binlog dump thread on the server after 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readErr reads until Read fails (30 s at most) and returns its error.
func readErr(t *testing.T, s *Source) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	batch := make([]runtime.Record, 16)
	for {
		if _, err := s.Read(ctx, batch); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("Read did not fail within 30 s")
			}
			return err
		}
	}
}

// TestKilledBinlogConnectionBetweenTransactionsResumes: after a KILL of
// the dump thread the source reconnects (a warning naming the server) and
// goes on after the last transaction it read.
func TestKilledBinlogConnectionBetweenTransactionsResumes(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
	cfg := config(db, "k")
	cfg.SnapshotMode = SnapshotNever
	s, rec := openLogged(t, cfg, nil)
	server.Exec(t, db, "INSERT INTO k VALUES (1)", "START TRANSACTION; INSERT INTO k VALUES (2); INSERT INTO k VALUES (3); COMMIT")
	first := read(t, s, 3)
	waitDump(t, server)
	if n := killDumps(t, server); n == 0 {
		t.Fatal("no binlog dump thread to kill")
	}
	server.Exec(t, db, "INSERT INTO k VALUES (4)")
	got := read(t, s, 1)
	if g := strings.Join(ints(t, got, "id"), " "); g != "insert:4" {
		t.Fatalf("after the reconnect: %s (want only the new row)", g)
	}
	if got[0].Position.Offset != first[2].Position.Offset+1 {
		t.Errorf("offsets go on from %d to %d", first[2].Position.Offset, got[0].Position.Offset)
	}
	warn := rec.logged(slog.LevelWarn, "binlog connection")
	if len(warn) == 0 || !strings.Contains(warn[0], "server="+s.addr()) || !strings.Contains(warn[0], "position="+first[2].Position.Token) {
		t.Errorf("warnings %q: want one naming server %s and position %s", warn, s.addr(), first[2].Position.Token)
	}
	if info := rec.logged(slog.LevelInfo, "restored"); len(info) != 1 {
		t.Errorf("restored: %q", info)
	}
}

// TestKilledBinlogConnectionInsideATransactionDeliversNothingTwice kills
// the connection while a large transaction is being delivered: the
// source reads it again from its start and skips what Read already has,
// so every row arrives exactly once.
func TestKilledBinlogConnectionInsideATransactionDeliversNothingTwice(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(1000))")
	cfg := config(db, "big")
	cfg.SnapshotMode = SnapshotNever
	s, rec := openLogged(t, cfg, nil)
	s.eventCache = 8 // go-mysql buffers 8 events, not 1024: the kill lands inside the transaction
	// About 20 MB in one transaction: more than the socket buffers hold.
	const rows = 20000
	server.Exec(t, db, fmt.Sprintf("INSERT INTO big SELECT seq, REPEAT('x', 1000) FROM seq_1_to_%d", rows))
	got := read(t, s, 500)
	startTok, _, _ := strings.Cut(got[0].Position.Token, " #")
	waitDump(t, server)
	if n := killDumps(t, server); n == 0 {
		t.Fatal("no binlog dump thread to kill")
	}
	got = append(got, read(t, s, rows-500)...)
	server.Exec(t, db, fmt.Sprintf("INSERT INTO big VALUES (%d, 'y')", rows+1))
	got = append(got, read(t, s, 1)...)
	for i, r := range got {
		if id := r.After[0].AsInt(); id != int64(i+1) {
			t.Fatalf("record %d has id %d (want every row once, in order)", i, id)
		}
		if i > 0 && r.Position.Offset != got[i-1].Position.Offset+1 {
			t.Fatalf("record %d: offset %d after %d", i, r.Position.Offset, got[i-1].Position.Offset)
		}
	}
	toks := make([]string, rows)
	for i := range toks {
		toks[i] = got[i].Position.Token
	}
	checkTxTokens(t, toks)
	// The reconnect happened inside the transaction: from its start.
	warn := rec.logged(slog.LevelWarn, "binlog connection")
	if len(warn) == 0 || !strings.Contains(warn[0], "position="+startTok) {
		t.Errorf("warnings %q: want a reconnect at the transaction's start %s", warn, startTok)
	}
}

// TestReconnectWithAWrongPasswordOrNoPrivilegeFailsAtOnce: a reconnect
// refused for the credentials is not retried.
func TestReconnectWithAWrongPasswordOrNoPrivilegeFailsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name, change, want string
	}{
		{"password", "ALTER USER %s IDENTIFIED BY 'another-pw-7'", "Access denied"},
		{"privilege", "REVOKE REPLICATION SLAVE ON *.* FROM %s", "REPLICATION SLAVE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := server.NewDatabase(t)
			server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
			const pw = "first-Secret-pw-91"
			user := server.NewUser(t, pw, "SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.*")
			cfg := config(db, "k")
			cfg.User, cfg.Password, cfg.SnapshotMode = user, pw, SnapshotNever
			s, rec := openLogged(t, cfg, nil)
			server.Exec(t, db, "INSERT INTO k VALUES (1)")
			read(t, s, 1)
			waitDump(t, server)
			server.Exec(t, "", fmt.Sprintf(tc.change, "'"+user+"'@'127.0.0.1'"))
			killDumps(t, server)
			err := readErr(t, s)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), s.addr()) || strings.Contains(err.Error(), pw) {
				t.Fatalf("Read: %v (want %q, the server, not the password)", err, tc.want)
			}
			if strings.Contains(err.Error(), "giving up") {
				t.Errorf("retried: %v", err)
			}
			if warn := rec.logged(slog.LevelWarn, "binlog connection"); len(warn) != 1 {
				t.Errorf("reconnect warnings %q: want one (the lost connection), no retries", warn)
			}
		})
	}
}

// TestServerRestartIsSurvivedAndAStoppedServerIsGivenUpOn restarts a
// server under a streaming source (it reconnects and goes on), then stops
// it for good (the source gives up after its retry budget with an error
// naming the server).
func TestServerRestartIsSurvivedAndAStoppedServerIsGivenUpOn(t *testing.T) {
	srv := mysqltest.New(t, mysqltest.Options{})
	const db = "restart" // not NewDatabase: its cleanup needs the server up
	srv.Exec(t, "", "CREATE DATABASE "+db)
	srv.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
	cfg := Config{Host: "127.0.0.1", Port: srv.Port, User: mysqltest.Superuser, Password: srv.Password, ServerID: serverIDs(),
		Tables: []string{db + ".k"}, SnapshotMode: SnapshotNever, TLS: TLSConfig{Mode: "disable"}}
	s, rec := openLogged(t, cfg, nil)
	srv.Exec(t, db, "INSERT INTO k VALUES (1)")
	read(t, s, 1)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	srv.Exec(t, db, "INSERT INTO k VALUES (2)")
	if g := strings.Join(ints(t, read(t, s, 1), "id"), " "); g != "insert:2" {
		t.Fatalf("after the restart: %s", g)
	}
	if warn := rec.logged(slog.LevelWarn, "binlog connection"); len(warn) == 0 || !strings.Contains(warn[0], "server="+s.addr()) {
		t.Errorf("warnings %q: want one naming the server", warn)
	}
	s.budget.Store(int64(2 * time.Second))
	srv.Shutdown()
	err := readErr(t, s)
	if !strings.Contains(err.Error(), "giving up") || !strings.Contains(err.Error(), s.addr()) || strings.Contains(err.Error(), srv.Password) {
		t.Fatalf("Read: %v", err)
	}
	if n := len(rec.logged(slog.LevelWarn, "binlog connection")); n < 3 {
		t.Errorf("%d reconnect warnings: want one per attempt", n)
	}
}

// TestTransientErrors pins which failures a reconnect may cure.
func TestTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("wrapped: %w", gomysql.ErrBadConn), true},
		{&gomysql.MyError{Code: 1927, Message: "Connection was killed"}, true},
		{&gomysql.MyError{Code: 1053, Message: "Server shutdown in progress"}, true},
		{&gomysql.MyError{Code: 1045, Message: "Access denied"}, false},
		{&gomysql.MyError{Code: 1227, Message: "Access denied; you need the REPLICATION SLAVE privilege"}, false},
		{&gomysql.MyError{Code: 1236, Message: "Could not find first log file name in binary log index file"}, false},
		{&mysql.MySQLError{Number: 1040}, true},
		{&mysql.MySQLError{Number: 1045}, false},
		{&replication.EventError{Err: "bad"}, false},
		{fatalError{errors.New("mysql-cdc: x")}, false},
		{context.Canceled, false},
		{errors.New("the MySQL Server does not support TLS required by the client"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %t, want %t", tc.err, got, tc.want)
		}
	}
}
