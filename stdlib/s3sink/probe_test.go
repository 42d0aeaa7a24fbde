package s3sink

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

func findings(t *testing.T, cfg Config, now func() time.Time) map[string]runtime.Finding {
	t.Helper()
	s, err := New(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]runtime.Finding{}
	for _, f := range fs {
		out[f.Check] = f
	}
	return out
}

func TestProbe(t *testing.T) {
	b := srv.NewBucket(t)
	fs := findings(t, testConfig(b), nil)
	for _, c := range []string{"bucket", "write", "clock"} {
		if fs[c].Level != runtime.FindingOK {
			t.Errorf("%s: %+v, want ok", c, fs[c])
		}
	}
	if objs := srv.Objects(t, b); len(objs) != 0 {
		t.Errorf("the probe left objects: %v", keys(objs))
	}

	fs = findings(t, testConfig(b), func() time.Time { return time.Now().Add(20 * time.Minute) })
	if fs["clock"].Level != runtime.FindingFail || !strings.Contains(fs["clock"].Detail, "20m") {
		t.Errorf("clock 20 minutes ahead: %+v", fs["clock"])
	}
	fs = findings(t, testConfig(b), func() time.Time { return time.Now().Add(-3 * time.Minute) })
	if fs["clock"].Level != runtime.FindingWarn {
		t.Errorf("clock 3 minutes behind: %+v", fs["clock"])
	}

	fs = findings(t, testConfig("no-such-bucket"), nil)
	if f := fs["bucket"]; f.Level != runtime.FindingFail || !strings.Contains(f.Detail, "no such bucket") || !strings.Contains(f.Detail, "no-such-bucket") {
		t.Errorf("missing bucket: %+v", f)
	}
}

func TestProbeUnreachable(t *testing.T) {
	cfg := testConfig("x-bucket")
	cfg.Endpoint = "http://127.0.0.1:1"
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Probe(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach bucket x-bucket at http://127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
	// The cause, not the status 0 of a request that got no answer.
	if !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "HTTP 0") {
		t.Errorf("err = %v, want the transport failure and no HTTP 0", err)
	}
	// Open says the same.
	if err := s.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "HTTP 0") {
		t.Errorf("Open: %v", err)
	}
}

// Wrong credentials: Open fails naming the bucket and the refusal, never
// the secret.
func TestSecretsNeverInErrors(t *testing.T) {
	b := srv.NewBucket(t)
	cfg := testConfig(b)
	const secret = "wrong-secret-value-1234567890"
	cfg.Credentials.SecretAccessKey = secret
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Open(context.Background())
	if err == nil {
		t.Fatal("Open succeeded with a wrong secret")
	}
	if !strings.Contains(err.Error(), "bucket "+b) || !strings.Contains(err.Error(), "HTTP 403") {
		t.Errorf("err = %v, want the bucket and the refusal", err)
	}
	fs := findings(t, cfg, nil)
	for _, f := range fs {
		if strings.Contains(f.Detail, secret) || strings.Contains(f.Detail, s3test.SecretKey) {
			t.Errorf("finding shows a secret: %+v", f)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Error("the error shows the secret")
	}
	_ = s.Close()
}

// A key that exists with other content is never overwritten: the new
// object goes under the key's next free variant (positions that repeat
// across runs: postgres-cdc); the same content under a key is not written
// again (a replay).
func TestExistingKeyWithOtherContentIsKept(t *testing.T) {
	b := srv.NewBucket(t)
	cfg := testConfig(b)
	mustRun(t, cfg, newGen(0, 10, time.Second), 10)
	before := srv.Objects(t, b)
	// the same run again: the objects are there, the same: nothing written
	mustRun(t, cfg, newGen(0, 10, time.Second), 3)
	if n := len(srv.Objects(t, b)); n != len(before) {
		t.Fatalf("a replay wrote %d objects, want the %d there", n, len(before))
	}
	// other records under the same keys (positions repeating): kept beside
	cfg.Envelope = "row"
	mustRun(t, cfg, newGen(0, 10, time.Second), 10)
	again := srv.Objects(t, b)
	if _, ok := again["out/users/dt=2026-03-04/hr=22/users+0+0~2.jsonl"]; !ok {
		keys := make([]string, 0, len(again))
		for k := range again {
			keys = append(keys, k)
		}
		t.Fatalf("no variant ~2 of the first key; objects: %v", keys)
	}
	// and once more: ~3, the same variant never rewritten
	cfg.Envelope = "debezium"
	mustRun(t, cfg, newGen(0, 10, time.Second), 10)
	if _, ok := srv.Objects(t, b)["out/users/dt=2026-03-04/hr=22/users+0+0~3.jsonl"]; !ok {
		t.Fatal("no variant ~3")
	}
	after := srv.Objects(t, b)
	for k, v := range before {
		if string(after[k]) != string(v) {
			t.Errorf("%s was overwritten", k)
		}
	}
}
