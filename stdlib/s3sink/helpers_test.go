package s3sink

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

var srv *s3test.Server

func TestMain(m *testing.M) {
	if os.Getenv("S3SINK_CHILD") != "" {
		os.Exit(childMain())
	}
	s3test.Main(m, &srv)
}

var testSchema = runtime.NewSchema(
	runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
	runtime.Field{Name: "name", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
	runtime.Field{Name: "score", Type: runtime.Type{Kind: runtime.KindFloat}},
	runtime.Field{Name: "ok", Type: runtime.Type{Kind: runtime.KindBool}},
	runtime.Field{Name: "tags", Type: runtime.Any},
)

var base = time.Date(2026, 3, 4, 22, 30, 0, 0, time.UTC)

// genSource emits records from..n-1: record i has id i, event time base +
// i*step, offset i; Ack records the acknowledged offsets. failAt > 0 makes
// Read fail once it reached that record.
type genSource struct {
	from, n, next int
	step          time.Duration
	failAt        int
	mu            sync.Mutex
	acked         int // last acknowledged offset, -1 = none
}

func newGen(from, n int, step time.Duration) *genSource {
	return &genSource{from: from, n: n, next: from, step: step, acked: -1}
}

func (g *genSource) Open(context.Context) error { return nil }
func (g *genSource) Close() error               { return nil }
func (g *genSource) Ack(_ context.Context, p runtime.Position) error {
	g.mu.Lock()
	g.acked = int(p.Offset)
	g.mu.Unlock()
	return nil
}
func (g *genSource) lastAck() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.acked
}

func genRecord(i int, step time.Duration) runtime.Record {
	var name runtime.Value
	if i%7 != 3 {
		name = runtime.String("user-" + string(rune('a'+i%26)))
	}
	tags := runtime.ObjectValue(runtime.NewObject(1).Set("k", runtime.Int(int64(i%3))))
	return runtime.Record{Stream: "users", Schema: testSchema, Op: runtime.OpInsert,
		After:    []runtime.Value{runtime.Int(int64(i)), name, runtime.Float(float64(i) / 4), runtime.Bool(i%2 == 0), tags},
		Time:     base.Add(time.Duration(i) * step),
		Position: runtime.Position{Offset: uint64(i)}}
}

func (g *genSource) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	k := 0
	for k < len(batch) && g.next < g.n {
		if g.failAt > 0 && g.next == g.failAt {
			return k, io.ErrUnexpectedEOF
		}
		batch[k] = genRecord(g.next, g.step)
		g.next++
		k++
	}
	if g.next == g.n {
		return k, io.EOF
	}
	return k, nil
}

// testConfig is a sink config for bucket on the test server.
func testConfig(bucket string) Config {
	c := Defaults()
	c.Bucket, c.Endpoint, c.Region = bucket, srv.Endpoint, "us-east-1"
	c.Credentials = Credentials{AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}
	c.Prefix = "out"
	return c
}

// run runs src into a sink of cfg through the runtime's driver.
func run(t *testing.T, cfg Config, src runtime.Source, batch int) (*runtime.Pipeline, error) {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Pipeline{Name: "p", Source: src, Sink: s, Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }),
		Settings: runtime.Settings{BatchSize: batch}}
	return p, p.Run(context.Background())
}

// runFailing is run with a program that fails on record failAt.
func runFailing(t *testing.T, cfg Config, src runtime.Source, batch, failAt int) (*runtime.Pipeline, error) {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Pipeline{Name: "p", Source: src, Sink: s, Program: runtime.ProgramFunc(func(r *runtime.Record) (bool, error) {
		if r.Position.Offset == uint64(failAt) {
			return false, errors.New("transform failed")
		}
		return true, nil
	}), Settings: runtime.Settings{BatchSize: batch}}
	return p, p.Run(context.Background())
}

func mustRun(t *testing.T, cfg Config, src runtime.Source, batch int) *runtime.Pipeline {
	t.Helper()
	p, err := run(t, cfg, src, batch)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
