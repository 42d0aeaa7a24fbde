package cdc

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// TestEverySnapshotModeIsAccepted: the five modes cue/mysql_cdc.cue
// lists are built; anything else is refused with the list.
func TestEverySnapshotModeIsAccepted(t *testing.T) {
	for _, m := range []string{SnapshotInitial, SnapshotNever, SnapshotInitialOnly, SnapshotAlways, SnapshotWhenNeeded} {
		if err := (Config{User: "u", ServerID: 1, Tables: []string{"a.b"}, SnapshotMode: m}).Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	err := (Config{User: "u", ServerID: 1, Tables: []string{"a.b"}, SnapshotMode: "sometimes"}).Validate()
	if err == nil || !strings.Contains(err.Error(), `snapshot_mode "sometimes" is not valid: use initial, never, initial_only, always or when_needed`) {
		t.Fatalf("Validate: %v", err)
	}
}

// TestAlwaysSnapshotsAtEveryStart: a restart with a saved position takes
// a new snapshot, then streams from the snapshot's position (a row
// written while stopped arrives once, in the snapshot).
func TestAlwaysSnapshotsAtEveryStart(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1), (2)")
	cfg := config(db, "k")
	cfg.SnapshotMode = SnapshotAlways
	s := open(t, cfg, nil)
	if g := strings.Join(ints(t, read(t, s, 2), "id"), " "); g != "snapshot:1 snapshot:2" {
		t.Fatalf("first start: %s", g)
	}
	server.Exec(t, db, "INSERT INTO k VALUES (3)")
	acked := read(t, s, 1)[0].Position
	s.Close()
	server.Exec(t, db, "INSERT INTO k VALUES (4)")
	s2, rec := openLogged(t, cfg, &acked)
	if g := strings.Join(ints(t, read(t, s2, 4), "id"), " "); g != "snapshot:1 snapshot:2 snapshot:3 snapshot:4" {
		t.Fatalf("second start: %s (want a new snapshot)", g)
	}
	server.Exec(t, db, "INSERT INTO k VALUES (5)")
	if g := strings.Join(ints(t, read(t, s2, 1), "id"), " "); g != "insert:5" {
		t.Fatalf("then: %s (want only the row written after the snapshot)", g)
	}
	if info := rec.logged(slog.LevelInfo, "snapshot_mode always: taking a new snapshot"); len(info) != 1 || !strings.Contains(info[0], "saved_position="+acked.Token) {
		t.Errorf("log: %q", info)
	}
}

// TestWhenNeededResumesWhileTheBinlogIsThere: with the saved position
// still on the server, when_needed streams from it like initial.
func TestWhenNeededResumesWhileTheBinlogIsThere(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1)")
	cfg := config(db, "k")
	cfg.SnapshotMode = SnapshotWhenNeeded
	s := open(t, cfg, nil)
	read(t, s, 1)
	server.Exec(t, db, "INSERT INTO k VALUES (2)")
	acked := read(t, s, 1)[0].Position
	s.Close()
	server.Exec(t, db, "INSERT INTO k VALUES (3)")
	s2, rec := openLogged(t, cfg, &acked)
	if g := strings.Join(ints(t, read(t, s2, 1), "id"), " "); g != "insert:3" {
		t.Fatalf("after the restart: %s (want the stream from the saved position)", g)
	}
	if w := rec.logged(slog.LevelWarn, ""); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

// TestWhenNeededSnapshotsWhenTheSavedBinlogIsPurged: the binlog at the
// saved position is purged (by GTID, and by file:position): initial stops
// with "possible data loss", when_needed takes a new snapshot and streams
// on from it.
func TestWhenNeededSnapshotsWhenTheSavedBinlogIsPurged(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1)")
	cfg := config(db, "k")
	s := open(t, cfg, nil)
	read(t, s, 1)
	server.Exec(t, db, "INSERT INTO k VALUES (2)")
	acked := read(t, s, 1)[0].Position
	s.Close()
	if !strings.Contains(acked.Token, " gtid=") {
		t.Fatalf("token %q has no GTID position", acked.Token)
	}
	server.Exec(t, db, "INSERT INTO k VALUES (3)")
	tok, err := parseToken(acked.Token)
	if err != nil {
		t.Fatal(err)
	}
	purge(t, tok.file)
	fileOnly := tok
	fileOnly.gtid = ""
	for _, at := range []runtime.Position{acked, {Token: fileOnly.String()}} {
		cfg.SnapshotMode = SnapshotInitial
		s := open(t, cfg, &at)
		if err := readErr(t, s); !strings.Contains(err.Error(), "possible data loss") || !strings.Contains(err.Error(), "snapshot_mode: when_needed") {
			t.Fatalf("initial from %q: %v", at.Token, err)
		}
		s.Close()
		cfg.SnapshotMode = SnapshotWhenNeeded
		s2, rec := openLogged(t, cfg, &at)
		if g := strings.Join(ints(t, read(t, s2, 3), "id"), " "); g != "snapshot:1 snapshot:2 snapshot:3" {
			t.Fatalf("when_needed from %q: %s (want a new snapshot)", at.Token, g)
		}
		warn := rec.logged(slog.LevelWarn, "snapshot_mode when_needed: taking a new snapshot")
		if len(warn) != 1 || !strings.Contains(warn[0], "server="+s2.addr()) || !strings.Contains(warn[0], "saved_position="+at.Token) {
			t.Errorf("when_needed from %q: warnings %q", at.Token, warn)
		}
		server.Exec(t, db, "DELETE FROM k WHERE id = 3")
		if g := strings.Join(ints(t, read(t, s2, 1), "id"), " "); g != "delete:3" {
			t.Fatalf("when_needed from %q, then: %s", at.Token, g)
		}
		s2.Close()
		server.Exec(t, db, "INSERT INTO k VALUES (3)")
	}
}

// purge rotates the binlog and purges every file before the new one,
// waiting until file is gone (the server keeps a file until its binlog
// checkpoint and while a dump thread reads it).
func purge(t *testing.T, file string) {
	t.Helper()
	d := server.Open(t, "")
	server.Exec(t, "", "FLUSH BINARY LOGS")
	end, err := binlogEnd(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		// Dump threads of closed sources end when the server notices;
		// killed, they hold no file.
		killDumps(t, server)
		server.Exec(t, "", "PURGE BINARY LOGS TO '"+end.file+"'")
		files, err := binaryLogs(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		if files[0].name > file {
			return
		}
		if i == 300 {
			t.Fatalf("%s still there after 30 s of PURGE BINARY LOGS TO '%s': %v", file, end.file, files)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
