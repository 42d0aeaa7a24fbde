package cdc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// checkTxTokens checks the tokens of one transaction's records, in
// order: every one but the last names where the transaction starts and a
// change, the changes increasing; the last is the plain position after
// the transaction.
func checkTxTokens(t *testing.T, toks []string) {
	t.Helper()
	var start token
	var prev change
	for i, s := range toks {
		tok, err := parseToken(s)
		if err != nil {
			t.Fatalf("record %d of the transaction: %v", i, err)
		}
		if i == len(toks)-1 {
			if tok.change != (change{}) || tok.snapshot || tok.at() == start {
				t.Fatalf("the transaction's last record has token %q; want the position after it", s)
			}
			return
		}
		if i == 0 {
			start = tok.at()
		}
		if tok.snapshot || tok.at() != start || !tok.change.after(prev) {
			t.Fatalf("record %d of the transaction has token %q after %q; want its start %q and a change after %s",
				i, s, toks[max(i-1, 0)], start.String(), prev)
		}
		prev = tok.change
	}
}

// resumeFixture writes, into table m of a new database (and o, which the
// test may not capture), a single-row transaction, one transaction of
// many changes (400 inserts in several rows events, an insert into o, 50
// updates, 10 deletes) and another single-row transaction, and reads them
// all from a first source (snapshot_mode never, opened before the writes):
// the reference records and their tokens.
func resumeFixture(t *testing.T, tables ...string) (Config, string, []runtime.Record) {
	t.Helper()
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE m (id INT PRIMARY KEY, pad VARCHAR(200))", "CREATE TABLE o (id INT PRIMARY KEY)")
	cfg := config(db, tables...)
	cfg.SnapshotMode = SnapshotNever
	ref := open(t, cfg, nil)
	server.Exec(t, db, "INSERT INTO m VALUES (1, 'one')",
		"START TRANSACTION; INSERT INTO m SELECT seq, REPEAT('p', 200) FROM seq_2_to_401; INSERT INTO o VALUES (1); "+
			"UPDATE m SET pad = 'u' WHERE id BETWEEN 100 AND 149; DELETE FROM m WHERE id BETWEEN 300 AND 309; COMMIT",
		"INSERT INTO m VALUES (1000, 'after')")
	n := 1 + 400 + 50 + 10 + 1
	if len(tables) == 2 {
		n++
	}
	recs := read(t, ref, n)
	toks := make([]string, 0, n)
	for _, r := range recs[1 : n-1] {
		toks = append(toks, r.Position.Token)
	}
	checkTxTokens(t, toks)
	// The 400 inserts span several rows events of several rows each.
	if a, b := mustParse(t, recs[2].Position.Token), mustParse(t, recs[400].Position.Token); a.change != (change{1, 2}) || b.change.ev < 3 {
		t.Fatalf("the inserts' changes: %s, …, %s; want several rows events of several rows", a.change, b.change)
	}
	if err := ref.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg, db, recs
}

func mustParse(t *testing.T, s string) token {
	t.Helper()
	tok, err := parseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// same fails unless got are want's records: the same rows, in order,
// with the same tokens.
func same(t *testing.T, what string, got, want []runtime.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Op != w.Op || g.Position.Token != w.Position.Token || g.Stream != w.Stream || showRow(g) != showRow(w) {
			t.Fatalf("%s: record %d is %s %s %s at %q; want %s %s %s at %q", what, i, g.Op, g.Stream, showRow(g), g.Position.Token,
				w.Op, w.Stream, showRow(w), w.Position.Token)
		}
	}
}

func showRow(r runtime.Record) string {
	return fmt.Sprintf("%s→%s", rowText(r.Before), rowText(r.After))
}

func rowText(row []runtime.Value) string {
	if row == nil {
		return "-"
	}
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = showValue(v)
	}
	return strings.Join(parts, ",")
}

// TestResumeInsideATransactionDeliversTheRestOnce: a source acknowledges
// part of a transaction of many changes, and stops — abandoned without
// Close with more read than acknowledged (a crash), or closed with
// everything read acknowledged (a graceful stop). A new source resumed at
// the acknowledged position delivers the rest of the transaction and
// what follows, each with the token the first run gave it, and nothing
// acknowledged again.
func TestResumeInsideATransactionDeliversTheRestOnce(t *testing.T) {
	const n = 462 // resumeFixture's records
	// Acknowledged: the transaction's first change, one inside its first
	// rows event, the last insert (before o's event), the first update,
	// its last change but one, and its last (which carries the position
	// after the transaction).
	for _, k := range []int{1, 137, 400, 401, n - 3, n - 2} {
		for _, stop := range []string{"crash", "close"} {
			t.Run(fmt.Sprintf("%s-at-%d", stop, k), func(t *testing.T) {
				ctx := context.Background()
				cfg, db, ref := resumeFixture(t, "m")
				// The first run reads from the position before the
				// transaction (the first record's): up to k for a
				// graceful stop, some way past it for a crash.
				s1 := open(t, cfg, &ref[0].Position)
				upTo := k
				if stop == "crash" {
					upTo = min(k+60, n-2)
				}
				first := read(t, s1, upTo)
				same(t, "the first run", first, ref[1:upTo+1])
				acked := ref[k].Position
				acked.Offset = first[k-1].Position.Offset
				if err := s1.Ack(ctx, acked); err != nil {
					t.Fatal(err)
				}
				cfg2 := cfg
				if stop == "close" {
					if err := s1.Close(); err != nil {
						t.Fatal(err)
					}
				} else {
					// Abandoned: it keeps its connection (released when
					// the test ends); the new run registers as another
					// replica, as a restarted process would after the
					// server dropped the dead one's.
					cfg2.ServerID = serverIDs()
				}
				s2 := open(t, cfg2, &acked)
				rest := read(t, s2, n-1-k)
				same(t, "after the restart", rest, ref[k+1:])
				// Nothing else: the next record is a new row.
				server.Exec(t, db, "INSERT INTO m VALUES (2000, 'next')")
				if g := strings.Join(ints(t, read(t, s2, 1), "id"), " "); g != "insert:2000" {
					t.Fatalf("then: %s (want only the new row)", g)
				}
			})
		}
	}
}

// TestResumeTokensDoNotDependOnTheSelection: a change's token counts the
// rows events of every table, so a source capturing fewer tables gives
// its records the tokens a source capturing more gave them, and resumed
// at a change of a table it does not capture it goes on with the
// changes after it.
func TestResumeTokensDoNotDependOnTheSelection(t *testing.T) {
	cfg, _, ref := resumeFixture(t, "m", "o")
	o := -1
	for i, r := range ref {
		if r.Stream == "o" {
			o = i
		}
	}
	if o != 401 {
		t.Fatalf("o's record is record %d, want 401", o)
	}
	var onlyM []runtime.Record
	for _, r := range ref {
		if r.Stream == "m" {
			onlyM = append(onlyM, r)
		}
	}
	mCfg := cfg
	mCfg.ServerID = serverIDs()
	mCfg.Tables = cfg.Tables[:1]
	// From before the transaction: m's records, with the same tokens.
	s := open(t, mCfg, &ref[0].Position)
	same(t, "m alone", read(t, s, len(onlyM)-1), onlyM[1:])
	s.Close()
	// Resumed at o's change (acknowledged by the source capturing both):
	// m's changes after it.
	s = open(t, mCfg, &ref[o].Position)
	same(t, "m alone after o's change", read(t, s, len(ref)-1-o), ref[o+1:])
}

// TestSnapshotTokensAreTheSameInEverySnapshot: snapshot records carry
// their table and ordinal, so a snapshot taken again (after a crash in
// the middle of the first) gives unchanged rows the tokens they had.
func TestSnapshotTokensAreTheSameInEverySnapshot(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE `a b` (id INT PRIMARY KEY)", "INSERT INTO `a b` SELECT seq FROM seq_1_to_2500",
		"CREATE TABLE c (id INT PRIMARY KEY)", "INSERT INTO c VALUES (7), (8)")
	cfg := config(db, "`a b`", "c")
	s := open(t, cfg, nil)
	first := read(t, s, 2502)
	for i, r := range first[:2501] {
		want := fmt.Sprintf("snapshot `%s`.`a b` #%d", db, i+1)
		if i >= 2500 {
			want = fmt.Sprintf("snapshot `%s`.`c` #%d", db, i-2499)
		}
		if r.Position.Token != want {
			t.Fatalf("snapshot record %d: token %q, want %q", i, r.Position.Token, want)
		}
	}
	end, err := parseToken(first[2501].Position.Token)
	if err != nil || end.snapshot || end.change != (change{}) {
		t.Fatalf("the last snapshot record's token %q (%v): want the snapshot's position", first[2501].Position.Token, err)
	}
	// A crash after record 1700: the next run snapshots again.
	cfg2 := cfg
	cfg2.ServerID = serverIDs()
	s2 := open(t, cfg2, &first[1700].Position)
	same(t, "the snapshot taken again", read(t, s2, 2502), first)
	// Under snapshot_mode never there is no snapshot to take again, and
	// the token does not say where the snapshot started.
	cfg2.SnapshotMode = SnapshotNever
	s3, err := New(cfg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if err := s3.Resume(first[1700].Position); err != nil {
		t.Fatal(err)
	}
	err = s3.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "a record of a snapshot that did not finish, and snapshot_mode is never") ||
		!strings.Contains(err.Error(), first[1700].Position.Token) {
		t.Fatalf("Open under never at a snapshot record: %v", err)
	}
}

// TestEarlierVersionsSnapshotTokensResume: a token an earlier version gave
// snapshot records ("snapshot FILE:POS gtid=SET") takes the snapshot
// again, or under snapshot_mode never streams from the snapshot's
// position.
func TestEarlierVersionsSnapshotTokensResume(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1), (2)")
	cfg := config(db, "k")
	s := open(t, cfg, nil)
	snap := read(t, s, 2)
	s.Close()
	old := runtime.Position{Offset: 1, Token: "snapshot " + snap[1].Position.Token}
	server.Exec(t, db, "INSERT INTO k VALUES (3)")
	s2 := open(t, cfg, &old)
	if g := strings.Join(ints(t, read(t, s2, 3), "id"), " "); g != "snapshot:1 snapshot:2 snapshot:3" {
		t.Fatalf("initial: %s (want the snapshot again)", g)
	}
	s2.Close()
	cfg.SnapshotMode = SnapshotNever
	s3 := open(t, cfg, &old)
	if g := strings.Join(ints(t, read(t, s3, 1), "id"), " "); g != "insert:3" {
		t.Fatalf("never: %s (want the stream from the snapshot's position)", g)
	}
}

// TestTokensParseAndPrint pins the token forms.
func TestTokensParseAndPrint(t *testing.T) {
	for _, tc := range []struct {
		text string
		want token
	}{
		{"mysql-bin.000003:4521", token{file: "mysql-bin.000003", pos: 4521}},
		{"mysql-bin.000003:4521 gtid=0-1-1187,1-2-5", token{file: "mysql-bin.000003", pos: 4521, gtid: "0-1-1187,1-2-5"}},
		{"mysql-bin.000003:4521 gtid=0-1-1187 #2.17", token{file: "mysql-bin.000003", pos: 4521, gtid: "0-1-1187", change: change{2, 17}}},
		{"binlog.000001:157 #1.1", token{file: "binlog.000001", pos: 157, change: change{1, 1}}},
		{"snapshot `shop`.`Order #Items` #12", token{snapshot: true, table: "`shop`.`Order #Items`", row: 12}},
		{"snapshot mysql-bin.000001:330 gtid=0-1-4", token{snapshot: true, file: "mysql-bin.000001", pos: 330, gtid: "0-1-4"}},
	} {
		got, err := parseToken(tc.text)
		if err != nil || got != tc.want {
			t.Errorf("parseToken(%q) = %+v, %v; want %+v", tc.text, got, err, tc.want)
		}
		if s := tc.want.String(); s != tc.text {
			t.Errorf("%+v prints as %q, want %q", tc.want, s, tc.text)
		}
	}
	for _, bad := range []string{"", "mysql-bin.000001", "f:3", "f:12 #0.1", "f:12 #1", "f:12 #1.x", "f:12 #1.2.3",
		"snapshot `a`.`b` #0", "snapshot a.b #3", "snapshot `a`.`b` #"} {
		if tok, err := parseToken(bad); err == nil {
			t.Errorf("parseToken(%q) = %+v, want an error", bad, tok)
		}
	}
	if c := (change{2, 1}); !c.after(change{1, 9}) || c.after(change{2, 1}) || !c.after(change{}) || (change{1, 9}).after(c) {
		t.Error("change.after")
	}
}

// TestKilledBinlogConnectionAfterAResumeInsideATransaction: a source
// resumed inside a large transaction loses its binlog connection while it
// delivers the rest: it reads the transaction again and goes on after
// what it delivered, so the records are the reference run's after the
// resumed one, each once, with the same tokens.
func TestKilledBinlogConnectionAfterAResumeInsideATransaction(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(1000))")
	cfg := config(db, "big")
	cfg.SnapshotMode = SnapshotNever
	s := open(t, cfg, nil)
	const rows = 20000
	server.Exec(t, db, fmt.Sprintf("INSERT INTO big SELECT seq, REPEAT('x', 1000) FROM seq_1_to_%d", rows))
	ref := read(t, s, rows)
	s.Close()
	cfg.ServerID = serverIDs()
	s2, rec := openLogged(t, cfg, &ref[2999].Position)
	s2.eventCache = 8 // the kill lands inside the transaction
	got := read(t, s2, 500)
	waitDump(t, server)
	if n := killDumps(t, server); n == 0 {
		t.Fatal("no binlog dump thread to kill")
	}
	got = append(got, read(t, s2, rows-3000-500)...)
	same(t, "after the resume and the reconnect", got, ref[3000:])
	if warn := rec.logged(slog.LevelWarn, "binlog connection"); len(warn) == 0 {
		t.Error("no reconnect: the test needs the connection lost inside the transaction")
	}
}

// TestResumeAtAnotherTransactionDeliversItInFull: when the transaction
// read first is not the one the resumed token names (here: a token whose
// GTID position leads to the transaction, and whose file position does
// not), the source skips nothing of it, and says so.
func TestResumeAtAnotherTransactionDeliversItInFull(t *testing.T) {
	cfg, _, ref := resumeFixture(t, "m")
	tok := mustParse(t, ref[137].Position.Token)
	if tok.gtid == "" {
		t.Fatalf("token %q has no GTID position", ref[137].Position.Token)
	}
	tok.pos += 1000
	s, rec := openLogged(t, cfg, &runtime.Position{Offset: 1, Token: tok.String()})
	same(t, "after the resume", read(t, s, len(ref)-1), ref[1:])
	warn := rec.logged(slog.LevelWarn, "did not come first")
	if len(warn) != 1 || !strings.Contains(warn[0], "transaction="+token{file: tok.file, pos: tok.pos, change: tok.change}.String()) {
		t.Errorf("warnings %q", warn)
	}
}
