package s3sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

// putCounts counts the object requests a FaultProxy sees for one bucket:
// those on records' objects, and those on the probe object apart.
type putCounts struct {
	mu                  sync.Mutex
	heads, puts, ifNone int
	probe               []string // the probe object's requests: PUT, PUT-if-none, DELETE
}

func (c *putCounts) watch(px *s3test.FaultProxy, bucket string, fail func(r *http.Request) int) {
	px.Fail(func(r *http.Request) int {
		if !strings.HasPrefix(r.URL.Path, "/"+bucket+"/") {
			return 0
		}
		c.mu.Lock()
		ifNone := r.Header.Get("If-None-Match") != ""
		switch {
		case strings.HasSuffix(r.URL.Path, "/"+condProbeKey):
			m := r.Method
			if ifNone {
				m += "-if-none"
			}
			c.probe = append(c.probe, m)
		case r.Method == http.MethodHead:
			c.heads++
		case r.Method == http.MethodPut && ifNone:
			c.ifNone++
		case r.Method == http.MethodPut:
			c.puts++
		}
		c.mu.Unlock()
		if fail != nil {
			return fail(r)
		}
		return 0
	})
}

func (c *putCounts) get() (heads, puts, ifNone int, probe string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heads, c.puts, c.ifNone, strings.Join(c.probe, " ")
}

// condConfig: condObjects objects of 10 records from newGen(0,
// condObjects*10, …), keys out/<position>.jsonl.
func condConfig(bucket, endpoint string) Config {
	cfg := testConfig(bucket)
	cfg.Endpoint = endpoint
	cfg.Rotate.MaxRecords = 10
	cfg.KeyTemplate = "{position}.{ext}"
	return cfg
}

const condObjects = 20

// At a server that honours If-None-Match (versitygw, like S3), the sink
// learns it on its probe object (PUT, conditional PUT refused, DELETE:
// no probe left) before its first object, and stores the objects with
// one conditional PUT each (puts that found the sink still learning use
// a HEAD and a plain PUT: how many depends on how many units store at
// once, so the bound is loose). The objects equal those of a run without
// the proxy and carry their SHA-256. A second run writing other content
// under the same keys keeps every object and puts its own under the ~2
// variants; a replay of the first run writes nothing new.
func TestConditionalPutsSaveTheHead(t *testing.T) {
	clean := srv.NewBucket(t)
	mustRun(t, condConfig(clean, srv.Endpoint), newGen(0, condObjects*10, time.Second), 10)
	want := srv.Objects(t, clean)
	if len(want) != condObjects {
		t.Fatalf("clean run: %d objects, want %d", len(want), condObjects)
	}

	b := srv.NewBucket(t)
	px := s3test.NewFaultProxy(t, srv)
	var c putCounts
	c.watch(px, b, nil)
	p := mustRun(t, condConfig(b, px.Endpoint), newGen(0, condObjects*10, time.Second), 10)
	if st := p.Sink.(*Sink).cond.state.Load(); st != condHonoured {
		t.Fatalf("condition state %d, want %d (honoured)", st, condHonoured)
	}
	sameObjects(t, srv.Objects(t, b), want, true) // the probe object is gone too
	heads, puts, ifNone, probe := c.get()
	t.Logf("first run: %d HEAD, %d PUT, %d conditional PUT; probe: %s", heads, puts, ifNone, probe)
	if probe != "PUT PUT-if-none DELETE" {
		t.Errorf("probe requests %q, want PUT, conditional PUT, DELETE", probe)
	}
	if puts+ifNone != condObjects || heads != puts || ifNone < condObjects/2 {
		t.Fatalf("%d HEAD, %d PUT, %d conditional PUT for %d objects: want one conditional PUT per object but the first few",
			heads, puts, ifNone, condObjects)
	}
	cl, err := newClient(context.Background(), &Config{Endpoint: srv.Endpoint, Region: "us-east-1", Credentials: testConfig("").Credentials}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, body := range want {
		h, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &b, Key: &k})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if got := h.Metadata[metaSHA256]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: metadata %s %q, want the body's SHA-256", k, metaSHA256, got)
		}
	}

	// other content under the same keys
	cfg := condConfig(b, px.Endpoint)
	cfg.Envelope = "row"
	mustRun(t, cfg, newGen(0, condObjects*10, time.Second), 10)
	got := srv.Objects(t, b)
	if len(got) != 2*condObjects {
		t.Fatalf("%d objects after the second run, want %d: %v", len(got), 2*condObjects, keys(got))
	}
	for k, v := range want {
		if string(got[k]) != string(v) {
			t.Errorf("%s was overwritten", k)
		}
		if _, ok := got[strings.Replace(k, ".jsonl", "~2.jsonl", 1)]; !ok {
			t.Errorf("no ~2 variant of %s", k)
		}
	}

	// a replay of the first run: the same objects are there, nothing new
	mustRun(t, condConfig(b, px.Endpoint), newGen(0, condObjects*10, time.Second), 10)
	if again := srv.Objects(t, b); len(again) != len(got) {
		t.Fatalf("a replay wrote %d objects more", len(again)-len(got))
	}
}

// A conditional PUT refused as existing (409 ConditionalRequestConflict:
// another write to the key in flight) whose key a HEAD then does not find
// is tried again conditionally — never with a plain PUT, which could
// overwrite the other writer's object. Refused so three times, the put
// fails, naming the object.
func TestConditionalPutRefusedYetAbsent(t *testing.T) {
	const victim = "out/50.jsonl"
	for _, tc := range []struct {
		name     string
		failures int // conditional PUTs of victim refused
		status   int
		errHas   string
	}{
		{"conflict-twice", 2, http.StatusConflict, ""},
		{"precondition-always", 1000, http.StatusPreconditionFailed, "refused 3 times as existing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// exercised runs the case once, and reports false when the sink
			// stored the victim while it was still learning whether the
			// server honours conditional PUTs (a HEAD and a plain PUT: under
			// load more objects go that way), so no conditional PUT of it
			// was refused: then the case runs again on a new bucket.
			exercised := func() bool {
				b := srv.NewBucket(t)
				px := s3test.NewFaultProxy(t, srv)
				px.ErrorCode(http.StatusConflict, "ConditionalRequestConflict")
				px.ErrorCode(http.StatusPreconditionFailed, "PreconditionFailed")
				var c putCounts
				var mu sync.Mutex
				refused := 0
				plainAfterRefusal := false
				c.watch(px, b, func(r *http.Request) int {
					if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/"+b+"/"+victim) {
						return 0
					}
					mu.Lock()
					defer mu.Unlock()
					if r.Header.Get("If-None-Match") == "" {
						plainAfterRefusal = plainAfterRefusal || refused > 0
						return 0
					}
					if refused < tc.failures {
						refused++
						return tc.status
					}
					return 0
				})
				_, err := run(t, condConfig(b, px.Endpoint), newGen(0, condObjects*10, time.Second), 10)
				mu.Lock()
				defer mu.Unlock()
				if plainAfterRefusal {
					t.Fatalf("%s got a plain PUT after a refused conditional one", victim)
				}
				if refused == 0 {
					return false
				}
				if tc.errHas == "" {
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := srv.Objects(t, b)[victim]; !ok {
						t.Fatalf("%s was not stored", victim)
					}
					return true
				}
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "s3://"+b+"/"+victim) {
					t.Fatalf("run error %v, want one naming s3://%s/%s and %q", err, b, victim, tc.errHas)
				}
				return true
			}
			for attempt := 1; !exercised(); attempt++ {
				if attempt == 3 {
					t.Fatalf("%s was stored before the sink knew the server honours conditional PUTs, 3 times", victim)
				}
				t.Logf("attempt %d: %s was stored while the sink was still learning; again", attempt, victim)
			}
		})
	}
}

// At a server that ignores If-None-Match (the proxy strips it), the
// probe's conditional PUT is stored, and the sink goes on with a HEAD
// before each PUT: no record's object is written twice, other content
// under existing keys still goes to the ~2 variants, and no object is
// overwritten.
func TestServerIgnoringConditionalPuts(t *testing.T) {
	b := srv.NewBucket(t)
	px := s3test.NewFaultProxy(t, srv)
	px.IgnoreIfNoneMatch()
	var c putCounts
	c.watch(px, b, nil)
	p := mustRun(t, condConfig(b, px.Endpoint), newGen(0, condObjects*10, time.Second), 10)
	if err := px.Err(); err != nil {
		t.Fatal(err)
	}
	if st := p.Sink.(*Sink).cond.state.Load(); st != condIgnored {
		t.Fatalf("condition state %d, want %d (ignored)", st, condIgnored)
	}
	first := srv.Objects(t, b)
	if len(first) != condObjects {
		t.Fatalf("%d objects, want %d", len(first), condObjects)
	}
	if heads, puts, ifNone, probe := c.get(); heads != condObjects || puts != condObjects || ifNone != 0 || probe != "PUT PUT-if-none DELETE" {
		t.Fatalf("%d HEAD, %d PUT, %d conditional PUT, probe %q: want a HEAD and a PUT per object, and the probe's PUT, conditional PUT and DELETE", heads, puts, ifNone, probe)
	}
	cfg := condConfig(b, px.Endpoint)
	cfg.Envelope = "row"
	mustRun(t, cfg, newGen(0, condObjects*10, time.Second), 10)
	got := srv.Objects(t, b)
	if len(got) != 2*condObjects {
		t.Fatalf("%d objects after the second run, want %d", len(got), 2*condObjects)
	}
	for k, v := range first {
		if string(got[k]) != string(v) {
			t.Errorf("%s was overwritten", k)
		}
	}
}

// A server that refuses If-None-Match (501) is asked once; a server that
// answers the probe's conditional PUT with 503 every time is asked
// condTries times (the SDK retrying each), then the sink keeps to HEADs.
// The runs succeed either way.
func TestServerRefusingConditionalPuts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		asks   int
	}{{"501", http.StatusNotImplemented, 1}, {"503", http.StatusServiceUnavailable, condTries}} {
		t.Run(tc.name, func(t *testing.T) {
			b := srv.NewBucket(t)
			px := s3test.NewFaultProxy(t, srv)
			var c putCounts
			c.watch(px, b, func(r *http.Request) int {
				if r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "" {
					return tc.status
				}
				return 0
			})
			cfg := condConfig(b, px.Endpoint)
			p := mustRun(t, cfg, newGen(0, condObjects*10, time.Second), 10)
			if st := p.Sink.(*Sink).cond.state.Load(); st != condIgnored {
				t.Fatalf("condition state %d, want %d (ignored)", st, condIgnored)
			}
			if n := len(srv.Objects(t, b)); n != condObjects {
				t.Fatalf("%d objects, want %d", n, condObjects)
			}
			heads, puts, ifNone, probe := c.get()
			if heads != condObjects || puts != condObjects || ifNone != 0 {
				t.Fatalf("%d HEAD, %d PUT, %d conditional PUT: want a HEAD and a PUT per object", heads, puts, ifNone)
			}
			if n := strings.Count(probe, "DELETE"); n != tc.asks {
				t.Fatalf("probe requests %q: asked %d times, want %d", probe, n, tc.asks)
			}
		})
	}
}
