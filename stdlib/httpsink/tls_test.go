package httpsink_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsink"
)

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	path string // the CA certificate as a PEM file
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	c := &ca{cert: cert, key: key, pool: x509.NewCertPool()}
	c.pool.AddCert(cert)
	c.path = writePEM(t, name+"-ca.pem", "CERTIFICATE", der)
	return c
}

// issue returns a certificate for cn signed by c, and the paths of its
// certificate and key as PEM files.
func (c *ca) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath := writePEM(t, cn+".pem", "CERTIFICATE", der)
	keyPath := writePEM(t, cn+"-key.pem", "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPath, keyPath
}

func writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// quietLog drops the test servers' logs of refused handshakes.
var quietLog = log.New(io.Discard, "", 0)

// openErr opens a sink on cfg and returns Open's error.
func openErr(t *testing.T, cfg httpsink.Config) error {
	t.Helper()
	s := newSink(t, cfg, nil)
	defer s.Close()
	return s.Open(context.Background())
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

// An https server is verified against tls.ca_path: without it the sink
// refuses the server's certificate at Open, saying what to set; with it
// records go through; a server_name the certificate lacks, and a server
// that does not speak TLS, are refused with the reason; insecure_skip_verify
// works and Probe warns about it.
func TestTLSServerVerification(t *testing.T) {
	c := newCollector(t)
	c.srv.Config.ErrorLog = quietLog
	c.srv.StartTLS()
	t.Cleanup(c.srv.Close)
	caPath := writePEM(t, "server-ca.pem", "CERTIFICATE", c.srv.Certificate().Raw)
	u := c.srv.URL + "/ingest"

	wantErr(t, openErr(t, httpsink.Defaults(u)), "cannot reach "+u, "TLS: the server's certificate is signed by an authority this sink does not trust: set tls.ca_path")
	probe := newSink(t, httpsink.Defaults(u), nil)
	fs, err := probe.Probe(context.Background())
	if err != nil || len(fs) != 1 || fs[0].Level != runtime.FindingFail || !strings.Contains(fs[0].Detail, "tls.ca_path") {
		t.Errorf("probe of an untrusted server: %+v, %v; want one failed tls finding", fs, err)
	}

	cfg := httpsink.Defaults(u)
	cfg.TLS.CAPath = caPath
	s := newSink(t, cfg, nil)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), records(0, 10)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := len(c.accepted()); got != 1 {
		t.Errorf("%d requests taken, want 1", got)
	}
	fs, err = newSink(t, cfg, nil).Probe(context.Background())
	if err != nil || len(fs) != 2 || fs[0].Level != runtime.FindingOK || !strings.Contains(fs[0].Detail, "verified") {
		t.Errorf("probe with tls.ca_path: %+v, %v; want the verified connection", fs, err)
	}

	named := cfg
	named.TLS.ServerName = "other.example"
	wantErr(t, openErr(t, named), "not valid for tls.server_name (it names example.com, *.example.com): set tls.server_name to one of those names")

	insecure := httpsink.Defaults(u)
	insecure.TLS.InsecureSkipVerify = true
	if err := openErr(t, insecure); err != nil {
		t.Fatal(err)
	}
	fs, _ = newSink(t, insecure, nil).Probe(context.Background())
	if len(fs) == 0 || fs[0].Level != runtime.FindingWarn || !strings.Contains(fs[0].Detail, "NOT verified") {
		t.Errorf("probe with insecure_skip_verify: %+v; want a warning", fs)
	}

	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	wantErr(t, openErr(t, httpsink.Defaults(strings.Replace(plain.URL, "http://", "https://", 1))), "TLS: the server answered in plain HTTP: the url should start with http://")
}

// With mutual TLS the server requires a client certificate from its CA:
// without tls.cert_path the sink says to set it; a certificate of another
// CA is refused, naming the file; the right one gets the records through,
// and the server sees the client's name.
func TestMutualTLS(t *testing.T) {
	auth := newCA(t, "test-ca")
	serverCert, _, _ := auth.issue(t, "server", x509.ExtKeyUsageServerAuth)
	_, clientCert, clientKey := auth.issue(t, "rivven-client", x509.ExtKeyUsageClientAuth)
	_, strangerCert, strangerKey := newCA(t, "other-ca").issue(t, "stranger", x509.ExtKeyUsageClientAuth)

	c := newCollector(t)
	var clientName string
	inner := c.srv.Config.Handler
	c.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && r.Method == http.MethodPost {
			clientName = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		inner.ServeHTTP(w, r)
	})
	c.srv.Config.ErrorLog = quietLog
	c.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: auth.pool}
	c.srv.StartTLS()
	t.Cleanup(c.srv.Close)
	cfg := httpsink.Defaults(c.srv.URL + "/ingest")
	cfg.TLS.CAPath = auth.path

	wantErr(t, openErr(t, cfg), "TLS: the server refused the handshake", "it wants a client certificate: set tls.cert_path and tls.key_path")

	stranger := cfg
	stranger.TLS.CertPath, stranger.TLS.KeyPath = strangerCert, strangerKey
	wantErr(t, openErr(t, stranger), "it did not accept the client certificate of tls.cert_path ("+strangerCert+")")

	good := cfg
	good.TLS.CertPath, good.TLS.KeyPath = clientCert, clientKey
	s := newSink(t, good, nil)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(context.Background(), records(0, 5)); err != nil {
		t.Fatal(err)
	}
	if clientName != "rivven-client" || len(c.accepted()) != 1 {
		t.Errorf("the server took %d requests from client %q; want 1 from rivven-client", len(c.accepted()), clientName)
	}

	bad := cfg
	bad.TLS.CertPath, bad.TLS.KeyPath = clientCert, strangerKey
	if _, err := httpsink.New(bad, nil); err == nil || !strings.Contains(err.Error(), "are not a certificate and its private key") {
		t.Errorf("a key of another certificate: %v", err)
	}
	missing := cfg
	missing.TLS.CAPath = filepath.Join(t.TempDir(), "nope.pem")
	if _, err := httpsink.New(missing, nil); err == nil || !strings.Contains(err.Error(), "tls.ca_path: cannot read "+missing.TLS.CAPath) {
		t.Errorf("a missing CA file: %v", err)
	}
}
