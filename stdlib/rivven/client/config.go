package client

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// Config is plain data describing how to reach rivvend. Field comments give
// the rivven-connect YAML key under `broker:` where one exists.
type Config struct {
	// BootstrapServers ("bootstrap_servers", or the seed's single "address")
	// are host:port pairs tried in order on every (re)connect.
	BootstrapServers []string
	// ConnectionTimeout ("connection_timeout_ms") bounds one dial, including
	// the TLS handshake, Handshake and authentication. Default 10 s.
	ConnectionTimeout time.Duration
	// RequestTimeout bounds a call whose context has no deadline (a Consume
	// long poll adds its wait). Default 30 s.
	RequestTimeout time.Duration
	// ClientID is sent in the Handshake. Default "rivven-connect".
	ClientID string
	// TLS ("tls") configures transport encryption.
	TLS TLSConfig
	// Auth configures authentication; a zero Auth sends no credentials.
	Auth Auth
	// PoolSize is the maximum number of connections (each with its own
	// session). Default 2.
	PoolSize int
	// Retry governs reconnect and retry backoff; nil =
	// DefaultRetryPolicy(). A policy given is taken as it is: the zero
	// RetryPolicy makes no retries (one round over the bootstrap servers
	// per request).
	Retry *RetryPolicy
	// Logger receives connection events (never credentials). Default: none.
	Logger *slog.Logger
}

// TLSConfig mirrors the `tls:` block of the broker config.
type TLSConfig struct {
	Enabled    bool   // "enabled"
	CAPath     string // "ca_path": PEM CA bundle; empty uses the system roots
	CertPath   string // "cert_path": client certificate (mTLS), with KeyPath
	KeyPath    string // "key_path"
	ServerName string // "server_name": defaults to the dialed host
	// Insecure ("insecure") skips server certificate verification. It is an
	// explicit opt-in for tests; never use it in production.
	Insecure bool
}

// Mechanism is an authentication mechanism.
type Mechanism string

// Supported mechanisms.
const (
	// MechanismSCRAMSHA256 never sends the password (the default).
	MechanismSCRAMSHA256 Mechanism = "SCRAM-SHA-256"
	// MechanismPlain sends the password in Authenticate{require_tls: true};
	// the client refuses it on a connection that is not TLS.
	MechanismPlain Mechanism = "PLAIN"
)

// Auth holds credentials. Authentication is on when Username is set.
type Auth struct {
	Mechanism Mechanism // default SCRAM-SHA-256
	Username  string
	Password  Secret
}

// Secret is a string that does not print: fmt, %#v, slog and encoding
// helpers all see "[REDACTED]". Use string(s) to read it.
type Secret string

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (Secret) String() string { return redacted }

// GoString returns "[REDACTED]".
func (Secret) GoString() string { return redacted }

// LogValue hides the secret from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText hides the secret from encoders (JSON, YAML).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// RetryPolicy is exponential backoff: InitialBackoff × Multiplier^attempt,
// capped at MaxBackoff, with jitter in [d/2, d]. Field names match the
// rivven-connect `settings.retry` keys. Every field is taken as it is
// (negative ones count as 0); DefaultRetryPolicy is the policy of a Config
// without one.
type RetryPolicy struct {
	MaxRetries     int           // "max_retries": retries after the first attempt; 0 = none
	InitialBackoff time.Duration // "initial_backoff_ms"
	MaxBackoff     time.Duration // "max_backoff_ms"
	Multiplier     float64       // "backoff_multiplier"
}

// DefaultRetryPolicy returns the policy of a Config whose Retry is nil: 10
// retries, waiting 100 ms, doubling up to 30 s (settings.retry's
// defaults).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 10, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 30 * time.Second, Multiplier: 2}
}

func (c Config) withDefaults() Config {
	if c.ConnectionTimeout <= 0 {
		c.ConnectionTimeout = 10 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.ClientID == "" {
		c.ClientID = "rivven-connect"
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 2
	}
	if c.Auth.Username != "" && c.Auth.Mechanism == "" {
		c.Auth.Mechanism = MechanismSCRAMSHA256
	}
	r := DefaultRetryPolicy()
	if c.Retry != nil {
		r = *c.Retry // a copy: the caller's policy is never changed
		r.MaxRetries = max(r.MaxRetries, 0)
		r.InitialBackoff, r.MaxBackoff, r.Multiplier = max(r.InitialBackoff, 0), max(r.MaxBackoff, 0), max(r.Multiplier, 0)
	}
	c.Retry = &r
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func configError(format string, a ...any) *Error {
	return &Error{Code: CodeConfig, Op: "config", Message: fmt.Sprintf(format, a...)}
}

func (c Config) validate() error {
	if len(c.BootstrapServers) == 0 {
		return configError("bootstrap_servers is empty")
	}
	for _, s := range c.BootstrapServers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return configError("bootstrap server %q is not host:port", s)
		}
	}
	switch c.Auth.Mechanism {
	case "", MechanismSCRAMSHA256:
	case MechanismPlain:
		if !c.TLS.Enabled {
			return configError("auth mechanism PLAIN sends the password in clear text and requires tls.enabled")
		}
	default:
		return configError("unknown auth mechanism %q", c.Auth.Mechanism)
	}
	if (c.TLS.CertPath == "") != (c.TLS.KeyPath == "") {
		return configError("tls.cert_path and tls.key_path must be set together")
	}
	return nil
}

// tlsConfig loads the files named by t; nil when TLS is disabled.
func (t TLSConfig) tlsConfig() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.Insecure}
	if t.CAPath != "" {
		pem, err := os.ReadFile(t.CAPath)
		if err != nil {
			return nil, &Error{Code: CodeConfig, Op: "config", Message: "tls.ca_path", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configError("tls.ca_path %s holds no PEM certificate", t.CAPath)
		}
		c.RootCAs = pool
	}
	if t.CertPath != "" {
		cert, err := tls.LoadX509KeyPair(t.CertPath, t.KeyPath)
		if err != nil {
			return nil, &Error{Code: CodeConfig, Op: "config", Message: "tls.cert_path/tls.key_path", Err: err}
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
