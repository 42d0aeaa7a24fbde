package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hamba/avro/v2/ocf"

	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

// The S3 sink's kill -9 soak (make soak; RIVVEN_SOAK_S3=cycles): the real
// binary writes three deterministic datagen streams (fixed seeds, a fixed
// clock, a record limit, no rate limit, so the sink is always uploading)
// to a real versitygw on loopback:
//   - jsonl, rotated by max_records into ~7 MB objects, each a multipart
//     upload of 2 parts (part_size 5 MiB);
//   - parquet (zstd), rotated by max_records into small objects;
//   - avro (deflate), rotated by max_bytes.
//
// A clean run fills bucket A. Then, into bucket B, each cycle starts the
// binary and kills it with SIGKILL at a random moment while it uploads:
// once the bucket holds a random number more objects than before it or,
// every other cycle, once the run has begun 1 or 2 multipart uploads (new
// ones begin only for objects not stored yet), whichever comes first; a
// last run finishes. datagen keeps no position, so every restart
// regenerates its records from the seed and the sink finds the objects
// stored before (same key, same SHA-256) and skips them. After every kill
// each object in B must equal A's object of that key (no partial object,
// no other bytes ever visible); at the end B's keys and bytes must equal
// A's (no ~2 variant), and the objects must hold every record exactly
// once.
//
// datagen's event time is the fixed clock (RIVVEN_CONNECT_NOW), so every
// record falls in one dt=/hr= partition and one rotate.interval window:
// this soak covers rotation by records and bytes, multipart uploads and
// key derivation from positions, not event-time partitioning (the
// in-process TestKill9MidUploadReplaysIdentically of stdlib/s3sink does).
func TestS3Kill9Soak(t *testing.T) {
	cycles, _ := strconv.Atoi(os.Getenv("RIVVEN_SOAK_S3"))
	if cycles <= 0 {
		t.Skip("set RIVVEN_SOAK_S3=<cycles> (make soak) to run the S3 sink kill -9 soak")
	}
	bin := filepath.Join(t.TempDir(), "rivven-connect")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rivven/rivven-connect/cmd/rivven-connect").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv, err := s3test.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	s := &s3Soak{bin: bin, srv: srv, cl: srv.Client()}

	// The clean run.
	a := srv.NewBucket(t)
	began := time.Now()
	r := s.start(t, s.config(t, a))
	if code := r.wait(); code != 0 {
		t.Fatalf("clean run: exit %d:\n%s", code, r.stderr.String())
	}
	clean := time.Since(began)
	want := s.digests(t, a, nil)
	if ups := s.uploads(t, a); len(ups) > 0 {
		t.Fatalf("the clean run left %d multipart uploads open", len(ups))
	}
	multipart := 0
	for _, d := range want {
		if d.size > s3SoakPartSize {
			multipart++
		}
	}
	t.Logf("clean run: %d objects (%d multipart), %.1f MB in %v", len(want), multipart, float64(s3TotalSize(want))/1e6, clean.Round(time.Millisecond))
	if multipart == 0 {
		t.Fatalf("no object of the clean run is larger than part_size: the soak would not cover multipart uploads")
	}
	if 2*cycles > len(want) {
		t.Fatalf("RIVVEN_SOAK_S3=%d: the clean run stored %d objects, too few to kill %d runs each after new ones", cycles, len(want), cycles)
	}

	// The kill -9 cycles.
	b := srv.NewBucket(t)
	cfg := s.config(t, b)
	checked := map[string]bool{} // keys of B found equal to A's
	began = time.Now()
	midMultipart := 0
	for i := range cycles {
		before := s.count(t, b)
		open := s.uploads(t, b) // left open by earlier kills
		seen := maps.Clone(open)
		// Kill once the bucket holds a random number more objects, on
		// average an even share of those left between the odd cycles
		// left and the last run (even cycles add few), short of the
		// last tenth, which the last run writes; on even cycles, also as
		// soon as this run has begun a random number (1 or 2) of
		// multipart uploads — new ones begin only for objects not
		// stored yet.
		odd := (cycles-i)/2 + 1
		target := before + 1 + rand.IntN(max(1, 2*(len(want)-before)/(odd+1)))
		target = max(before+1, min(target, len(want)-max(5, len(want)/10)))
		uploads := 0
		if i%2 == 0 {
			uploads = 1 + rand.IntN(2)
		}
		r := s.start(t, cfg)
		started := time.Now()
		for {
			if r.exited() {
				t.Fatalf("cycle %d: the run ended (exit %d) before it was killed, with %d of %d objects stored:\n%s",
					i, r.wait(), s.count(t, b), len(want), r.stderr.String())
			}
			if time.Since(started) > 5*time.Minute {
				r.kill()
				t.Fatalf("cycle %d: %d objects after 5 minutes, waiting for %d:\n%s", i, s.count(t, b), target, r.stderr.String())
			}
			if uploads > 0 {
				for id, key := range s.uploads(t, b) {
					if _, ok := seen[id]; !ok {
						seen[id] = key
						uploads--
					}
				}
				if uploads <= 0 {
					break
				}
			}
			if s.count(t, b) >= target {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		r.kill()
		after := s.count(t, b)
		// A multipart upload this run began and left open: the kill
		// came in its middle.
		mid := s.newUpload(t, b, open)
		if mid {
			midMultipart++
		}
		// Whatever the kill left visible must be A's object, byte for byte.
		got := s.digests(t, b, checked)
		for k, d := range got {
			if w, ok := want[k]; !ok || w != d {
				t.Fatalf("cycle %d: after the kill, %s (%d bytes) is not the clean run's object (%s)", i, k, d.size, s3Describe(want, k))
			}
			checked[k] = true
		}
		t.Logf("cycle %d: killed with %d → %d of %d objects stored, a multipart upload open: %v", i, before, after, len(want), mid)
	}
	r = s.start(t, cfg)
	if code := r.wait(); code != 0 {
		t.Fatalf("last run: exit %d:\n%s", code, r.stderr.String())
	}
	soak := time.Since(began)

	// B equals A: the same keys, the same bytes.
	got := s.digests(t, b, nil)
	var missing, extra, differ []string
	for k, w := range want {
		switch d, ok := got[k]; {
		case !ok:
			missing = append(missing, k)
		case d != w:
			differ = append(differ, fmt.Sprintf("%s (%d bytes, clean run %d)", k, d.size, w.size))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	slices.Sort(differ)
	if len(missing)+len(extra)+len(differ) > 0 {
		t.Errorf("after %d kills the objects differ from the clean run's:\nmissing: %v\nextra (a ~N is a variant written for other content): %v\ndifferent bytes: %v", cycles, missing, extra, differ)
	}

	// Every record exactly once, counted in B's objects.
	records := s.records(t, b)
	// The uploads the kills interrupted stay open (only a lifecycle rule
	// removes them on S3); each must be for one of the clean run's keys.
	left := s.uploads(t, b)
	for _, key := range left {
		if _, ok := want[key]; !ok {
			t.Errorf("an interrupted multipart upload is for %s, a key the clean run did not write", key)
		}
	}
	t.Logf("%d kill -9 cycles (%d with a multipart upload open) in %v: %d objects, %d missing, %d extra, %d different; %d records; %d abandoned multipart uploads left open in the bucket",
		cycles, midMultipart, soak.Round(time.Millisecond), len(got), len(missing), len(extra), len(differ), records, len(left))
}

// s3SoakPartSize is the jsonl sink's part_size: the smallest S3 allows.
const s3SoakPartSize = 5 << 20

// s3SoakStreams are the soak's pipelines: the datagen source, the number
// of records and the s3 sink's config beyond bucket, endpoint and
// credentials. Each sink writes under its own prefix.
var s3SoakStreams = []struct {
	name, source string
	n            int
	sink         string
}{
	{"json", "pattern: orders, seed: 42", 800000,
		fmt.Sprintf("format: jsonl, part_size: %d, rotate: {max_records: 20000}", s3SoakPartSize)},
	{"pq", "pattern: events, seed: 7", 600000,
		"format: parquet, compression: zstd, rotate: {max_records: 5000}"},
	{"avro", "pattern: users, seed: 3", 300000,
		"format: avro, compression: gzip, rotate: {max_records: 1000000, max_bytes: 2000000}"},
}

type s3Soak struct {
	bin string
	srv *s3test.Server
	cl  *s3.Client
}

// config writes the soak's config into bucket and returns its path.
func (s *s3Soak) config(t *testing.T, bucket string) string {
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "settings: {state_dir: %q}\nsources:\n", filepath.Join(dir, "state"))
	for _, st := range s3SoakStreams {
		fmt.Fprintf(&b, "  g%s: {connector: datagen, config: {%s, max_events: %d, events_per_second: 0, include_sequence: true}}\n", st.name, st.source, st.n)
	}
	b.WriteString("sinks:\n")
	for _, st := range s3SoakStreams {
		fmt.Fprintf(&b, "  s%s:\n    connector: s3\n    config: {bucket: %s, endpoint: %q, region: us-east-1, prefix: %s, %s,\n      credentials: {access_key_id: %s, secret_access_key: \"${S3SOAK_SECRET}\"}}\n",
			st.name, bucket, s.srv.Endpoint, st.name, st.sink, s3test.AccessKey)
	}
	b.WriteString("pipelines:\n")
	for _, st := range s3SoakStreams {
		fmt.Fprintf(&b, "  p%s: {source: g%s, sink: s%s}\n", st.name, st.name, st.name)
	}
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, b.String())
	return cfg
}

// s3Run is one run of the binary.
type s3Run struct {
	cmd    *exec.Cmd
	stderr syncBuffer
	done   chan struct{}
}

// start runs the binary on cfg with a fixed clock.
func (s *s3Soak) start(t *testing.T, cfg string) *s3Run {
	r := &s3Run{done: make(chan struct{})}
	r.cmd = exec.Command(s.bin, "run", "-c", cfg)
	r.cmd.Env = append(os.Environ(), "S3SOAK_SECRET="+s3test.SecretKey, "RIVVEN_CONNECT_NOW=2026-03-04T22:30:00Z")
	r.cmd.Stdout, r.cmd.Stderr = &r.stderr, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	return r
}

func (r *s3Run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait waits for the run to end and returns its exit code (-1: killed).
func (r *s3Run) wait() int {
	<-r.done
	return r.cmd.ProcessState.ExitCode()
}

func (r *s3Run) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// count returns the number of objects in bucket.
func (s *s3Soak) count(t *testing.T, bucket string) int {
	n := 0
	p := s3.NewListObjectsV2Paginator(s.cl, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		n += len(page.Contents)
	}
	return n
}

// uploads returns bucket's open multipart uploads: id → key.
func (s *s3Soak) uploads(t *testing.T, bucket string) map[string]string {
	ids := map[string]string{}
	in := &s3.ListMultipartUploadsInput{Bucket: &bucket}
	for {
		out, err := s.cl.ListMultipartUploads(context.Background(), in)
		if err != nil {
			t.Fatalf("list multipart uploads of %s: %v", bucket, err)
		}
		for _, u := range out.Uploads {
			ids[*u.UploadId] = *u.Key
		}
		if out.IsTruncated == nil || !*out.IsTruncated {
			return ids
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// newUpload reports whether bucket has an open multipart upload not in old.
func (s *s3Soak) newUpload(t *testing.T, bucket string, old map[string]string) bool {
	for id := range s.uploads(t, bucket) {
		if _, ok := old[id]; !ok {
			return true
		}
	}
	return false
}

// s3Digest identifies an object's bytes.
type s3Digest struct {
	sum  [sha256.Size]byte
	size int
}

func s3TotalSize(m map[string]s3Digest) int {
	n := 0
	for _, d := range m {
		n += d.size
	}
	return n
}

// s3Describe says what the clean run stored under k.
func s3Describe(want map[string]s3Digest, k string) string {
	if w, ok := want[k]; ok {
		return fmt.Sprintf("its object has %d bytes", w.size)
	}
	return "it stored nothing under that key"
}

// digests returns the digest of every object of bucket whose key is not in
// skip.
func (s *s3Soak) digests(t *testing.T, bucket string, skip map[string]bool) map[string]s3Digest {
	out := map[string]s3Digest{}
	s.each(t, bucket, skip, func(key string, body []byte) {
		out[key] = s3Digest{sum: sha256.Sum256(body), size: len(body)}
	})
	return out
}

// s3ProbeKey ends the key of the empty object the s3 sink learns about
// conditional PUTs with (SPEC §s3): a kill between its PUT and DELETE
// leaves it, as documented; it holds no records.
const s3ProbeKey = "/_rivven-connect-conditional-put-probe"

// each calls f with the key and bytes of every object of bucket whose key
// is not in skip (nor the sink's probe object).
func (s *s3Soak) each(t *testing.T, bucket string, skip map[string]bool, f func(key string, body []byte)) {
	ctx := context.Background()
	p := s3.NewListObjectsV2Paginator(s.cl, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			if skip[*o.Key] || strings.HasSuffix(*o.Key, s3ProbeKey) {
				continue
			}
			g, err := s.cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: o.Key})
			if err != nil {
				t.Fatalf("get %s/%s: %v", bucket, *o.Key, err)
			}
			body, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				t.Fatalf("read %s/%s: %v", bucket, *o.Key, err)
			}
			f(*o.Key, body)
		}
	}
}

// records decodes every object of bucket and checks that each stream's
// objects hold its records 0 … n-1 (by _sequence) exactly once; it returns
// the number of records.
func (s *s3Soak) records(t *testing.T, bucket string) int {
	seen := map[string][]int{} // stream → times each sequence number was seen
	for _, st := range s3SoakStreams {
		seen[st.name] = make([]int, st.n)
	}
	total, bad := 0, 0
	s.each(t, bucket, nil, func(key string, body []byte) {
		stream, _, _ := strings.Cut(key, "/")
		counts, ok := seen[stream]
		if !ok {
			t.Errorf("%s: an object outside the streams' prefixes", key)
			return
		}
		seqs, err := s3Sequences(key, body)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			return
		}
		for _, q := range seqs {
			if q < 0 || q >= int64(len(counts)) {
				if bad++; bad <= 10 {
					t.Errorf("%s: a record with _sequence %d, out of 0…%d", key, q, len(counts)-1)
				}
				continue
			}
			counts[q]++
		}
		total += len(seqs)
	})
	for _, st := range s3SoakStreams {
		missing, twice := 0, 0
		for _, c := range seen[st.name] {
			switch {
			case c == 0:
				missing++
			case c > 1:
				twice += c - 1
			}
		}
		t.Logf("stream %s: %d records, %d missing, %d written twice", st.name, st.n, missing, twice)
		if missing+twice > 0 {
			t.Errorf("stream %s: %d of %d records missing, %d written more than once", st.name, missing, st.n, twice)
		}
	}
	return total
}

// s3Sequences returns the _sequence of every record of an object, in
// order, read with a decoder other than the sink's encoder: encoding/json,
// arrow-go's parquet reader, hamba's Avro OCF decoder.
func s3Sequences(key string, body []byte) ([]int64, error) {
	var out []int64
	switch {
	case strings.HasSuffix(key, ".jsonl"):
		for line := range bytes.Lines(body) {
			var e struct {
				Data struct {
					Seq *int64 `json:"_sequence"`
				} `json:"data"`
			}
			if err := json.Unmarshal(line, &e); err != nil || e.Data.Seq == nil {
				return nil, fmt.Errorf("line %d is not a record with data._sequence (%v): %.200s", len(out)+1, err, line)
			}
			out = append(out, *e.Data.Seq)
		}
		if len(body) > 0 && body[len(body)-1] != '\n' {
			return nil, fmt.Errorf("the last line is not terminated: a torn object")
		}
	case strings.HasSuffix(key, ".parquet"):
		rdr, err := file.NewParquetReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer rdr.Close()
		col := rdr.MetaData().Schema.ColumnIndexByName("_sequence")
		if col < 0 {
			return nil, fmt.Errorf("no column _sequence")
		}
		for g := range rdr.NumRowGroups() {
			rg := rdr.RowGroup(g)
			cr, err := rg.Column(col)
			if err != nil {
				return nil, err
			}
			ir, ok := cr.(*file.Int64ColumnChunkReader)
			if !ok {
				return nil, fmt.Errorf("column _sequence is %T, not INT64", cr)
			}
			n := int(rg.NumRows())
			vals, defs := make([]int64, n), make([]int16, n)
			levels, read, err := ir.ReadBatch(int64(n), vals, defs, nil)
			if err != nil {
				return nil, err
			}
			if int(levels) != n || read != n {
				return nil, fmt.Errorf("row group %d: %d values (%d levels) of _sequence for %d rows: nulls or a short read", g, read, levels, n)
			}
			out = append(out, vals...)
		}
		if int64(len(out)) != rdr.NumRows() {
			return nil, fmt.Errorf("%d values of _sequence for %d rows", len(out), rdr.NumRows())
		}
	case strings.HasSuffix(key, ".avro"):
		dec, err := ocf.NewDecoder(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for dec.HasNext() {
			var rec map[string]any
			if err := dec.Decode(&rec); err != nil {
				return nil, fmt.Errorf("record %d: %v", len(out)+1, err)
			}
			q, ok := rec["_sequence"].(int64)
			if !ok {
				return nil, fmt.Errorf("record %d: _sequence is %#v, not a long", len(out)+1, rec["_sequence"])
			}
			out = append(out, q)
		}
		if err := dec.Error(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("an extension the soak does not write")
	}
	return out, nil
}
