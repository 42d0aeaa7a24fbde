package cdc

import (
	"fmt"
	"testing"
	"time"
)

// waitLag polls SourceLag (30 s at most) until ok says it is known and
// cond holds, and returns it.
func waitLag(t *testing.T, s *Source, what string, cond func(uint64) bool) uint64 {
	t.Helper()
	for i := 0; ; i++ {
		lag, unit, ok := s.SourceLag()
		if ok && unit != "bytes" {
			t.Fatalf("unit %q", unit)
		}
		if ok && cond(lag) {
			return lag
		}
		if i == 1500 {
			t.Fatalf("source lag %d (known: %t) after 30 s: want %s", lag, ok, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSourceLagCountsUnacknowledgedBinlogBytes: the lag is the binlog's
// bytes between the acknowledged position and the server's end, across
// files, and 0 once everything read is acknowledged.
func TestSourceLagCountsUnacknowledgedBinlogBytes(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY, pad VARCHAR(300))")
	cfg := config(db, "k")
	cfg.SnapshotMode = SnapshotNever
	s := open(t, cfg, nil)
	waitLag(t, s, "0 at the start", func(l uint64) bool { return l == 0 })
	// 100 rows of 300 bytes, not read yet.
	server.Exec(t, db, "INSERT INTO k SELECT seq, REPEAT('a', 300) FROM seq_1_to_100")
	before := waitLag(t, s, "at least the 30000 bytes written", func(l uint64) bool { return l >= 30000 })
	recs := read(t, s, 100)
	if lag, _, ok := s.SourceLag(); !ok || lag < before {
		t.Errorf("read but not acknowledged: lag %d (known: %t), want at least %d", lag, ok, before)
	}
	if err := s.Ack(t.Context(), recs[49].Position); err != nil {
		t.Fatal(err)
	}
	// Acknowledged up to the middle of the transaction: its start.
	if lag, _, _ := s.SourceLag(); lag < 30000 {
		t.Errorf("acknowledged inside the transaction: lag %d, want it all", lag)
	}
	if err := s.Ack(t.Context(), recs[99].Position); err != nil {
		t.Fatal(err)
	}
	waitLag(t, s, "0 once all is acknowledged", func(l uint64) bool { return l == 0 })

	// Across a rotation: the rest of the old file and the new one count.
	server.Exec(t, db, "INSERT INTO k SELECT seq, REPEAT('b', 300) FROM seq_101_to_200", "FLUSH BINARY LOGS",
		"INSERT INTO k SELECT seq, REPEAT('c', 300) FROM seq_201_to_300")
	waitLag(t, s, "at least the 60000 bytes written in two files", func(l uint64) bool { return l >= 60000 })
	recs = read(t, s, 200)
	if err := s.Ack(t.Context(), recs[99].Position); err != nil {
		t.Fatal(err)
	}
	mid := waitLag(t, s, "the second file's transaction", func(l uint64) bool { return l >= 30000 && l < 60000 })
	if err := s.Ack(t.Context(), recs[199].Position); err != nil {
		t.Fatal(err)
	}
	waitLag(t, s, fmt.Sprintf("0 once all is acknowledged (was %d)", mid), func(l uint64) bool { return l == 0 })
}

func TestLagBytesAcrossFiles(t *testing.T) {
	files := []binlogFile{{"b.1", 1000}, {"b.2", 500}, {"b.3", 300}}
	for _, tc := range []struct {
		at   token
		want uint64
		ok   bool
	}{
		{token{file: "b.3", pos: 300}, 0, true},
		{token{file: "b.3", pos: 400}, 0, true}, // past the end read last
		{token{file: "b.3", pos: 100}, 200, true},
		{token{file: "b.1", pos: 900}, 100 + 500 + 300, true},
		{token{file: "b.0", pos: 4}, 0, false}, // purged
	} {
		lag, _, ok := lagBytes(files, tc.at)
		if lag != tc.want || ok != tc.ok {
			t.Errorf("lagBytes(%s) = %d, %t; want %d, %t", tc.at, lag, ok, tc.want, tc.ok)
		}
	}
}
