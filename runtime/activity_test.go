package runtime

import (
	"context"
	"testing"
	"time"
)

// activeSlowSource is a slowOpenSource that says what it is doing.
type activeSlowSource struct {
	*slowOpenSource
	doing string
}

func (s activeSlowSource) Activity() Activity { return Activity{Doing: s.doing, Done: 1, Total: 2} }

// idleSource has nothing to read until its context ends.
type idleSource struct{ seqSource }

func (s *idleSource) Read(ctx context.Context, _ []Record) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPipelineActivity(t *testing.T) {
	cancelled := func(e error) error { return e }
	start := func(p *Pipeline) (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		return cancel, done
	}
	end := func(cancel context.CancelFunc, done chan error) {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	src := newSlowOpenSource(cancelled)
	p := &Pipeline{Name: "p", SourceName: "pg", Source: src, Sink: &memSink{}, Program: ProgramFunc(keepAll)}
	if got := p.Activity(); got != (Activity{Doing: "starting"}) {
		t.Errorf("before Run: %+v", got)
	}
	cancel, done := start(p)
	<-src.inOpen
	if got := p.Activity(); got != (Activity{Doing: "opening source pg"}) {
		t.Errorf("while the source opens: %+v", got)
	}
	end(cancel, done)
	if got := p.Activity(); got != (Activity{}) {
		t.Errorf("after Run: %+v", got)
	}

	// The source's own activity wins while the driver waits for it, not
	// while it opens a sink.
	asrc := activeSlowSource{newSlowOpenSource(cancelled), "connecting to 127.0.0.1:5432"}
	p = &Pipeline{Name: "p", SourceName: "pg", Source: asrc, Sink: &memSink{}, Program: ProgramFunc(keepAll)}
	cancel, done = start(p)
	<-asrc.inOpen
	if got := p.Activity(); got != (Activity{Doing: "connecting to 127.0.0.1:5432", Done: 1, Total: 2}) {
		t.Errorf("while an Active source opens: %+v", got)
	}
	end(cancel, done)

	sink := &slowOpenSink{inOpen: make(chan struct{})}
	opens := newSlowOpenSource(cancelled)
	opens.inRead = true // Open returns at once
	p = &Pipeline{Name: "p", SinkName: "bus", Source: activeSlowSource{opens, "snapshotting"}, Sink: sink, Program: ProgramFunc(keepAll)}
	cancel, done = start(p)
	<-sink.inOpen
	if got := p.Activity(); got != (Activity{Doing: "opening sink bus"}) {
		t.Errorf("while the sink opens: %+v", got)
	}
	end(cancel, done)

	idle := &idleSource{}
	p = &Pipeline{Name: "p", Source: idle, Sink: &memSink{}, Program: ProgramFunc(keepAll)}
	cancel, done = start(p)
	waitUntil(t, "running", func() bool { return p.Status().State == StateRunning })
	if got := p.Activity(); got != (Activity{Doing: "waiting for records"}) {
		t.Errorf("running, nothing read: %+v", got)
	}
	end(cancel, done)
}
