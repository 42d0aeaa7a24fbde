package cdc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

func TestParseToken(t *testing.T) {
	for _, c := range []struct {
		tok    string
		snap   bool
		commit pglogrepl.LSN
		n      uint64
	}{
		{"0/16B3748:1", false, 0x16B3748, 1},
		{"16/B374D848:250", false, 0x16_B374D848, 250},
		{"ffffffff/0:18446744073709551615", false, 0xFFFFFFFF_00000000, 1<<64 - 1},
		{"snapshot:public.k:7", true, 0, 7},
		{`snapshot:"My:Schema"."a.b:c":12`, true, 0, 12},
	} {
		snap, commit, n, err := parseToken(c.tok)
		if err != nil || snap != c.snap || commit != c.commit || n != c.n {
			t.Errorf("parseToken(%q) = %v, %s, %d, %v; want %v, %s, %d", c.tok, snap, commit, n, err, c.snap, c.commit, c.n)
		}
	}
	for _, tok := range []string{"", "12", "0/1", "0/1:", "0/1:0", "0/1:-1", "0/1:+1", "0/1:x", "1:2", "/1:2", "0/:2",
		"123456789/0:1", "0/G:1", " 0/1:1", "snapshot:7", "snapshot::7", "snapshot:public.k:0", "42 0/1:1"} {
		if _, _, _, err := parseToken(tok); !errors.Is(err, errToken) {
			t.Errorf("parseToken(%q) = %v; want errToken", tok, err)
		}
	}
	// Tokens as the source writes them parse back.
	b := appendStreamToken(nil, pglogrepl.LSN(0x1_0000ABCD).String(), 42)
	if snap, commit, n, err := parseToken(string(b)); err != nil || snap || commit != 0x1_0000ABCD || n != 42 {
		t.Errorf("%s parses as %v, %s, %d, %v", b, snap, commit, n, err)
	}
}

// A token that is no postgres-cdc position is an error quoting it (the
// driver adds where it keeps it); a snapshot token and a position without
// one (an earlier version's) are accepted and skip nothing.
func TestResumeChecksTheToken(t *testing.T) {
	s, err := New(config("db", "r"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Resume(runtime.Position{Offset: 9, Token: "binlog.000003:4711"})
	if err == nil || !strings.Contains(err.Error(), "is not a postgres-cdc position") || !strings.Contains(err.Error(), `"binlog.000003:4711"`) {
		t.Fatalf("Resume of another source's token: %v", err)
	}
	for _, pos := range []runtime.Position{{Offset: 3}, {Offset: 3, Token: "snapshot:public.r:3"}} {
		s, _ := New(config("db", "r"), nil)
		if err := s.Resume(pos); err != nil || s.resumeAt.commit != 0 {
			t.Errorf("Resume(%+v) = %v, resuming at %+v; want nil and nothing to skip", pos, err, s.resumeAt)
		}
	}
	s, _ = New(config("db", "r"), nil)
	if err := s.Resume(runtime.Position{Offset: 3, Token: "0/16B3748:3"}); err != nil || s.resumeAt != (txMark{commit: 0x16B3748, skipped: 3}) {
		t.Errorf("Resume of a stream token: %v, %+v", err, s.resumeAt)
	}
}

// openAt opens a source like openResume, resumed at pos first (as the
// driver does with the position it kept) unless pos is nil.
func openAt(t *testing.T, cfg Config, b runtime.StateBlob, proto int, streamed bool, pos *runtime.Position) *Source {
	t.Helper()
	cfg.ProtocolVersion = proto
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.UseState(b)
	if pos != nil {
		if err := s.Resume(*pos); err != nil {
			t.Fatal(err)
		}
	}
	if streamed {
		s.replCfg.RuntimeParams["logical_decoding_work_mem"] = "64kB"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Open(ctx); err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// abandon ends s as a crash would: the stream stops where it is and the
// connections close, but nothing of a graceful stop runs (no drain, no
// record of the transaction it stopped in; its Close does nothing).
func abandon(s *Source) {
	s.closeMu.Lock()
	s.closed = true
	s.closeMu.Unlock()
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	ctx := context.Background()
	if s.repl != nil {
		_ = s.repl.Close(ctx)
	}
	if s.sql != nil {
		_ = s.sql.Close(ctx)
	}
}

// tokens returns the position tokens of recs, by the id column.
func tokens(recs []runtime.Record) map[int64]string {
	out := map[int64]string{}
	for _, r := range recs {
		out[r.After[r.Schema.Index("id")].AsInt()] = r.Position.Token
	}
	return out
}

// commitLSN is a streamed record's metadata.source.commit_lsn.
func commitLSN(r runtime.Record) string {
	src, _ := r.Meta.Get("source")
	v, _ := src.AsObject().Get("commit_lsn")
	return v.AsString()
}

// checkStreamTokens checks that recs, the changes of one transaction from
// its change first on, carry "<commit LSN>:<n>".
func checkStreamTokens(t *testing.T, recs []runtime.Record, first int) {
	t.Helper()
	for i, r := range recs {
		if want := fmt.Sprintf("%s:%d", commitLSN(r), first+i); r.Position.Token != want {
			t.Fatalf("record %d (id %d) has token %q; want %q", i, ids(recs[i : i+1])[0], r.Position.Token, want)
		}
	}
}

// After a crash inside a transaction (its first changes acknowledged, the
// source abandoned without Close, so nothing but the acknowledged
// position is kept), the changes arrive again with the tokens they had;
// resumed at the acknowledged position, the next run delivers only those
// after it — also when the transaction arrives streamed in one run and
// whole in the other.
func TestTokensSurviveACrashAndResumeSkipsWhatWasAcknowledged(t *testing.T) {
	for _, c := range []struct {
		name               string
		proto1, proto2     int
		streamed1, stream2 bool
	}{
		{"v1", 1, 1, false, false},
		{"streamed-then-whole", 2, 1, true, false},
		{"whole-then-streamed", 1, 2, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			untilStreamed(t, func() bool {
				db := cluster.NewDatabase(t)
				cluster.Exec(t, db, `CREATE TABLE r (id bigint PRIMARY KEY, v text)`)
				cfg := config(db, "r")
				// Status updates (each answered by a keepalive, which lets an idle
				// slot advance to the WAL end) only when prompted: one during the
				// INSERT would confirm a position inside the transaction, and the
				// server streams only the part of it decoded after that position.
				cfg.HeartbeatIntervalSecs = 60
				blob := newBlob(t)
				s := openAt(t, cfg, blob, c.proto1, c.streamed1, nil)
				quiet(t, s, 200*time.Millisecond) // empty snapshot
				cluster.Exec(t, db,
					`INSERT INTO r SELECT g, repeat('v', 50) FROM generate_series(1, 1000) g`,
					`INSERT INTO r VALUES (1001, 'after')`)
				first := read(t, s, 300)
				if c.streamed1 && s.spilled.Load() == 0 {
					abandon(s)
					return false
				}
				checkStreamTokens(t, first, 1)
				acked := first[249].Position // what the driver keeps
				ackAll(t, s, first[:250])
				abandon(s)
				if p := partialOf(t, blob); p != nil {
					t.Fatalf("a crash recorded a partial transaction %+v", p)
				}

				// Without the position: the transaction again in full, with
				// the same tokens.
				s = openAt(t, cfg, blob, c.proto2, c.stream2, nil)
				again := read(t, s, 1001)
				if c.stream2 && s.spilled.Load() == 0 {
					abandon(s)
					return false
				}
				if got := ids(again); got[0] != 1 || got[999] != 1000 {
					t.Fatalf("without the position: ids %d..%d; want 1..1000 again", got[0], got[999])
				}
				checkStreamTokens(t, again[:1000], 1)
				checkStreamTokens(t, again[1000:], 1)
				was := tokens(first)
				for id, tok := range tokens(again) {
					if w, ok := was[id]; ok && w != tok {
						t.Fatalf("id %d: token %q, before the crash %q", id, tok, w)
					}
				}
				abandon(s) // acknowledged nothing: the kept position is still acked

				// Resumed at the acknowledged position: the rest of it.
				s = openAt(t, cfg, blob, c.proto2, c.stream2, &acked)
				rest := read(t, s, 751)
				for i, id := range ids(rest) {
					if id != int64(251+i) {
						t.Fatalf("resumed at %s, record %d has id %d; want %d (ids 1..250 were acknowledged)", acked.Token, i, id, 251+i)
					}
				}
				checkStreamTokens(t, rest[:750], 251)
				checkStreamTokens(t, rest[750:], 1)
				was = tokens(again)
				for id, tok := range tokens(rest) {
					if w := was[id]; w != tok {
						t.Fatalf("id %d: token %q, in the full replay %q", id, tok, w)
					}
				}
				quiet(t, s, 300*time.Millisecond)
				ackAll(t, s, rest)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				// The slot passed the transaction: the old position skips
				// nothing any more.
				s = openAt(t, cfg, blob, c.proto2, c.stream2, &acked)
				quiet(t, s, 300*time.Millisecond)
				cluster.Exec(t, db, `INSERT INTO r VALUES (1002, 'x')`)
				if got := read(t, s, 1); got[0].Position.Token != commitLSN(got[0])+":1" {
					t.Fatalf("next transaction: token %q", got[0].Position.Token)
				}
				return true
			})
		})
	}
}

// A position acknowledged under another selection is not used: a
// transaction's changes are numbered among those the selection takes, so
// its count would skip changes never delivered. Neither at the first run
// under the new selection nor at the next one if that acknowledged
// nothing (the marker's Prior), while a position the new selection
// acknowledged is.
func TestResumeUnderAnotherSelectionDeliversAgain(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE r (id bigint PRIMARY KEY)`, `CREATE TABLE o (id bigint PRIMARY KEY)`,
		`CREATE PUBLICATION p1 FOR TABLE r, o`)
	blob := newBlob(t)
	cfg := config(db, "r")
	s := openAt(t, cfg, blob, 1, false, nil)
	quiet(t, s, 200*time.Millisecond)
	cluster.Exec(t, db, `BEGIN; INSERT INTO o SELECT generate_series(1, 10); INSERT INTO r SELECT generate_series(1, 100); COMMIT`)
	got := read(t, s, 40)
	checkStreamTokens(t, got, 1) // o's changes are not counted under "r"
	acked := got[39].Position
	ackAll(t, s, got)
	abandon(s)

	cfg2 := config(db, "r", "o")
	for run := range 2 {
		s = openAt(t, cfg2, blob, 1, false, &acked)
		all := read(t, s, 110)
		for i, r := range all {
			stream, id := "o", int64(i+1)
			if i >= 10 {
				stream, id = "r", int64(i-9)
			}
			if r.Stream != stream || ids(all[i : i+1])[0] != id {
				t.Fatalf("run %d under another selection, resumed at %s: record %d is %s %d; want %s %d (o 1..10 and r 1..100 in full)",
					run, acked.Token, i, r.Stream, ids(all[i : i+1])[0], stream, id)
			}
		}
		checkStreamTokens(t, all, 1)
		abandon(s)
	}
	// A position acknowledged under the new selection is used.
	s = openAt(t, cfg2, blob, 1, false, nil)
	got = read(t, s, 30)
	acked = got[29].Position
	ackAll(t, s, got)
	abandon(s)
	s = openAt(t, cfg2, blob, 1, false, &acked)
	rest := read(t, s, 80)
	if rest[0].Stream != "r" || ids(rest)[0] != 21 || ids(rest)[79] != 100 {
		t.Fatalf("resumed at %s under the selection it was acknowledged in: first %s %d; want r 21", acked.Token, rest[0].Stream, ids(rest)[0])
	}
	checkStreamTokens(t, rest, 31)
}

// Every kind of record carries a token; a TRUNCATE of two tables is a
// change of each.
func TestEveryRecordHasAToken(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE a (id int PRIMARY KEY)`, `CREATE TABLE b (id int PRIMARY KEY)`,
		`INSERT INTO a VALUES (1), (2)`)
	s := open(t, config(db, "a", "b"))
	snap := read(t, s, 2)
	quiet(t, s, 200*time.Millisecond) // the snapshot ends: TRUNCATE waits for no lock
	cluster.Exec(t, db, `BEGIN; INSERT INTO b VALUES (1); UPDATE a SET id = 3 WHERE id = 2; DELETE FROM a WHERE id = 1; TRUNCATE a, b; COMMIT`)
	recs := append(snap, read(t, s, 5)...)
	lsn := commitLSN(recs[2])
	want := []string{"snapshot snapshot:public.a:1", "snapshot snapshot:public.a:2",
		"insert " + lsn + ":1", "update " + lsn + ":2", "delete " + lsn + ":3", "truncate " + lsn + ":4", "truncate " + lsn + ":5"}
	var got []string
	for _, r := range recs {
		got = append(got, r.Op.String()+" "+r.Position.Token)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("tokens\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, r := range recs {
		if r.Position.Offset != uint64(i+1) {
			t.Errorf("record %d has offset %d", i, r.Position.Offset)
		}
	}
}

// Two snapshots of the same data give every row the same token: rows of a
// table with a primary key numbered in key order (across chunks), those
// of a table without one in their physical order.
func TestSnapshotTokensRepeat(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db,
		`CREATE TABLE k (id int PRIMARY KEY, v text)`,
		`INSERT INTO k SELECT g, 'v' FROM generate_series(2500, 1, -1) g`, // inserted in reverse: physical order is not key order
		`CREATE TABLE "x.Odd" (id int, v text)`,
		`INSERT INTO "x.Odd" SELECT g * 7 % 1201, 'v' FROM generate_series(1, 1200) g`)
	snapshot := func() []runtime.Record {
		cfg := config(db, "k", `"x.Odd"`)
		cfg.SnapshotMode = SnapshotInitialOnly
		s := open(t, cfg)
		recs := read(t, s, 3700)
		n, err := s.Read(context.Background(), make([]runtime.Record, 1))
		if n != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("after the snapshot: %d records, %v; want the end", n, err)
		}
		return recs
	}
	first := snapshot()
	for i, r := range first {
		want := fmt.Sprintf(`snapshot:public."x.Odd":%d`, i-2499)
		if i < 2500 {
			want = fmt.Sprintf("snapshot:public.k:%d", i+1)
			if id := ids(first[i : i+1])[0]; id != int64(i+1) {
				t.Fatalf("row %d of k has id %d: not in key order", i+1, id)
			}
		}
		if r.Position.Token != want {
			t.Fatalf("record %d (%s) has token %q; want %q", i, r.Stream, r.Position.Token, want)
		}
	}
	// Rows of the table without a key are told apart by their order.
	second := snapshot()
	for i := range first {
		a, b := first[i], second[i]
		if a.Position.Token != b.Position.Token || a.Stream != b.Stream || ids(first[i : i+1])[0] != ids(second[i : i+1])[0] {
			t.Fatalf("record %d: %s %s id %d, then %s %s id %d", i, a.Stream, a.Position.Token, ids(first[i : i+1])[0],
				b.Stream, b.Position.Token, ids(second[i : i+1])[0])
		}
	}
}

// In a cluster the acknowledged position is used only when the lease
// keeps it (where the runtime keeps a cluster run's position): one kept
// on a node's disk may predate a selection change another node made.
func TestResumeInAClusterUsesOnlyTheLeasePosition(t *testing.T) {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db, `CREATE TABLE r (id bigint PRIMARY KEY)`)
	cfg := config(db, "r")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := lead(t, elect(t, ctx, cfg, "node-a"), 10*time.Second)
	openLeasedAt := func(pos *runtime.Position) *Source {
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.UseState(l.Blob("source"))
		s.UseLease(l)
		if pos != nil {
			if err := s.Resume(*pos); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.Open(ctx); err != nil {
			_ = s.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s := openLeasedAt(nil)
	quiet(t, s, 200*time.Millisecond)
	cluster.Exec(t, db, `INSERT INTO r SELECT generate_series(1, 100)`)
	got := read(t, s, 40)
	acked := got[39].Position
	ackAll(t, s, got)
	abandon(s)

	s = openLeasedAt(&acked)
	if id := ids(read(t, s, 1))[0]; id != 1 {
		t.Fatalf("resumed at %s, kept on a node only: first id %d; want 1 (delivered again)", acked.Token, id)
	}
	abandon(s)

	b, err := acked.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Blob(leasePositionKey).Put(b); err != nil {
		t.Fatal(err)
	}
	s = openLeasedAt(&acked)
	if id := ids(read(t, s, 1))[0]; id != 41 {
		t.Fatalf("resumed at %s, kept in the lease: first id %d; want 41", acked.Token, id)
	}
}
