package s3sink

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

// benchPerObject is the records of one benchmark object: datagen orders,
// 9.1 MB of JSON lines or 2.6 MB of Parquet, below the default part_size
// (one PUT each).
const benchPerObject = 25000

// benchBatch is the size of the driver's writes (Hold calls).
const benchBatch = 500

// benchWarm is how many objects the sink stores before the timing: as
// many as it recycles buffers for (keepBuffers), as many as may be open
// and storing at once (maxUnits units storing, one more cut, one open).
const benchWarm = keepBuffers

// BenchmarkS3Sink measures MB/s of objects written to the loopback
// versitygw (the test server, keeping connections alive as S3 does; one
// op = one object of benchPerObject datagen orders, the benchBatch of
// them repeated — see holdObjects —, MB/s counting the object's bytes), for JSON lines and
// for Parquet (uncompressed). baseline is a bare aws-sdk-go-v2 PutObject
// loop of the same bytes — the objects the sink wrote, fetched
// beforehand — one object at a time, each under a key of its own; sink is
// the s3 sink holding the records in writes of benchBatch, as the driver
// makes them, with rotate.max_records = benchPerObject and the other
// defaults, then settling: encoding, the SHA-256 of each object, the HEAD
// that finds its key free, the PUT, units storing while the next is
// encoded. Before the timing the baseline stores one object (the
// connection) and the sink benchWarm (the connection, and the buffers and
// parquet writers it recycles, one per object storing at once: a
// long-running sink's steady state). Each reports the CPU per op of the
// client (cpu-ns/op) and of the server (server-cpu-ns/op). Objects are
// deleted after each round (outside the timing).
func BenchmarkS3Sink(b *testing.B) {
	src, err := datagen.New(datagen.Config{Pattern: "orders", MaxEvents: benchBatch, Seed: 42, HasSeed: true},
		func() time.Time { return richBase })
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]runtime.Record, benchBatch)
	n, _ := src.Read(context.Background(), recs)
	if n != benchBatch {
		b.Fatalf("datagen gave %d records, want %d", n, benchBatch)
	}
	for i := range recs {
		recs[i].Time = richBase
	}
	for _, format := range []string{FormatJSONL, FormatParquet} {
		b.Run(format, func(b *testing.B) {
			cfg := testConfig("")
			cfg.Format = format
			cfg.Rotate.MaxRecords, cfg.Rotate.Interval = benchPerObject, "0"

			// the sink's objects, for the baseline's bodies and the byte count
			setup := srv.NewBucket(b)
			defer dropBucket(b, setup)
			cfg.Bucket = setup
			sinkObjects(b, cfg, recs, 2)
			var bodies [][]byte
			size := 0
			for _, body := range srv.Objects(b, setup) {
				bodies = append(bodies, body)
				size += len(body)
			}
			if len(bodies) != 2 {
				b.Fatalf("the sink wrote %d objects, want 2", len(bodies))
			}
			size /= len(bodies)

			b.Run("baseline", func(b *testing.B) {
				bucket := srv.NewBucket(b)
				defer dropBucket(b, bucket)
				cl := srv.Client()
				ctype := (&codecs{format: format}).contentType()
				put := func(i int) {
					body := bodies[(i+1)%len(bodies)]
					_, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(fmt.Sprintf("base/%d", i)),
						Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: &ctype})
					if err != nil {
						b.Fatal(err)
					}
				}
				put(-1) // warm up: the connection
				b.SetBytes(int64(size))
				m := startCPU(b)
				b.ResetTimer()
				for i := range b.N {
					put(i)
				}
				b.StopTimer()
				m.report(b)
			})
			b.Run("sink", func(b *testing.B) {
				cfg.Bucket = srv.NewBucket(b)
				defer dropBucket(b, cfg.Bucket)
				s := openSink(b, cfg)
				defer s.Close()
				holdObjects(b, s, recs, 0, benchWarm) // warm up: the connection, the buffers
				if err := s.Settle(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				m := startCPU(b)
				b.ResetTimer()
				holdObjects(b, s, recs, benchWarm, b.N)
				if err := s.Settle(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				m.report(b)
			})
		})
	}
}

func openSink(b *testing.B, cfg Config) *Sink {
	s, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// holdObjects has s hold n objects of benchPerObject records, the first
// numbered from (positions numbered on from one object to the next), in
// writes of the benchBatch records recs, again and again: as a pipeline
// hands the sink the batch its source has just made, the records are in
// the CPU's cache. (Objects of benchPerObject distinct records — 25,000
// records, over 10 MB of them — went through the cache on every write:
// the misses cost the sink about 2.5 ms per object that a pipeline does
// not pay.)
func holdObjects(b *testing.B, s *Sink, recs []runtime.Record, from, n int) {
	ctx := context.Background()
	none := func(int) runtime.HeldPiece { return runtime.HeldPiece{} }
	for k := from; k < from+n; k++ {
		for at := 0; at < benchPerObject; at += benchBatch {
			batch := recs
			for i := range batch {
				batch[i].Position = runtime.Position{Offset: uint64(k*benchPerObject + at + i)}
			}
			if err := s.Hold(ctx, batch, none); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// sinkObjects has a sink of cfg store n objects of recs.
func sinkObjects(b *testing.B, cfg Config, recs []runtime.Record, n int) {
	s := openSink(b, cfg)
	defer s.Close()
	holdObjects(b, s, recs, 0, n)
	if err := s.Settle(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// cpuMeter measures the CPU time of this process (the client) and of
// the server over a benchmark's loop.
type cpuMeter struct{ self, server time.Duration }

func startCPU(b *testing.B) cpuMeter {
	sv, err := srv.CPU()
	if err != nil {
		b.Fatal(err)
	}
	return cpuMeter{self: selfCPU(), server: sv}
}

// report reports the CPU per op of the client (cpu-ns/op, which
// cmd/benchratio prints for both sides) and of the server
// (server-cpu-ns/op, to the server's 10 ms clock tick).
func (m cpuMeter) report(b *testing.B) {
	sv, err := srv.CPU()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(selfCPU()-m.self)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(sv-m.server)/float64(b.N), "server-cpu-ns/op")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dropBucket removes a benchmark bucket's directory (its objects) from
// the server.
func dropBucket(b *testing.B, bucket string) {
	b.StopTimer()
	if err := os.RemoveAll(filepath.Join(srv.Dir, bucket)); err != nil {
		b.Fatal(err)
	}
}
