package s3sink

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

// putCounts counts the object requests a FaultProxy sees for one bucket.
type putCounts struct {
	mu                  sync.Mutex
	heads, puts, ifNone int
}

func (c *putCounts) watch(px *s3test.FaultProxy, bucket string, fail func(r *http.Request) int) {
	px.Fail(func(r *http.Request) int {
		if !strings.HasPrefix(r.URL.Path, "/"+bucket+"/") {
			return 0
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case r.Method == http.MethodHead:
			c.heads++
		case r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "":
			c.ifNone++
		case r.Method == http.MethodPut:
			c.puts++
		}
		if fail != nil {
			return fail(r)
		}
		return 0
	})
}

func (c *putCounts) get() (heads, puts, ifNone int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heads, c.puts, c.ifNone
}

// condConfig: 20 objects of 10 records from newGen(0, 200, …).
func condConfig(bucket, endpoint string) Config {
	cfg := testConfig(bucket)
	cfg.Endpoint = endpoint
	cfg.Rotate.MaxRecords = 10
	cfg.KeyTemplate = "{position}.{ext}"
	return cfg
}

const condObjects = 20

// At a server that honours If-None-Match (versitygw, like S3), the sink
// learns it from its first object and stores the others with one
// conditional PUT each, no HEAD; the objects are those of a run without
// the proxy. A second run writing other content under the same keys
// keeps every object and puts its own under the ~2 variants; a replay of
// the first run writes nothing new.
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
	sameObjects(t, srv.Objects(t, b), want, true)
	heads, puts, ifNone := c.get()
	t.Logf("first run: %d HEAD, %d PUT, %d conditional PUT", heads, puts, ifNone)
	// every object is one successful PUT; one conditional PUT more was
	// refused (the learning); every plain PUT had a HEAD before it
	if puts+ifNone-1 != condObjects || heads != puts || puts >= condObjects/2 {
		t.Fatalf("%d HEAD, %d PUT, %d conditional PUT for %d objects: want one conditional PUT per object after the first few",
			heads, puts, ifNone, condObjects)
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

// At a server that ignores If-None-Match (the proxy strips it), the
// learning PUT stores the same bytes again, and the sink goes on with a
// HEAD before each PUT: other content under existing keys still goes to
// the ~2 variants, and no object is overwritten.
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
	if heads, puts, ifNone := c.get(); heads != condObjects || puts != condObjects || ifNone != 1 {
		t.Fatalf("%d HEAD, %d PUT, %d conditional PUT: want a HEAD and a PUT per object and one conditional PUT", heads, puts, ifNone)
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

// A server that refuses If-None-Match (501) is asked once: the sink goes
// on with HEADs and plain PUTs, and the run succeeds.
func TestServerRefusingConditionalPuts(t *testing.T) {
	b := srv.NewBucket(t)
	px := s3test.NewFaultProxy(t, srv)
	var c putCounts
	c.watch(px, b, func(r *http.Request) int {
		if r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "" {
			return http.StatusNotImplemented
		}
		return 0
	})
	p := mustRun(t, condConfig(b, px.Endpoint), newGen(0, condObjects*10, time.Second), 10)
	if st := p.Sink.(*Sink).cond.state.Load(); st != condIgnored {
		t.Fatalf("condition state %d, want %d (ignored)", st, condIgnored)
	}
	if n := len(srv.Objects(t, b)); n != condObjects {
		t.Fatalf("%d objects, want %d", n, condObjects)
	}
	if heads, puts, ifNone := c.get(); heads != condObjects || puts != condObjects || ifNone != 1 {
		t.Fatalf("%d HEAD, %d PUT, %d conditional PUT: want a HEAD and a PUT per object and one conditional PUT", heads, puts, ifNone)
	}
}
