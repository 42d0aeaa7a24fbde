package goldentest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/s3sink/s3test"
)

// The variables the harness sets for a case that lists server s3; the
// case's config reads them with ${VAR}. S3_SECRET_KEY, S3_ENDPOINT (its
// port) and S3_BUCKET (one per run) never appear in a golden output:
// plans show them as <secret>, and Run.Leaks catches any other place.
const (
	VarS3Endpoint  = "S3_ENDPOINT"
	VarS3Bucket    = "S3_BUCKET"
	VarS3AccessKey = "S3_ACCESS_KEY"
	VarS3SecretKey = "S3_SECRET_KEY"
)

// installHint says how to get versitygw when it does not start.
const installHint = "the golden cases that list server s3 run versitygw " + s3test.Version +
	": .ci/run installs it (GOBIN=/usr/local/bin go install github.com/versity/versitygw/cmd/versitygw@" +
	s3test.Version + "), or set RIVVEN_VERSITYGW to a versitygw binary"

// shared holds the servers of one test binary, each started on first use
// by a case that lists it and stopped by Main.
var shared struct {
	mu    sync.Mutex
	s3    *s3test.Server
	s3err error // why it did not start: every later case fails with it too
}

// s3Server returns the test binary's versitygw, starting it on first use.
func s3Server() (*s3test.Server, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s3 == nil && shared.s3err == nil {
		shared.s3, shared.s3err = s3test.Start()
	}
	return shared.s3, shared.s3err
}

// Main runs a test binary's tests (m.Run), then stops the servers golden
// cases started and removes their data; a failed stop fails the run. Call
// it from TestMain of every package that runs golden cases.
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.s3 != nil {
		if err := shared.s3.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "goldentest: stop versitygw: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		shared.s3 = nil
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Servers returns the servers the case lists in its section "servers",
// one name a line ("#" starts a comment); "s3" is the only server.
func (c *Case) Servers() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(c.Sections["servers"]))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line != "s3" {
			return nil, fmt.Errorf("%s: section servers, line %d: unknown server %q (known: s3)", c.File, n, line)
		}
		if seen[line] {
			return nil, fmt.Errorf("%s: section servers, line %d: server %q listed twice", c.File, n, line)
		}
		seen[line] = true
		out = append(out, line)
	}
	return out, nil
}

// Run is the environment of one run of a case by one back end: the
// case's variables, and the servers it lists with fresh state (an empty
// bucket) that no other run shares.
type Run struct {
	c      *Case
	vars   map[string]string // the variables the harness set
	s3     *s3test.Server
	bucket string
}

// NewRun prepares a run of c, starting the servers c lists if this test
// binary has not yet (a server that cannot start fails t, saying how to
// install it). The bucket of server s3 is removed in t.Cleanup.
func NewRun(t testing.TB, c *Case) *Run {
	t.Helper()
	servers, err := c.Servers()
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{c: c, vars: map[string]string{}}
	for _, s := range servers {
		if s != "s3" {
			continue // Servers accepts no other
		}
		srv, err := s3Server()
		if err != nil {
			t.Fatalf("%s lists server s3, which did not start: %v\n%s", c.Name, err, installHint)
		}
		r.s3, r.bucket = srv, srv.NewBucket(t)
		t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(srv.Dir, r.bucket)) })
		r.vars[VarS3Endpoint] = srv.Endpoint
		r.vars[VarS3Bucket] = r.bucket
		r.vars[VarS3AccessKey] = s3test.AccessKey
		r.vars[VarS3SecretKey] = s3test.SecretKey
	}
	for k := range r.vars {
		if _, ok := c.Env[k]; ok {
			t.Fatalf("%s: section env sets %s, which the harness sets for the servers the case lists", c.Name, k)
		}
	}
	return r
}

// Lookup reads the run's environment: the variables the harness set for
// the servers, else the case's section env.
func (r *Run) Lookup(k string) (string, bool) {
	if v, ok := r.vars[k]; ok {
		return v, true
	}
	return r.c.Lookup(k)
}

// Outputs returns what the servers hold after the run, by section name:
// out/objects (RenderObjects of the bucket, then a line per unfinished
// multipart upload) for server s3; nothing for a case without servers.
func (r *Run) Outputs(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	if r.s3 != nil {
		s := RenderObjects(r.s3.Objects(t, r.bucket))
		for _, k := range r.s3.Multiparts(t, r.bucket) {
			s += "unfinished multipart upload " + k + "\n"
		}
		out["out/objects"] = s
	}
	return out
}

// Leaks returns the names of the variables the harness set whose values
// appear in text (sorted): a golden output must show none, as each is a
// secret or differs from run to run.
func (r *Run) Leaks(text string) []string {
	var names []string
	for k, v := range r.vars {
		if v != "" && strings.Contains(text, v) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}
