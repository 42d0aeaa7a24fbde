package s3sink

import (
	"bytes"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

// Three units of one object each, every object a multipart upload of two
// parts: about 240 bytes a JSON line, 24000 lines ≈ 5.8 MB > one 5 MiB
// part.
const (
	mpPerObject = 24000
	mpRecords   = 3 * mpPerObject
)

func multipartConfig(bucket, endpoint string) Config {
	cfg := testConfig(bucket)
	cfg.Endpoint = endpoint
	cfg.PartSize = minPartSize
	cfg.Rotate.MaxRecords = mpPerObject
	cfg.Rotate.MaxBytes = 1 << 30
	cfg.KeyTemplate = "{position}.{ext}"
	return cfg
}

// TestServerErrorsMidMultipart: the server fails a request in the middle
// of the second unit's multipart upload — every attempt at its second
// part, or at completing it — while the first unit's object is stored.
// The pipeline stops with an error naming the object; the upload was
// aborted (an AbortMultipartUpload reached the server, none is left
// unfinished, no part lies in the bucket's directory); the failed object
// does not exist; nothing past the first unit was acknowledged; the
// objects there are complete (each equal to a clean run's). A restart
// from the acknowledged position with the server healthy again leaves
// exactly the clean run's objects, byte for byte. A part that fails only
// twice is retried by the SDK within the same upload and the run succeeds.
func TestServerErrorsMidMultipart(t *testing.T) {
	clean := srv.NewBucket(t)
	mustRun(t, multipartConfig(clean, srv.Endpoint), newGen(0, mpRecords, time.Millisecond), 256)
	want := srv.Objects(t, clean)
	if len(want) != 3 {
		t.Fatalf("clean run: objects %v, want three", keys(want))
	}
	const victim = "out/24000.jsonl" // the second unit's object

	cases := []struct {
		name     string
		target   func(r *http.Request) bool // the requests that fail
		failures int                        // how many times (0: always)
		errHas   string
	}{
		{"part", isPart(2), 0, "part 2 of 2"},
		{"complete", func(r *http.Request) bool {
			return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
		}, 0, "complete:"},
		{"part-transient", isPart(2), 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := srv.NewBucket(t)
			px := s3test.NewFaultProxy(t, srv)
			var mu sync.Mutex
			failed, aborts := 0, 0
			px.Fail(func(r *http.Request) int {
				if !strings.HasSuffix(r.URL.Path, "/"+b+"/"+victim) {
					return 0
				}
				mu.Lock()
				defer mu.Unlock()
				if r.Method == http.MethodDelete && r.URL.Query().Has("uploadId") {
					aborts++
				}
				if tc.target(r) && (tc.failures == 0 || failed < tc.failures) {
					failed++
					return http.StatusInternalServerError
				}
				return 0
			})
			cfg := multipartConfig(b, px.Endpoint)
			src := newGen(0, mpRecords, time.Millisecond)
			_, err := run(t, cfg, src, 256)
			mu.Lock()
			nFailed, nAborts := failed, aborts
			mu.Unlock()

			if tc.failures > 0 { // the SDK's retries absorb the failures
				if err != nil {
					t.Fatalf("run failed although the part failed only %d times: %v", tc.failures, err)
				}
				if nFailed != tc.failures || nAborts != 0 {
					t.Fatalf("%d failed attempts, %d aborts; want %d and 0", nFailed, nAborts, tc.failures)
				}
				if a := src.lastAck(); a != mpRecords-1 {
					t.Fatalf("acknowledged up to %d, want %d", a, mpRecords-1)
				}
				sameObjects(t, srv.Objects(t, b), want, true)
				noLeftovers(t, b, want)
				return
			}

			if err == nil {
				t.Fatal("run succeeded with the server failing the upload")
			}
			for _, s := range []string{"s3://" + b + "/" + victim, "aborted", tc.errHas, "HTTP 500"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if nFailed < 2 {
				t.Errorf("the failing request was tried %d times: the SDK did not retry it", nFailed)
			}
			if nAborts != 1 {
				t.Errorf("%d AbortMultipartUpload requests for %s, want 1", nAborts, victim)
			}
			if u := srv.Multiparts(t, b); len(u) != 0 {
				t.Fatalf("unfinished multipart uploads left: %v", u)
			}
			got := srv.Objects(t, b)
			if _, ok := got[victim]; ok {
				t.Fatalf("%s exists after its upload failed", victim)
			}
			if _, ok := got["out/0.jsonl"]; !ok {
				t.Fatalf("the first unit's object was not stored: %v", keys(got))
			}
			sameObjects(t, got, want, false)
			noLeftovers(t, b, got)
			// records of the failed unit are not acknowledged; the driver
			// acknowledges at unit ends, so at most the first unit's end
			a := src.lastAck()
			t.Logf("acknowledged before the failure: up to %d", a)
			if a != -1 && a != mpPerObject-1 {
				t.Fatalf("acknowledged up to %d; want %d (the first unit) or nothing", a, mpPerObject-1)
			}

			// the retry: the server works again
			px.Fail(nil)
			src = newGen(a+1, mpRecords, time.Millisecond)
			mustRun(t, cfg, src, 256)
			if a := src.lastAck(); a != mpRecords-1 {
				t.Fatalf("retry acknowledged up to %d, want %d", a, mpRecords-1)
			}
			sameObjects(t, srv.Objects(t, b), want, true)
			if u := srv.Multiparts(t, b); len(u) != 0 {
				t.Fatalf("unfinished multipart uploads left after the retry: %v", u)
			}
			noLeftovers(t, b, want)
		})
	}
}

// isPart selects the UploadPart requests of part n.
func isPart(n int) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == string(rune('0'+n))
	}
}

// sameObjects checks that every object of got is the same as want's
// (all of want's when all).
func sameObjects(t *testing.T, got, want map[string][]byte, all bool) {
	t.Helper()
	if all && !slices.Equal(keys(got), keys(want)) {
		t.Fatalf("objects %v, want %v", keys(got), keys(want))
	}
	for k, v := range got {
		w, ok := want[k]
		if !ok {
			t.Fatalf("object %s is not one of a clean run's", k)
		}
		if !bytes.Equal(v, w) {
			t.Fatalf("object %s (%d bytes) differs from a clean run's (%d bytes)", k, len(v), len(w))
		}
	}
}

// noLeftovers checks that the bucket's directory on the server holds a
// file for each object of objs and no other file: no part of an aborted
// upload is left behind.
func noLeftovers(t *testing.T, bucket string, objs map[string][]byte) {
	t.Helper()
	root := filepath.Join(srv.Dir, bucket)
	var extra []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if _, ok := objs[filepath.ToSlash(rel)]; !ok {
			extra = append(extra, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) > 0 {
		t.Fatalf("files left in the bucket's directory: %v", extra)
	}
}
