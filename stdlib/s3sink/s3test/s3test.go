// Package s3test runs a real S3-compatible server, versitygw (Apache-2.0,
// github.com/versity/versitygw), on a loopback port for tests: each
// sub-directory of its data directory is a bucket.
//
// The binary is, in order: $RIVVEN_VERSITYGW (a path), versitygw on PATH,
// $GOPATH/bin/versitygw, or one the harness builds once into the user's
// cache directory with `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`.
package s3test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rivven/rivven-connect/stdlib/servertest"
)

// Version is the versitygw release the harness builds.
const Version = "v1.8.0"

// The root credentials of every server the harness starts.
const (
	AccessKey = "rivventestaccess"
	SecretKey = "rivven-test-secret-0123456789"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string
	// Dir holds the buckets (one sub-directory each).
	Dir string

	cmd  *exec.Cmd
	done chan error
	seq  atomic.Int64
	log  *lockedBuffer
}

// Main starts a server, stores it in *s, runs the package's tests and
// stops it (servertest.Main: a start failure fails every test loudly).
func Main(m *testing.M, s **Server) { servertest.Main(m, "s3test", Start, s) }

var buildMu sync.Mutex

// Binary returns the path of the versitygw binary (see the package doc),
// building it when there is none.
func Binary() (string, error) {
	if p := os.Getenv("RIVVEN_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("RIVVEN_VERSITYGW: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gp)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no versitygw binary and no cache directory to build one in: %w", err)
	}
	dir := filepath.Join(cache, "rivven-connect", "versitygw-"+Version)
	p := filepath.Join(dir, "versitygw")
	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	cmd := exec.Command("go", "install", "github.com/versity/versitygw/cmd/versitygw@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building versitygw %s (set RIVVEN_VERSITYGW to a binary instead): %v\n%s", Version, err, out)
	}
	return p, nil
}

// Start starts a server on a free loopback port with a fresh data
// directory, and waits until it answers. It keeps connections alive, as
// S3 does (versitygw closes each one after its response unless told
// otherwise, and a client then dials for every request).
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "s3test-")
	if err != nil {
		return nil, err
	}
	data, side := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	for _, d := range []string{data, side} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	port, err := servertest.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{Endpoint: "http://" + addr, Dir: data, done: make(chan error, 1), log: &lockedBuffer{}}
	s.cmd = exec.Command(bin, "--keep-alive", "--port", addr, "posix", "--sidecar", side, data)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// Pdeathsig: if the test binary dies (a panic, kill -9), the server
	// dies with it instead of living on (its files stay in the temp dir).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case werr := <-s.done:
			return nil, fmt.Errorf("versitygw exited: %v\n%s", werr, s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return nil, fmt.Errorf("versitygw did not answer on %s within 30s\n%s", addr, s.log.String())
		}
	}
}

// CPU returns the CPU time (user and system) the server has used so far,
// to the kernel's clock tick (10 ms), from /proc (Linux).
func (s *Server) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid … : utime and stime are fields 14 and 15,
	// the 12th and 13th after the parenthesised command name.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("s3test: unexpected /proc stat line %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("s3test: unexpected /proc stat line %q", b)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("s3test: /proc stat field %q: %v", v, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// Stop stops the server and removes its data.
func (s *Server) Stop() error {
	_ = s.cmd.Process.Kill()
	<-s.done
	return os.RemoveAll(filepath.Dir(s.Dir))
}

// NewBucket creates an empty bucket for one test and returns its name.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("b%d-%s", s.seq.Add(1), sanitize(t.Name()))
	if len(name) > 63 {
		name = name[:63]
	}
	name = strings.TrimRight(name, "-")
	if err := os.Mkdir(filepath.Join(s.Dir, name), 0o755); err != nil {
		t.Fatalf("s3test: create bucket: %v", err)
	}
	return name
}

func sanitize(n string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(n) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Client returns an S3 client of the server (root credentials).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Objects returns every object of bucket: key → bytes.
func (s *Server) Objects(t testing.TB, bucket string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	cl := s.Client()
	out := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("s3test: list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			g, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: o.Key})
			if err != nil {
				t.Fatalf("s3test: get %s/%s: %v", bucket, *o.Key, err)
			}
			b, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				t.Fatalf("s3test: read %s/%s: %v", bucket, *o.Key, err)
			}
			out[*o.Key] = b
		}
	}
	return out
}

// Multiparts returns the keys of bucket's unfinished multipart uploads.
func (s *Server) Multiparts(t testing.TB, bucket string) []string {
	t.Helper()
	out, err := s.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("s3test: list multipart uploads of %s: %v", bucket, err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, *u.Key)
	}
	return keys
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.b) < 1<<20 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
