package client

import (
	"errors"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
)

func tlsBroker(t *testing.T, mtls bool) (*brokertest.Server, *brokertest.PKI) {
	pki, err := brokertest.WritePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pki.ServerTLS(mtls)
	if err != nil {
		t.Fatal(err)
	}
	return authBroker(t, brokertest.Config{TLS: sc}), pki
}

func TestPlainAuthOverTLS(t *testing.T) {
	s, pki := tlsBroker(t, false)
	cfg := testConfig(s.Addr())
	cfg.TLS = TLSConfig{Enabled: true, CAPath: pki.CAFile}
	cfg.Auth = Auth{Mechanism: MechanismPlain, Username: "alice", Password: canary}
	c := newClient(t, cfg)
	ctx := testCtx(t)
	if _, err := c.CreateTopic(ctx, "t", 1); err != nil {
		t.Fatal(err)
	}
	cfg.Auth.Password = "wrong"
	bad := newClient(t, cfg)
	err := bad.Ping(ctx)
	if !errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	assertNoCanary(t, err.Error())
}

func TestSCRAMOverTLSWithServerName(t *testing.T) {
	s, pki := tlsBroker(t, false)
	cfg := testConfig(s.Addr())
	cfg.TLS = TLSConfig{Enabled: true, CAPath: pki.CAFile, ServerName: "localhost"}
	cfg.Auth = Auth{Username: "alice", Password: canary}
	if err := newClient(t, cfg).Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestPlainAuthRefusedWithoutTLS(t *testing.T) {
	// Config validation refuses it up front ...
	s := authBroker(t, brokertest.Config{})
	cfg := testConfig(s.Addr())
	cfg.Auth = Auth{Mechanism: MechanismPlain, Username: "alice", Password: canary}
	if _, err := New(cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("New: %v", err)
	}
	// ... and the connection check refuses it even if validation is bypassed.
	c := newClient(t, testConfig(s.Addr()))
	c.cfg.Auth = cfg.Auth
	err := c.Ping(testCtx(t))
	if !errors.Is(err, ErrPlaintextAuthRequiresTLS) || IsRetriable(err) {
		t.Fatalf("got %v", err)
	}
	assertNoCanary(t, err.Error())
}

func TestTLSVerification(t *testing.T) {
	s, _ := tlsBroker(t, false)
	other, err := brokertest.WritePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(s.Addr())
	cfg.Auth = Auth{Username: "alice", Password: canary}
	cfg.TLS = TLSConfig{Enabled: true, CAPath: other.CAFile}
	err = newClient(t, cfg).Ping(testCtx(t))
	if !errors.Is(err, ErrConfig) || IsRetriable(err) {
		t.Fatalf("untrusted CA: %v", err)
	}
	cfg.TLS = TLSConfig{Enabled: true, Insecure: true}
	if err := newClient(t, cfg).Ping(testCtx(t)); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	s, pki := tlsBroker(t, true)
	cfg := testConfig(s.Addr())
	cfg.Auth = Auth{Username: "alice", Password: canary}
	cfg.TLS = TLSConfig{Enabled: true, CAPath: pki.CAFile, CertPath: pki.ClientCertFile, KeyPath: pki.ClientKeyFile}
	if err := newClient(t, cfg).Ping(testCtx(t)); err != nil {
		t.Fatalf("with client certificate: %v", err)
	}
	cfg.TLS.CertPath, cfg.TLS.KeyPath = "", ""
	cfg.Retry = &RetryPolicy{} // no retries
	if err := newClient(t, cfg).Ping(testCtx(t)); err == nil {
		t.Fatal("without a client certificate the broker must refuse")
	}
}
