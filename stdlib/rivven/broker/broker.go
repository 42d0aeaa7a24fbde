// Package broker holds what the rivven sink and the broker-topic source
// share: the plain-data connection settings (the `broker:` section, or the
// connection keys of a `rivven` sink's config), how they become a client,
// rivvend's topic-name rules, and topic templates.
//
// Conn is plain data (strings, ints, bools, slices, nested structs) so that
// generated code can write it as a Go literal.
package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/client"
)

// Conn says how to reach rivvend. The json tags name the connection keys
// (of the top-level `broker` section, and of a rivven sink's or source's
// config block, whose defaults cue/connectors.cue holds): the compiler
// decodes a rivven config block into a Conn through them.
type Conn struct {
	// BootstrapServers are host:port pairs tried in order
	// (`bootstrap_servers`, then the seed's single `address`, which the
	// compiler appends).
	BootstrapServers []string `json:"bootstrap_servers"`
	// ConnectionTimeoutMs bounds one dial with its handshakes
	// (`connection_timeout_ms`); 0 = the client's default, 10 s.
	ConnectionTimeoutMs int  `json:"connection_timeout_ms"`
	TLS                 TLS  `json:"tls"`
	Auth                Auth `json:"auth"`
}

// TLS is the `tls:` block. In the config, a tls block turns TLS on unless
// it says enabled: false; here, TLS is on when Enabled is set.
type TLS struct {
	Enabled    bool   `json:"enabled"`
	CAPath     string `json:"ca_path"`
	CertPath   string `json:"cert_path"`
	KeyPath    string `json:"key_path"`
	ServerName string `json:"server_name"`
	// Insecure skips certificate verification; Connect logs a warning.
	Insecure bool `json:"insecure"`
}

// Auth is the `auth:` block. Authentication is on when Username is set.
type Auth struct {
	// Mechanism is "scram-sha-256" (the config default; "" means it too)
	// or "plain" (TLS only).
	Mechanism string `json:"mechanism"`
	Username  string `json:"username"`
	// Password may come from ${VAR}; it never appears in errors or logs.
	Password string `json:"password"`
}

// Validate reports the first problem Connect would refuse, without
// touching the network or the file system.
func (c Conn) Validate() error {
	if len(c.BootstrapServers) == 0 {
		return errors.New("no broker address: set bootstrap_servers (or address)")
	}
	for _, s := range c.BootstrapServers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("broker address %q is not host:port", s)
		}
	}
	if _, err := mechanism(c.Auth.Mechanism); err != nil {
		return err
	}
	if c.Auth.Username == "" && c.Auth.Password != "" {
		return errors.New("auth.password is set but auth.username is not")
	}
	if c.TLS.Enabled && (c.TLS.CertPath == "") != (c.TLS.KeyPath == "") {
		return errors.New("tls.cert_path and tls.key_path must be set together")
	}
	return nil
}

func mechanism(s string) (client.Mechanism, error) {
	switch strings.ToLower(s) {
	case "", "scram-sha-256":
		return client.MechanismSCRAMSHA256, nil
	case "plain":
		return client.MechanismPlain, nil
	}
	return "", fmt.Errorf("unknown auth mechanism %q (valid: scram-sha-256, plain)", s)
}

// Options tune a client beyond the config.
type Options struct {
	// Log receives connection warnings (reconnects, tls.insecure); nil
	// discards them.
	Log io.Writer
	// PoolSize is the number of connections; 0 = the client's default (2).
	PoolSize int
	// Retry is the client's own reconnect and retry policy, taken as it
	// is. The zero value makes no retries inside the client: one round
	// over the bootstrap servers per request. The sink leaves retries to
	// the runtime (which retries writes whose error is Retriable); the
	// source retries itself.
	Retry client.RetryPolicy
}

// ClientConfig translates c into the protocol client's config.
func (c Conn) ClientConfig(o Options) (client.Config, error) {
	if err := c.Validate(); err != nil {
		return client.Config{}, err
	}
	mech, _ := mechanism(c.Auth.Mechanism)
	cfg := client.Config{
		BootstrapServers:  append([]string(nil), c.BootstrapServers...),
		ConnectionTimeout: time.Duration(c.ConnectionTimeoutMs) * time.Millisecond,
		ClientID:          "rivven-connect",
		TLS: client.TLSConfig{
			Enabled: c.TLS.Enabled, CAPath: c.TLS.CAPath, CertPath: c.TLS.CertPath,
			KeyPath: c.TLS.KeyPath, ServerName: c.TLS.ServerName, Insecure: c.TLS.Insecure,
		},
		PoolSize: o.PoolSize,
		Retry:    &o.Retry,
	}
	if c.Auth.Username != "" {
		cfg.Auth = client.Auth{Mechanism: mech, Username: c.Auth.Username, Password: client.Secret(c.Auth.Password)}
	}
	return cfg, nil
}

// Client is a connected protocol client and the switch that keeps its
// connection warnings quiet until Connect has succeeded (a failed Connect
// reports its reason in its error; logging every attempt too would only
// repeat it).
type Client struct {
	*client.Client
	logOn *atomic.Bool
}

// Connect builds a client for c and opens one session (dial, TLS,
// Handshake, authentication), trying every bootstrap server once. It fails
// fast: a broker that is down at start-up is reported at once, naming the
// servers and the reason (e.g. "connection refused"), never the password.
// Later requests reconnect on their own.
func Connect(ctx context.Context, c Conn, o Options) (*Client, error) {
	cfg, err := c.ClientConfig(o)
	if err != nil {
		return nil, err
	}
	on := new(atomic.Bool)
	if o.Log != nil {
		h := slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelInfo})
		cfg.Logger = slog.New(gate{h, on})
		if c.TLS.Enabled && c.TLS.Insecure {
			slog.New(h).Warn("rivven: tls.insecure is set: the broker's certificate is not verified; never use this in production",
				"bootstrap_servers", strings.Join(c.BootstrapServers, ","))
		}
	}
	cl, err := client.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("broker at %s: %w", strings.Join(c.BootstrapServers, ", "), err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, connectError(c.BootstrapServers, err)
	}
	on.Store(true)
	return &Client{Client: cl, logOn: on}, nil
}

// ConnectError is a failed Connect. Its text names the servers and the
// reason; Unwrap gives the client's *client.Error.
type ConnectError struct {
	Servers []string
	Reason  string
	Err     error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect to the broker at %s: %s", strings.Join(e.Servers, ", "), e.Reason)
}

// Unwrap returns the client error.
func (e *ConnectError) Unwrap() error { return e.Err }

func connectError(servers []string, err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return &ConnectError{Servers: servers, Reason: err.Error(), Err: err}
	}
	var reason string
	switch ce.Code {
	case client.CodeConnection:
		reason = netReason(ce.Err)
		if reason == "" {
			reason = ce.Error()
		}
	case client.CodeAuthenticationFailed, client.CodeAuthenticationRequired, client.CodeScramFailed,
		client.CodePlaintextAuthRequiresTLS, client.CodeUnsupportedMechanism:
		reason = "authentication failed: " + strings.TrimPrefix(ce.Error(), "rivven: ")
	default:
		reason = strings.TrimPrefix(ce.Error(), "rivven: ")
	}
	return &ConnectError{Servers: servers, Reason: reason, Err: err}
}

// netReason describes a dial error without the resolved address (which
// differs between machines): "connection refused", "no such host", ….
func netReason(err error) string {
	if err == nil {
		return ""
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return "cannot resolve " + dns.Name + ": " + dns.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// gate is a slog.Handler that is silent until on is set.
type gate struct {
	slog.Handler
	on *atomic.Bool
}

func (g gate) Enabled(ctx context.Context, l slog.Level) bool {
	return g.on.Load() && g.Handler.Enabled(ctx, l)
}

func (g gate) WithAttrs(as []slog.Attr) slog.Handler { return gate{g.Handler.WithAttrs(as), g.on} }
func (g gate) WithGroup(n string) slog.Handler       { return gate{g.Handler.WithGroup(n), g.on} }
