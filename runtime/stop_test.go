package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// slowOpenSource's Open (or first Read) blocks until its context is done
// and then fails with wrap(ctx.Err()), as a driver cut off mid-query does.
type slowOpenSource struct {
	seqSource
	inOpen   chan struct{} // closed when the blocking call has begun
	wrap     func(error) error
	inRead   bool // block in the first Read instead of Open
	openErr  error
	closes   atomic.Int32
	openOnce sync.Once
}

func newSlowOpenSource(wrap func(error) error) *slowOpenSource {
	return &slowOpenSource{seqSource: *newSeqSource(10), inOpen: make(chan struct{}), wrap: wrap}
}

func (s *slowOpenSource) block(ctx context.Context) error {
	s.openOnce.Do(func() { close(s.inOpen) })
	<-ctx.Done()
	return s.wrap(ctx.Err())
}

func (s *slowOpenSource) Open(ctx context.Context) error {
	if s.openErr != nil {
		return s.openErr
	}
	if s.inRead {
		return nil
	}
	return s.block(ctx)
}

func (s *slowOpenSource) Read(ctx context.Context, b []Record) (int, error) {
	if s.inRead {
		return 0, s.block(ctx)
	}
	return s.seqSource.Read(ctx, b)
}

func (s *slowOpenSource) Close() error { s.closes.Add(1); return nil }

// slowOpenSink's Open blocks until its context is done.
type slowOpenSink struct {
	memSink
	inOpen chan struct{}
	closes atomic.Int32
}

func (s *slowOpenSink) Open(ctx context.Context) error {
	close(s.inOpen)
	<-ctx.Done()
	return fmt.Errorf("dial 127.0.0.1:9092: %w", ctx.Err())
}
func (s *slowOpenSink) Close() error { s.closes.Add(1); return nil }

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runStopped runs p, cancels its context once started has been closed,
// and returns the logs and Run's result.
func runStopped(p *Pipeline, started <-chan struct{}) (string, error) {
	var logs logBuffer
	p.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	err := p.Run(ctx)
	cancel()
	return logs.String(), err
}

func TestStopWhileSourceOpensEndsCleanly(t *testing.T) {
	for name, wrap := range map[string]func(error) error{
		"wraps the cancellation": func(e error) error { return fmt.Errorf("create replication slot %q: %w", "rivven_slot", e) },
		"hides it":               func(error) error { return errors.New("conn closed") },
	} {
		t.Run(name, func(t *testing.T) {
			src := newSlowOpenSource(wrap)
			sink := &memSink{}
			p := &Pipeline{Name: "cdc", SourceName: "pg", Source: src, Sink: sink, Program: ProgramFunc(keepAll)}
			logs, err := runStopped(p, src.inOpen)
			if err != nil {
				t.Fatalf("a stop while the source opens must end the run cleanly, got %v", err)
			}
			if st := p.Status().State; st != StateStopped {
				t.Errorf("state %s, want stopped", st)
			}
			if n := strings.Count(logs, "stopped before source pg connected"); n != 1 {
				t.Errorf("want one INFO line saying the source was stopped before it connected, got:\n%s", logs)
			}
			if !strings.Contains(logs, "level=INFO") || strings.Contains(logs, "level=ERROR") {
				t.Errorf("logs:\n%s", logs)
			}
			if hidden := strings.Contains(logs, "conn closed"); hidden != (name == "hides it") {
				t.Errorf("an error that does not say it is the stop must be in the log line (and only then): %s", logs)
			}
			if src.closes.Load() != 1 {
				t.Errorf("source closed %d times, want 1 (it may have created something to clean up)", src.closes.Load())
			}
			if len(sink.got) != 0 {
				t.Errorf("sink got %v", sink.got)
			}
		})
	}
}

func TestStopWhileSinkOpensEndsCleanly(t *testing.T) {
	src := newSeqSource(10)
	sink := &slowOpenSink{inOpen: make(chan struct{})}
	p := &Pipeline{Name: "p", SourceName: "gen", SinkName: "bus", Source: src, Sink: sink, Program: ProgramFunc(keepAll)}
	logs, err := runStopped(p, sink.inOpen)
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(logs, "stopped before sink bus connected") || p.Status().State != StateStopped {
		t.Errorf("state %s, logs:\n%s", p.Status().State, logs)
	}
	if sink.closes.Load() != 1 || !src.closed {
		t.Errorf("sink closed %d times, source closed %v: both must be closed", sink.closes.Load(), src.closed)
	}
}

func TestStopDuringFirstReadEndsCleanly(t *testing.T) {
	src := newSlowOpenSource(func(error) error { return errors.New("replication connection closed") })
	src.inRead = true
	p := &Pipeline{Name: "cdc", SourceName: "pg", Source: src, Sink: &memSink{}, Program: ProgramFunc(keepAll)}
	logs, err := runStopped(p, src.inOpen)
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(logs, "stopped before source pg connected") || !strings.Contains(logs, "replication connection closed") {
		t.Errorf("logs:\n%s", logs)
	}
	if src.closes.Load() != 1 {
		t.Errorf("source closed %d times", src.closes.Load())
	}
}

func TestOpenFailureWithoutStopStillFails(t *testing.T) {
	src := newSlowOpenSource(nil)
	src.openErr = fmt.Errorf("create replication slot: %w", context.Canceled) // not our stop
	p := &Pipeline{Name: "cdc", SourceName: "pg", Source: src, Sink: &memSink{}, Program: ProgramFunc(keepAll)}
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `pipeline "cdc": open source: create replication slot`) {
		t.Fatalf("got %v", err)
	}
	if st := p.Status().State; st != StateFailed {
		t.Errorf("state %s, want failed", st)
	}
	if src.closes.Load() != 1 {
		t.Errorf("source closed %d times", src.closes.Load())
	}
}
