package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/postgres/pgtest"
)

// TestPostgresTLSModes checks each tls.mode against a server that accepts
// TCP only over TLS, with a certificate for "localhost" only.
func TestPostgresTLSModes(t *testing.T) {
	cl := pgtest.New(t, pgtest.Options{TLS: true})
	db := cl.NewDatabase(t)
	t.Setenv("PGPW", cl.Password)
	dir := t.TempDir()
	otherCA := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(otherCA, otherCAPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, host, tls string
		ok              bool
		want            string
	}{
		{"disable", "127.0.0.1", "{mode: disable}", false, "no pg_hba.conf entry"},
		{"prefer", "127.0.0.1", "{mode: prefer}", true, ""},
		{"require", "127.0.0.1", "{mode: require}", true, ""},
		{"verify-ca", "127.0.0.1", fmt.Sprintf("{mode: verify-ca, ca_cert_path: %q}", cl.CAFile), true, ""},
		{"verify-ca-wrong-ca", "127.0.0.1", fmt.Sprintf("{mode: verify-ca, ca_cert_path: %q}", otherCA), false, "certificate"},
		{"verify-full-ip", "127.0.0.1", fmt.Sprintf("{mode: verify-full, ca_cert_path: %q}", cl.CAFile), false, "127.0.0.1"},
		{"verify-full-name", "localhost", fmt.Sprintf("{mode: verify-full, ca_cert_path: %q}", cl.CAFile), true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(dir, c.name+".yaml")
			writeFile(t, cfg, fmt.Sprintf(`
sources:
  pg: {connector: postgres-cdc, config: {host: %s, port: %d, database: %s, user: %s, password: "${PGPW}", tls: %s}}
sinks:
  out: {connector: stdout}
pipelines:
  p: {source: pg, sink: out}
`, c.host, cl.Port, db, pgtest.Superuser, c.tls))
			out, errOut, code := mainOut(t, "check", "-c", cfg, "--connect")
			connected := strings.Contains(out, "  OK    server: ")
			if connected != c.ok || (!c.ok && !strings.Contains(out, c.want)) || strings.Contains(out+errOut, cl.Password) {
				t.Fatalf("tls %s: exit %d, connected %v (want %v, message with %q)\n%s%s", c.tls, code, connected, c.ok, c.want, out, errOut)
			}
		})
	}
}

// otherCAPEM returns a fresh self-signed CA that signed nothing the
// server presents.
func otherCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
