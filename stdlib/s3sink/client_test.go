package s3sink

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

// TestPutSignsTheBodyHash: a PUT is signed with the SHA-256 the sink
// computed for the object's metadata (withPayloadHash), which the server
// checks against the body it received.
func TestPutSignsTheBodyHash(t *testing.T) {
	b := srv.NewBucket(t)
	px := s3test.NewFaultProxy(t, srv)
	var mu sync.Mutex
	signed := map[string]string{} // path → x-amz-content-sha256
	px.Fail(func(r *http.Request) int {
		if r.Method == http.MethodPut {
			mu.Lock()
			signed[r.URL.Path] = r.Header.Get("X-Amz-Content-Sha256")
			mu.Unlock()
		}
		return 0
	})
	cfg := testConfig(b)
	cfg.Endpoint = px.Endpoint
	cfg.Rotate.MaxRecords = 40
	mustRun(t, cfg, newGen(0, 100, time.Second), 16)
	objs := srv.Objects(t, b)
	if len(objs) != 3 {
		t.Fatalf("objects %v, want 3", keys(objs))
	}
	mu.Lock()
	defer mu.Unlock()
	for k, body := range objs {
		sum := sha256.Sum256(body)
		if got, want := signed["/"+b+"/"+k], hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: PUT signed with payload hash %q, want %q", k, got, want)
		}
	}
}
