package client

import (
	"bytes"

	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

const canary = "canary-P4ssw0rd-7f3a"

func authBroker(t *testing.T, extra brokertest.Config) *brokertest.Server {
	extra.RequireAuth = true
	extra.Users = map[string]string{"alice": canary}
	return startBroker(t, extra)
}

func TestSCRAMAuthentication(t *testing.T) {
	s := authBroker(t, brokertest.Config{})
	cfg := testConfig(s.Addr())
	cfg.Auth = Auth{Username: "alice", Password: canary}
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateTopic(testCtx(t), "t", 1); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticationRequiredWithoutCredentials(t *testing.T) {
	s := authBroker(t, brokertest.Config{})
	c := newClient(t, testConfig(s.Addr()))
	err := c.Ping(testCtx(t)) // Ping passes unauthenticated, but Handshake does not
	if !errors.Is(err, ErrAuthenticationRequired) || IsRetriable(err) {
		t.Fatalf("got %v", err)
	}
}

func TestAuthFailureNamesUserAndMechanismNeverPassword(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := startBroker(t, brokertest.Config{RequireAuth: true, Users: map[string]string{"alice": "the-right-one"}})
	cfg := testConfig(s.Addr())
	cfg.Auth = Auth{Username: "alice", Password: canary}
	cfg.Logger = logger
	c := newClient(t, cfg)
	err := c.Ping(testCtx(t))
	if !errors.Is(err, ErrAuthenticationFailed) || IsRetriable(err) {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`user "alice"`, "SCRAM-SHA-256", "AUTHENTICATION_FAILED"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	assertNoCanary(t, msg, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), logs.String())
	// Authentication failures are not retried (rivvend locks out after 5).
	if st := s.Stats(); st.Connections != 1 {
		t.Fatalf("%d connections: failed logins were retried", st.Connections)
	}
}

func assertNoCanary(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, canary) {
			t.Fatalf("password leaked: %s", s)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg := Config{BootstrapServers: []string{"h:1"}, Auth: Auth{Username: "alice", Password: canary}}
	j, _ := json.Marshal(cfg)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "config", cfg, "password", cfg.Auth.Password)
	//lint:ignore S1025 the test checks what fmt's %s verb prints
	assertNoCanary(t, fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg.Auth.Password), string(j), logs.String())
	if string(cfg.Auth.Password) != canary {
		t.Fatal("string conversion must still read the secret")
	}
}

func TestSessionExpiredReauthenticates(t *testing.T) {
	s := authBroker(t, brokertest.Config{})
	cfg := testConfig(s.Addr())
	cfg.Auth = Auth{Username: "alice", Password: canary}
	c := newClient(t, cfg)
	ctx := testCtx(t)
	if _, err := c.CreateTopic(ctx, "t", 1); err != nil {
		t.Fatal(err)
	}
	s.ExpireSessions()
	if _, err := c.PublishBatch(ctx, "t", Partition(0), records("x", 2)); err != nil {
		t.Fatalf("publish after session expiry: %v", err)
	}
	if n := len(s.Records("t", 0)); n != 2 {
		t.Fatalf("%d records", n)
	}
	if st := s.Stats(); st.Connections != 1 {
		t.Fatalf("re-authentication should reuse the connection, got %d", st.Connections)
	}
}

// scriptedBroker serves one connection: for each expected request it checks
// the decoded request and answers the scripted response.
type step struct {
	check func(wire.Request) error
	reply wire.Response
}

func scriptedBroker(t *testing.T, steps []step) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		for i, st := range steps {
			f, err := wire.ReadFrame(nc)
			if err != nil {
				t.Errorf("step %d: %v", i, err)
				return
			}
			req, err := wire.DecodeRequest(f.Payload)
			if err != nil {
				t.Errorf("step %d: %v", i, err)
				return
			}
			if err := st.check(req); err != nil {
				t.Errorf("step %d: %v", i, err)
				return
			}
			b, _ := wire.AppendFrame(nil, f.CorrelationID, st.reply)
			nc.Write(b)
		}
	}()
	return ln.Addr().String()
}

func is[T wire.Request](want func(T) error) func(wire.Request) error {
	return func(r wire.Request) error {
		m, ok := r.(T)
		if !ok {
			return fmt.Errorf("got %v", r.Kind())
		}
		if want == nil {
			return nil
		}
		return want(m)
	}
}

func message(want string) func(msg []byte) error {
	return func(msg []byte) error {
		if string(msg) != want {
			return fmt.Errorf("message %q, want %q", msg, want)
		}
		return nil
	}
}

// RFC 7677 §3: the client's messages on the wire must be exactly the RFC's.
func TestSCRAMRFC7677ExchangeOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name        string
		serverFinal string
		wantErr     error
	}{
		{"valid signature", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", nil},
		{"forged signature", "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", ErrAuthenticationFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := []step{
				{is[*wire.Handshake](nil), &wire.ErrorResponse{Message: "AUTHENTICATION_REQUIRED: Please authenticate first"}},
				{is(func(m *wire.ScramClientFirst) error { return message("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")(m.Message) }),
					&wire.ScramServerFirst{Message: []byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")}},
				{is(func(m *wire.ScramClientFinal) error {
					return message("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")(m.Message)
				}), &wire.ScramServerFinal{Message: []byte(tc.serverFinal), SessionID: wire.Some("s1"), ExpiresIn: wire.Some[uint64](3600)}},
				{is[*wire.Handshake](nil), &wire.HandshakeResult{ServerVersion: 2, Compatible: true, Message: "OK"}},
				{is[*wire.Ping](nil), &wire.Pong{}},
			}
			if tc.wantErr != nil {
				steps = steps[:3] // the client must hang up after a bad signature
			}
			cfg := testConfig(scriptedBroker(t, steps))
			cfg.Auth = Auth{Username: "user", Password: "pencil"}
			cfg.Retry = &RetryPolicy{} // no retries
			c := newClient(t, cfg)
			c.nonce = func() string { return "rOprNGfwEbeRWgbNEkqO" }
			err := c.Ping(testCtx(t))
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestBrokerMessagesAreRedacted(t *testing.T) {
	// A (misbehaving) broker echoes the password in its error message.
	steps := []step{
		{is[*wire.Handshake](nil), &wire.HandshakeResult{ServerVersion: 2, Compatible: true, Message: "OK"}},
		{is[*wire.ScramClientFirst](nil), &wire.ErrorResponse{Message: "AUTHENTICATION_FAILED: bad password " + canary}},
	}
	cfg := testConfig(scriptedBroker(t, steps))
	cfg.Auth = Auth{Username: "alice", Password: canary}
	c := newClient(t, cfg)
	err := c.Ping(testCtx(t))
	if !errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("got %v", err)
	}
	assertNoCanary(t, err.Error())
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("expected a redaction marker in %q", err)
	}
}

func TestVersionMismatch(t *testing.T) {
	s := startBroker(t, brokertest.Config{ServerVersion: 3})
	c := newClient(t, testConfig(s.Addr()))
	err := c.Ping(testCtx(t))
	if !errors.Is(err, ErrVersionMismatch) || !strings.Contains(err.Error(), "Version mismatch: client=2, server=3") {
		t.Fatalf("got %v", err)
	}
}
