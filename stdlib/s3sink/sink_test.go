package s3sink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2/ocf"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

func keys(m map[string][]byte) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestJSONLRoundTripAndLayout(t *testing.T) {
	for _, comp := range []string{"none", "gzip", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			b := srv.NewBucket(t)
			cfg := testConfig(b)
			cfg.Compression = comp
			// 200 records a minute apart: 22:30 .. 01:49 next day, 5 hours.
			p := mustRun(t, cfg, newGen(0, 200, time.Minute), 64)
			if p.Stats.Out.Load() != 200 {
				t.Fatalf("Out = %d, want 200", p.Stats.Out.Load())
			}
			objs := srv.Objects(t, b)
			ext := map[string]string{"none": "jsonl", "gzip": "jsonl.gz", "zstd": "jsonl.zst"}[comp]
			want := []string{
				"out/users/dt=2026-03-04/hr=22/users+0+0." + ext,
				"out/users/dt=2026-03-04/hr=23/users+0+30." + ext,
				"out/users/dt=2026-03-05/hr=00/users+0+90." + ext,
				"out/users/dt=2026-03-05/hr=01/users+0+150." + ext,
			}
			if got := keys(objs); !slices.Equal(got, want) {
				t.Fatalf("keys:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			next := 0
			for _, k := range want {
				data := objs[k]
				switch comp {
				case "gzip":
					r, err := gzip.NewReader(bytes.NewReader(data))
					if err != nil {
						t.Fatal(err)
					}
					data, err = io.ReadAll(r)
					if err != nil {
						t.Fatal(err)
					}
				case "zstd":
					d, _ := zstd.NewReader(nil)
					var err error
					data, err = d.DecodeAll(data, nil)
					if err != nil {
						t.Fatal(err)
					}
				}
				sc := bufio.NewScanner(bytes.NewReader(data))
				for sc.Scan() {
					var ev struct {
						EventType string         `json:"event_type"`
						Timestamp string         `json:"timestamp"`
						Data      map[string]any `json:"data"`
					}
					if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
						t.Fatalf("%s: %v: %s", k, err, sc.Text())
					}
					if ev.Data["id"] != float64(next) || ev.EventType != "insert" {
						t.Fatalf("%s: record %v, want id %d", k, ev, next)
					}
					hr := base.Add(time.Duration(next) * time.Minute).Format("15")
					if !strings.Contains(k, "hr="+hr) {
						t.Fatalf("record %d (event hour %s) in %s", next, hr, k)
					}
					next++
				}
			}
			if next != 200 {
				t.Fatalf("read back %d records, want 200", next)
			}
		})
	}
}

func TestAvroRoundTrip(t *testing.T) {
	for _, comp := range []string{"none", "gzip", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			b := srv.NewBucket(t)
			cfg := testConfig(b)
			cfg.Format, cfg.Compression = FormatAvro, comp
			cfg.Rotate.MaxRecords = 3000
			mustRun(t, cfg, newGen(0, 2500, time.Second), 100)
			objs := srv.Objects(t, b)
			if got := keys(objs); !slices.Equal(got, []string{"out/users/dt=2026-03-04/hr=22/users+0+0.avro", "out/users/dt=2026-03-04/hr=23/users+0+1800.avro"}) {
				t.Fatalf("keys %v", got)
			}
			n := 0
			for _, k := range keys(objs) {
				dec, err := ocf.NewDecoder(bytes.NewReader(objs[k]))
				if err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				for dec.HasNext() {
					var row map[string]any
					if err := dec.Decode(&row); err != nil {
						t.Fatalf("%s: record %d: %v", k, n, err)
					}
					want := genRecord(n, time.Second)
					if row["id"] != int64(n) || row["score"] != float64(n)/4 || row["ok"] != (n%2 == 0) || row["_event_type"] != "insert" {
						t.Fatalf("%s: row %d = %v", k, n, row)
					}
					if ts, ok := row["_event_time"].(time.Time); !ok || !ts.Equal(want.Time) {
						t.Fatalf("row %d: _event_time %v (%T), want %v", n, row["_event_time"], row["_event_time"], want.Time)
					}
					if n%7 == 3 && row["name"] != nil || n%7 != 3 && row["name"] != "user-"+string(rune('a'+n%26)) {
						t.Fatalf("row %d: name %#v", n, row["name"])
					}
					if row["tags"] != fmt.Sprintf(`{"k":%d}`, n%3) {
						t.Fatalf("row %d: tags %#v", n, row["tags"])
					}
					n++
				}
				if dec.Error() != nil {
					t.Fatal(dec.Error())
				}
			}
			if n != 2500 {
				t.Fatalf("decoded %d rows, want 2500", n)
			}
		})
	}
}

func TestParquetRoundTripTypedColumns(t *testing.T) {
	for _, comp := range []string{"none", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			b := srv.NewBucket(t)
			cfg := testConfig(b)
			cfg.Format, cfg.Compression = FormatParquet, comp
			mustRun(t, cfg, newGen(0, 1000, time.Second), 64)
			objs := srv.Objects(t, b)
			if got := keys(objs); !slices.Equal(got, []string{"out/users/dt=2026-03-04/hr=22/users+0+0.parquet"}) {
				t.Fatalf("keys %v", got)
			}
			data := objs[keys(objs)[0]]
			f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if f.NumRows() != 1000 {
				t.Fatalf("%d rows, want 1000", f.NumRows())
			}
			types := map[string]string{}
			for _, c := range f.Schema().Fields() {
				types[c.Name()] = c.Type().String()
			}
			want := map[string]string{"id": "INT(64,true)", "name": "STRING", "score": "DOUBLE", "ok": "BOOLEAN", "tags": "JSON", "_event_type": "STRING", "_event_time": "TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)"}
			for k, v := range want {
				if types[k] != v {
					t.Errorf("column %s: type %q, want %q", k, types[k], v)
				}
			}
			type row struct {
				ID        int64     `parquet:"id"`
				Name      *string   `parquet:"name"`
				Score     float64   `parquet:"score"`
				OK        bool      `parquet:"ok"`
				Tags      string    `parquet:"tags"`
				EventType string    `parquet:"_event_type"`
				EventTime time.Time `parquet:"_event_time,timestamp(millisecond)"`
			}
			rows, err := parquet.Read[row](bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range rows {
				g := genRecord(i, time.Second)
				if r.ID != int64(i) || r.Score != float64(i)/4 || r.OK != (i%2 == 0) || r.Tags != fmt.Sprintf(`{"k":%d}`, i%3) ||
					r.EventType != "insert" || !r.EventTime.Equal(g.Time) || (r.Name == nil) != (i%7 == 3) {
					t.Fatalf("row %d = %+v", i, r)
				}
			}
		})
	}
}

func TestRotation(t *testing.T) {
	cases := []struct {
		name   string
		set    func(*Config)
		starts []int // first record of each object
	}{
		{"max_records", func(c *Config) { c.Rotate.MaxRecords = 25 }, []int{0, 25, 50, 75}},
		{"max_bytes", func(c *Config) { c.Rotate.MaxBytes = 2400 }, byteStarts(100, 2400)},
		// records 10 s apart from 22:30:00: 5-minute windows of 30 records
		{"interval", func(c *Config) { c.Rotate.Interval = "5m" }, []int{0, 30, 60, 90}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, batch := range []int{1, 13, 256} {
				b := srv.NewBucket(t)
				cfg := testConfig(b)
				cfg.KeyTemplate = "{stream}/{position}.{ext}"
				tc.set(&cfg)
				mustRun(t, cfg, newGen(0, 100, 10*time.Second), batch)
				var got []int
				for _, k := range keys(srv.Objects(t, b)) {
					n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(k, "out/users/"), ".jsonl"))
					got = append(got, n)
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.starts) {
					t.Fatalf("batch %d: objects start at %v, want %v", batch, got, tc.starts)
				}
			}
		})
	}
}

// byteStarts is where units of at most max bytes of JSON lines start
// (a unit ends after the line that reaches max).
func byteStarts(n, max int) []int {
	starts, size := []int{0}, 0
	for i := range n {
		r := genRecord(i, 10*time.Second)
		size += len(runtime.AppendSourceEvent(nil, &r, true, true)) + 1
		if size >= max && i < n-1 {
			starts, size = append(starts, i+1), 0
		}
	}
	return starts
}

func TestMultipartForALargeObject(t *testing.T) {
	b := srv.NewBucket(t)
	cfg := testConfig(b)
	cfg.PartSize = minPartSize
	cfg.Rotate.MaxBytes = 1 << 30
	cfg.KeyTemplate = "{position}.{ext}"
	// about 250 bytes a record: 50000 records ≈ 12 MB, three parts
	mustRun(t, cfg, newGen(0, 50000, time.Millisecond), 256)
	objs := srv.Objects(t, b)
	data := objs["out/0.jsonl"]
	if len(objs) != 1 || len(data) < 2*minPartSize {
		t.Fatalf("objects %v, size %d; want one of more than two parts", keys(objs), len(data))
	}
	if lines := bytes.Count(data, []byte("\n")); lines != 50000 {
		t.Fatalf("%d lines, want 50000", lines)
	}
	var want []byte
	for i := range 50000 {
		r := genRecord(i, time.Millisecond)
		want = append(runtime.AppendSourceEvent(want, &r, true, true), '\n')
	}
	if !bytes.Equal(data, want) {
		t.Fatal("the multipart object differs from the records' JSON lines")
	}
	if u := srv.Multiparts(t, b); len(u) != 0 {
		t.Fatalf("unfinished multipart uploads: %v", u)
	}
}

// TestFailedPutAcknowledgesNothing: the server fails every PUT; the
// pipeline stops with an error naming the bucket, the key and the reason,
// and no position was acknowledged.
func TestFailedPutAcknowledgesNothing(t *testing.T) {
	b := srv.NewBucket(t)
	px := s3test.NewFaultProxy(t, srv)
	px.Fail(func(r *http.Request) int {
		if r.Method == http.MethodPut {
			return http.StatusInternalServerError
		}
		return 0
	})
	cfg := testConfig(b)
	cfg.Endpoint = px.Endpoint
	cfg.Rotate.MaxRecords = 10
	src := newGen(0, 100, time.Second)
	_, err := run(t, cfg, src, 16)
	if err == nil {
		t.Fatal("run succeeded with every PUT failing")
	}
	for _, want := range []string{"PUT s3://" + b + "/out/users/dt=2026-03-04/hr=22/users+0+", "HTTP 500", "injected failure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), s3test.SecretKey) {
		t.Error("the error shows the secret key")
	}
	if a := src.lastAck(); a != -1 {
		t.Fatalf("acknowledged %d while no object was stored", a)
	}
	if objs := srv.Objects(t, b); len(objs) != 0 {
		t.Fatalf("objects stored: %v", keys(objs))
	}
}

// TestFailedMultipartIsAborted: a part upload fails mid-multipart; the
// upload is aborted and the record's position not acknowledged.
func TestFailedMultipartIsAborted(t *testing.T) {
	b := srv.NewBucket(t)
	px := s3test.NewFaultProxy(t, srv)
	px.Fail(func(r *http.Request) int {
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	cfg := testConfig(b)
	cfg.Endpoint = px.Endpoint
	cfg.PartSize = minPartSize
	cfg.Rotate.MaxBytes = 1 << 30
	src := newGen(0, 30000, time.Millisecond)
	_, err := run(t, cfg, src, 256)
	if err == nil || !strings.Contains(err.Error(), "part 2 of") || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("err = %v, want the failed part", err)
	}
	if a := src.lastAck(); a != -1 {
		t.Fatalf("acknowledged %d", a)
	}
	if u := srv.Multiparts(t, b); len(u) != 0 {
		t.Fatalf("unfinished multipart uploads left: %v", u)
	}
	if objs := srv.Objects(t, b); len(objs) != 0 {
		t.Fatalf("objects stored: %v", keys(objs))
	}
}

// TestReplayAfterFailureWritesTheSameObjects: a run that fails mid-stream
// (a transform fails with on_error stop: the driver does not settle the
// sink, what was open is lost, as in a crash) and a restart
// from its acknowledged position leave exactly the objects of a clean run,
// byte for byte.
func TestReplayAfterFailureWritesTheSameObjects(t *testing.T) {
	for _, format := range []string{FormatJSONL, FormatAvro, FormatParquet} {
		t.Run(format, func(t *testing.T) {
			set := func(c *Config) { c.Format, c.Rotate.MaxRecords, c.Rotate.Interval = format, 37, "20m" }
			clean := srv.NewBucket(t)
			cfg := testConfig(clean)
			set(&cfg)
			mustRun(t, cfg, newGen(0, 1000, 7*time.Second), 50)
			want := srv.Objects(t, clean)

			b := srv.NewBucket(t)
			cfg = testConfig(b)
			set(&cfg)
			from := 0
			for _, failAt := range []int{111, 480, 777} {
				src := newGen(from, 1000, 7*time.Second)
				if _, err := runFailing(t, cfg, src, 50, failAt); err == nil {
					t.Fatalf("run from %d did not fail", from)
				}
				if a := src.lastAck(); a >= from {
					from = a + 1
				}
			}
			mustRun(t, cfg, newGen(from, 1000, 7*time.Second), 29)
			got := srv.Objects(t, b)
			if !slices.Equal(keys(got), keys(want)) {
				t.Fatalf("keys after replays:\n%v\nclean run:\n%v", keys(got), keys(want))
			}
			for k, v := range want {
				if !bytes.Equal(got[k], v) {
					t.Errorf("%s differs from the clean run's", k)
				}
			}
		})
	}
}

// TestKill9MidUploadReplaysIdentically kills a sink process (SIGKILL)
// repeatedly while it uploads; each restart resumes from the position the
// killed run acknowledged. The final objects equal a clean run's, byte for
// byte, so no record is missing or doubled.
func TestKill9MidUploadReplaysIdentically(t *testing.T) {
	const n = 20000
	clean := srv.NewBucket(t)
	child(t, clean, 0, n, "").wait(t)
	want := srv.Objects(t, clean)

	b := srv.NewBucket(t)
	from := 0
	dir := t.TempDir()
	for cycle := range 5 {
		ackFile := filepath.Join(dir, fmt.Sprintf("acks%d", cycle))
		c := child(t, b, from, n, ackFile)
		// kill once the child acknowledged something past from (or ended)
		for deadline := time.Now().Add(60 * time.Second); ; {
			if a := lastLine(ackFile); a >= from+500 || c.exited() || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		c.kill()
		if a := lastLine(ackFile); a >= from {
			from = a + 1
		}
	}
	child(t, b, from, n, "").wait(t)
	got := srv.Objects(t, b)
	if !slices.Equal(keys(got), keys(want)) {
		t.Fatalf("keys after kills:\n%v\nclean run:\n%v", keys(got), keys(want))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Errorf("%s differs from the clean run's", k)
		}
	}
}

type childProc struct {
	cmd  *exec.Cmd
	done chan error
}

func child(t *testing.T, bucket string, from, n int, ackFile string) *childProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "S3SINK_CHILD=1", "CHILD_BUCKET="+bucket, "CHILD_ENDPOINT="+srv.Endpoint,
		"CHILD_FROM="+strconv.Itoa(from), "CHILD_N="+strconv.Itoa(n), "CHILD_ACKS="+ackFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &childProc{cmd: cmd, done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		if err != nil && out.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, out.String())
		}
		c.done <- err
	}()
	return c
}

func (c *childProc) wait(t *testing.T) {
	t.Helper()
	if err := <-c.done; err != nil {
		t.Fatalf("child: %v", err)
	}
}

func (c *childProc) exited() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return true
	default:
		return false
	}
}

func (c *childProc) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

func lastLine(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	n, err := strconv.Atoi(ls[len(ls)-1])
	if err != nil {
		if len(ls) > 1 { // a torn last line
			n, _ = strconv.Atoi(ls[len(ls)-2])
			return n
		}
		return -1
	}
	return n
}

// ackingSource appends each acknowledged offset to a file.
type ackingSource struct {
	*genSource
	f *os.File
}

func (a *ackingSource) Ack(ctx context.Context, p runtime.Position) error {
	fmt.Fprintf(a.f, "%d\n", p.Offset)
	return a.genSource.Ack(ctx, p)
}

// childMain is the sink process TestKill9MidUploadReplaysIdentically kills.
func childMain() int {
	from, _ := strconv.Atoi(os.Getenv("CHILD_FROM"))
	n, _ := strconv.Atoi(os.Getenv("CHILD_N"))
	cfg := Defaults()
	cfg.Bucket, cfg.Endpoint, cfg.Region = os.Getenv("CHILD_BUCKET"), os.Getenv("CHILD_ENDPOINT"), "us-east-1"
	cfg.Credentials = Credentials{AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}
	cfg.Format, cfg.Rotate.MaxRecords, cfg.Rotate.Interval = FormatParquet, 700, "10m"
	var src runtime.Source = newGen(from, n, 100*time.Millisecond)
	if p := os.Getenv("CHILD_ACKS"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		src = &ackingSource{genSource: src.(*genSource), f: f}
	}
	s, err := New(cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p := &runtime.Pipeline{Name: "p", Source: src, Sink: s, Program: runtime.ProgramFunc(func(*runtime.Record) (bool, error) { return true, nil }),
		Settings: runtime.Settings{BatchSize: 37}}
	if err := p.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestSDKRetriesAreReported: the server answers the first PUT of a
// record's object with 503; the AWS SDK retries it, the retry counts in
// the pipeline's sink retries (runtime.RetryReported), and the object is
// stored.
func TestSDKRetriesAreReported(t *testing.T) {
	b := srv.NewBucket(t)
	px := s3test.NewFaultProxy(t, srv)
	var failed atomic.Bool
	px.Fail(func(r *http.Request) int {
		if r.Method == http.MethodPut && !strings.HasSuffix(r.URL.Path, condProbeKey) && failed.CompareAndSwap(false, true) {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	cfg := testConfig(b)
	cfg.Endpoint = px.Endpoint
	cfg.Rotate.MaxRecords = 10
	p := mustRun(t, cfg, newGen(0, 10, time.Second), 16)
	if got := p.Stats.Retries.Load(); got < 1 {
		t.Fatalf("sink retries = %d; the SDK's retry of the failed PUT was not reported", got)
	}
	if objs := srv.Objects(t, b); len(objs) != 1 {
		t.Fatalf("objects stored: %v", keys(objs))
	}
}

// snappy compresses avro blocks and parquet column chunks; New refuses
// it for JSON lines (the compiler refuses it at its position first).
func TestSnappyIsRefusedForJSONLines(t *testing.T) {
	cfg := testConfig("bkt")
	cfg.Compression = "snappy"
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "JSON lines objects take none, gzip or zstd") {
		t.Fatalf("New(jsonl, snappy) = %v, want the refusal", err)
	}
	for _, f := range []string{FormatAvro, FormatParquet} {
		cfg.Format = f
		if _, err := New(cfg, nil); err != nil {
			t.Errorf("New(%s, snappy): %v", f, err)
		}
	}
}
