package cdc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	rt "github.com/rivven/rivven-connect/runtime"
)

// TestPurgedBinlogIsPossibleDataLoss resumes at a binlog file the server
// does not have.
func TestPurgedBinlogIsPossibleDataLoss(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
	pos := rt.Position{Token: "mysql-bin.999999:4"}
	s := open(t, config(db, "k"), &pos)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Read(ctx, make([]rt.Record, 4))
	if err == nil || !strings.Contains(err.Error(), "possible data loss") || !strings.Contains(err.Error(), "mysql-bin.999999:4") {
		t.Fatalf("Read: %v", err)
	}
}

// TestTLSPreferWithoutServerTLSStreamsInPlaintext: tls.mode prefer
// against a server without TLS reads the binlog unencrypted.
func TestTLSPreferWithoutServerTLSStreamsInPlaintext(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
	cfg := config(db, "k")
	cfg.TLS.Mode = "prefer"
	cfg.SnapshotMode = SnapshotNever
	s := open(t, cfg, nil)
	server.Exec(t, db, "INSERT INTO k VALUES (1)")
	if g := strings.Join(ints(t, read(t, s, 1), "id"), " "); g != "insert:1" {
		t.Fatalf("stream: %s", g)
	}
}

// recorder keeps log records.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrRecorder{r: r, as: as}
}
func (r *recorder) WithGroup(string) slog.Handler { return r }

type attrRecorder struct {
	r  *recorder
	as []slog.Attr
}

func (a *attrRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (a *attrRecorder) Handle(ctx context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(a.as...)
	return a.r.Handle(ctx, rec)
}
func (a *attrRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrRecorder{r: a.r, as: append(append([]slog.Attr(nil), a.as...), as...)}
}
func (a *attrRecorder) WithGroup(string) slog.Handler { return a }

// TestBinlogLibraryLogsAtDebugWithoutThePassword: go-mysql's records go
// to the source's logger at debug level, and never hold the password.
func TestBinlogLibraryLogsAtDebugWithoutThePassword(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
	cfg := config(db, "k")
	cfg.SnapshotMode = SnapshotNever
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s.UseLogger(slog.New(rec))
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	server.Exec(t, db, "INSERT INTO k VALUES (1)")
	read(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	lib := 0
	for _, r := range rec.recs {
		var text strings.Builder
		text.WriteString(r.Message)
		isLib := false
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&text, " %s=%v", a.Key, a.Value)
			if a.Key == "component" && a.Value.String() == "go-mysql" {
				isLib = true
			}
			return true
		})
		if strings.Contains(text.String(), cfg.Password) {
			t.Errorf("a log record shows the password: %s", text.String())
		}
		if isLib {
			lib++
			if r.Level != slog.LevelDebug {
				t.Errorf("go-mysql record at %s: %s", r.Level, text.String())
			}
		}
	}
	if lib == 0 {
		t.Error("no go-mysql log record reached the source's logger")
	}
}

// TestCloseLeavesNoGoroutines streams, closes, and waits for the
// binlog goroutines (go-mysql's reader and the stream loop) to end and
// the goroutine count to come back. (The count alone can hide a leak
// behind a goroutine of the test's own setup that ends meanwhile.)
func TestCloseLeavesNoGoroutines(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)", "INSERT INTO k VALUES (1)")
	before := runtime.NumGoroutine()
	s := open(t, config(db, "k"), nil)
	read(t, s, 1)
	server.Exec(t, db, "INSERT INTO k VALUES (2)")
	read(t, s, 1)
	if st := stacks(); !strings.Contains(st, "go-mysql-org/go-mysql/replication") || !strings.Contains(st, "cdc.(*Source).startLag") {
		t.Fatal("no go-mysql or lag goroutine while streaming: the test looks for the wrong names")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Poll: connections' reader goroutines end asynchronously.
	for i := 0; ; i++ {
		st := stacks()
		if runtime.NumGoroutine() <= before && !strings.Contains(st, "go-mysql-org/go-mysql/") && !strings.Contains(st, "cdc.(*Source).startStream") &&
			!strings.Contains(st, "cdc.(*Source).startLag") {
			break
		}
		if i == 300 {
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestEnumMembersChangedByADDLDecodeWithTheirOwnMap: a rows event names
// ENUM and SET members from its own table map, even when the relation
// (the same columns and kinds) is shared.
func TestEnumMembersChangedByADDLDecodeWithTheirOwnMap(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE e (id INT PRIMARY KEY, c ENUM('a','b'), s SET('x','y'), u INT UNSIGNED, b BIT(64))")
	cfg := config(db, "e")
	cfg.SnapshotMode = SnapshotNever
	s := open(t, cfg, nil)
	server.Exec(t, db, "INSERT INTO e VALUES (1, 'b', 'x,y', 4294967295, b'1000000000000000000000000000000000000000000000000000000000000001')",
		"ALTER TABLE e MODIFY c ENUM('z','a','b'), MODIFY s SET('w','x','y')",
		"INSERT INTO e VALUES (2, 'b', 'w,y', 0, 0)")
	got := read(t, s, 2)
	show := func(r rt.Record) string {
		return fmt.Sprintf("%s %s %s %s", r.After[1].AsString(), r.After[2].AsString(), showValue(r.After[3]), showValue(r.After[4]))
	}
	if g := show(got[0]); g != `b x,y 4294967295 "9223372036854775809"` {
		t.Errorf("before the DDL: %s", g)
	}
	if g := show(got[1]); g != `b w,y 0 "0"` {
		t.Errorf("after the DDL: %s", g)
	}
}

func showValue(v rt.Value) string { return string(rt.AppendJSON(nil, v)) }
