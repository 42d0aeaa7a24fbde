package cdc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/state"
)

// seenRecord is a record a test sink received: its row's id and its token.
type seenRecord struct {
	id    int64
	token string
}

// stopSink records what it receives, and calls stop once it has received
// at least stopAt records and ready (when set) holds (once): the write
// that reaches stopAt waits for ready (30 s at most).
type stopSink struct {
	mu     sync.Mutex
	got    []seenRecord
	stopAt int
	ready  func() bool
	stop   func()
}

func (s *stopSink) Open(context.Context) error { return nil }
func (s *stopSink) Close() error               { return nil }

func (s *stopSink) Write(_ context.Context, recs []runtime.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		s.got = append(s.got, seenRecord{recs[i].After[0].AsInt(), recs[i].Position.Token})
	}
	if s.stop != nil && len(s.got) >= s.stopAt && s.ready != nil {
		// Held until ready: the source may deliver the rest before the
		// driver keeps a position ready waits for (it saves the state
		// between writes), and no write would then come to stop.
		for deadline := time.Now().Add(30 * time.Second); !s.ready() && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if s.stop != nil && len(s.got) >= s.stopAt && (s.ready == nil || s.ready()) {
		s.stop()
		s.stop = nil
	}
	return nil
}

func (s *stopSink) seen() []seenRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRecord(nil), s.got...)
}

// TestPipelineStoppedInsideATransactionGoesOnAfterIt runs the source
// through the runtime with a state_dir, and stops the run while a
// transaction of 5000 rows is delivered: gracefully (every record written
// is acknowledged and kept in the state file) or by an abort (as a crash:
// what was written after the last acknowledgement is not). The next run,
// resumed by the driver from the state file, delivers the rows after the
// kept position once, those the first run wrote again with the tokens
// they had, and none before it; and the two runs' tokens are one
// transaction's (checkTxTokens).
func TestPipelineStoppedInsideATransactionGoesOnAfterIt(t *testing.T) {
	const rows = 5000
	for _, stop := range []string{"graceful", "abort"} {
		t.Run(stop, func(t *testing.T) {
			db := server.NewDatabase(t)
			server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY, pad VARCHAR(100))", "INSERT INTO k VALUES (0, 'first')")
			cfg := config(db, "k")
			dir := t.TempDir()
			run := func(sink *stopSink, ctx, abort context.Context) error {
				t.Helper()
				src, err := New(cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				settings := runtime.DefaultSettings()
				settings.StateDir, settings.BatchSize = dir, 64
				p := &runtime.Pipeline{Name: "p", Source: src, Sink: sink, Settings: settings,
					Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil })}
				return p.RunAbortable(ctx, abort)
			}
			// The first run: the snapshot (row 0), then the transaction,
			// stopped once 1500 of its rows were written.
			ctx, cancel := context.WithCancel(context.Background())
			abort, abortNow := context.WithCancelCause(context.Background())
			defer abortNow(nil)
			s1 := &stopSink{stopAt: 1 + 1500}
			s1.stop = cancel
			if stop == "abort" {
				// Once the kept position is inside the transaction.
				s1.stop = func() { abortNow(fmt.Errorf("test crash")) }
				s1.ready = func() bool {
					st, err := state.Open(dir)
					if err != nil {
						return false
					}
					v, _, _ := st.Get("p")
					return strings.Contains(string(v), " #")
				}
			}
			ran := make(chan error, 1)
			go func() { ran <- run(s1, ctx, abort) }()
			waitSeen(t, s1, 1)
			server.Exec(t, db, fmt.Sprintf("INSERT INTO k SELECT seq, REPEAT('p', 100) FROM seq_1_to_%d", rows))
			err := <-ran
			cancel()
			if stop == "graceful" && err != nil || stop == "abort" && (err == nil || !strings.Contains(err.Error(), "test crash")) {
				t.Fatalf("the first run ended with %v", err)
			}
			first := s1.seen()
			if n := len(first); n >= 1+rows || n < 1+1500 {
				t.Fatalf("the first run wrote %d records; want it stopped inside the transaction", n)
			}
			kept := keptPosition(t, dir, "p")
			k := -1 // the record kept
			for i, r := range first {
				if r.token == kept.Token {
					k = i
				}
			}
			if k < 1 || !strings.Contains(kept.Token, " #") || stop == "graceful" && k != len(first)-1 {
				t.Fatalf("the kept position %q is record %d of the %d written; want one inside the transaction (the last written after a graceful stop)",
					kept.Token, k, len(first))
			}

			// The next run goes on after the kept position.
			server.Exec(t, db, fmt.Sprintf("INSERT INTO k VALUES (%d, 'after')", rows+1))
			ctx2, cancel2 := context.WithCancel(context.Background())
			defer cancel2()
			s2 := &stopSink{}
			go func() { ran <- run(s2, ctx2, context.Background()) }()
			// Up to the row written after the transaction: a record
			// written twice would show before it.
			second := waitSeen(t, s2, rows+1-k)[:rows+1-k]
			cancel2()
			if err := <-ran; err != nil {
				t.Fatalf("the second run: %v", err)
			}
			toks := []string{}
			for i, r := range second {
				if want := int64(k + 1 + i); r.id != want {
					t.Fatalf("the second run's record %d has id %d; want %d (each row after the kept one, once)", i, r.id, want)
				}
				if j := k + 1 + i; j < len(first) && first[j].token != r.token {
					t.Fatalf("id %d was written with token %q, and again with %q", r.id, first[j].token, r.token)
				}
			}
			for _, r := range first[1 : k+1] {
				toks = append(toks, r.token)
			}
			for _, r := range second[:len(second)-1] {
				toks = append(toks, r.token)
			}
			checkTxTokens(t, toks)
			t.Logf("%s stop after %d of %d rows, %d acknowledged (%s): %d written again", stop, len(first)-1, rows, k, kept.Token, len(first)-1-k)
		})
	}
}

// waitSeen waits (a minute at most) until s has received n records and
// returns them.
func waitSeen(t *testing.T, s *stopSink, n int) []seenRecord {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if got := s.seen(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records after a minute", len(s.seen()), n)
		}
	}
}

// keptPosition reads the position the driver kept for pipeline name in
// dir.
func keptPosition(t *testing.T, dir, name string) runtime.Position {
	t.Helper()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := st.Get(name)
	var p runtime.Position
	if err != nil || !ok || p.UnmarshalJSON(v) != nil {
		t.Fatalf("state of %s in %s: %q, %v, %v", name, dir, v, ok, err)
	}
	return p
}

// TestPipelineReSnapshotsATableAddedToTables runs the source through the
// runtime with a state_dir: a first run captures table k; a second, with
// table n added to `tables`, delivers n's rows as re-snapshot records and
// records n as captured (the driver calls Saved once their positions are
// kept); a third delivers only n's new change.
func TestPipelineReSnapshotsATableAddedToTables(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1), (2), (3)",
		"CREATE TABLE n (id INT PRIMARY KEY, v INT)", "INSERT INTO n SELECT seq, seq FROM seq_1_to_1500")
	dir := t.TempDir()
	run := func(stopAt int, tables ...string) []seenRecord {
		t.Helper()
		src, err := New(config(db, tables...), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sink := &stopSink{stopAt: stopAt, stop: cancel}
		settings := runtime.DefaultSettings()
		settings.StateDir, settings.BatchSize = dir, 64
		p := &runtime.Pipeline{Name: "p", Source: src, Sink: sink, Settings: settings,
			Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil })}
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		return sink.seen()
	}
	captured := func() string {
		t.Helper()
		st, err := state.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := st.Get("p\x00source")
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	if got := run(3, "k"); len(got) != 3 {
		t.Fatalf("first run: %v", got)
	}
	got := run(1500, "k", "n")
	for i, r := range got {
		tok, err := parseToken(r.token)
		if err != nil || !tok.resnap || r.id != int64(i+1) {
			t.Fatalf("second run, record %d: id %d at %q (%v); want n's rows in key order as re-snapshot records", i, r.id, r.token, err)
		}
	}
	if len(got) != 1500 {
		t.Fatalf("second run: %d records, want n's 1,500 rows", len(got))
	}
	if c := captured(); !strings.Contains(c, "`n`") || strings.Contains(c, `"resnap":`) {
		t.Fatalf("kept after the re-snapshot: %s", c)
	}
	server.Exec(t, db, "INSERT INTO n VALUES (2000, 0)")
	if got := run(1, "k", "n"); len(got) != 1 || got[0].id != 2000 {
		t.Fatalf("third run: %v; want n's insert alone", got)
	}
}
