package mysqltest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

var server *Server

func TestMain(m *testing.M) { Main(m, &server) }

func TestServerHasTheBinlogMySQLCDCNeeds(t *testing.T) {
	db := server.NewDatabase(t)
	d := server.Open(t, db)
	var format, image, meta, logBin string
	if err := d.QueryRowContext(context.Background(),
		"SELECT @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@log_bin").Scan(&format, &image, &meta, &logBin); err != nil {
		t.Fatal(err)
	}
	if format != "ROW" || image != "FULL" || meta != "FULL" || logBin != "1" {
		t.Fatalf("binlog_format %s, binlog_row_image %s, binlog_row_metadata %s, log_bin %s", format, image, meta, logBin)
	}
	server.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	var n int
	if err := d.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count %d, %v", n, err)
	}
}

func TestOptionsReplaceSettingsAndStopRemovesTheDirectory(t *testing.T) {
	s, err := Start(Options{Settings: map[string]string{"binlog_format": "STATEMENT"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir
	d := s.Open(t, "")
	var format string
	if err := d.QueryRow("SELECT @@binlog_format").Scan(&format); err != nil || format != "STATEMENT" {
		t.Errorf("binlog_format %q, %v", format, err)
	}
	d.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("data directory still there after Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestNewUserCanConnectWithItsPassword(t *testing.T) {
	u := server.NewUser(t, "p'w\\d", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*")
	d := openAs(t, u, "p'w\\d")
	var who string
	if err := d.QueryRow("SELECT CURRENT_USER()").Scan(&who); err != nil {
		t.Fatal(err)
	}
	if who != u+"@127.0.0.1" {
		t.Errorf("current user %q", who)
	}
}

func TestShutdownAndRestartKeepTheDataAndThePort(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	s.Exec(t, "", "CREATE DATABASE r", "CREATE TABLE r.k (id INT PRIMARY KEY)", "INSERT INTO r.k VALUES (7)")
	port := s.Port
	count := func() (int, error) {
		d := openAt(t, s, "")
		defer d.Close()
		var n int
		err := d.QueryRow("SELECT COUNT(*) FROM r.k WHERE id = 7").Scan(&n)
		return n, err
	}
	s.Shutdown()
	if _, err := count(); err == nil {
		t.Fatal("a query succeeded while the server is down")
	}
	s.Shutdown() // down already: nothing to do
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil { // up: shut down first
		t.Fatal(err)
	}
	if n, err := count(); n != 1 || err != nil || s.Port != port {
		t.Fatalf("after Restart: %d rows, %v, port %d (was %d)", n, err, s.Port, port)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err == nil {
		t.Error("Restart after Stop succeeded")
	}
}
