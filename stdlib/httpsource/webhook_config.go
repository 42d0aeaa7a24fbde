package httpsource

import (
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what some senders sign with
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"net"
	"strconv"
	"strings"
)

// validateWebhook is Validate in webhook mode.
func (c Config) validateWebhook() error {
	if c.URL != "" || c.Method != "" || c.Body != "" || len(c.Headers) > 0 || c.Pagination != (Pagination{}) ||
		c.AtEnd != "" || c.IntervalMs != 0 || c.RateLimit != 0 || c.Retry != (Retry{}) {
		return errors.New("http source: url, method, body, headers, pagination, at_end, interval_ms, rate_limit and retry apply to poll mode only: remove them, or set mode: poll")
	}
	if c.Auth.OAuth2.TokenURL != "" || c.Auth.OAuth2.ClientID != "" || c.Auth.OAuth2.ClientSecret != "" {
		return errors.New("http source: auth.oauth2 applies to poll mode only (webhook mode checks the credentials of incoming requests: use auth.basic or auth.bearer)")
	}
	if c.Auth.methods() > 1 {
		return errors.New("http source: auth takes one method: basic or bearer")
	}
	l := c.Listen
	if _, err := listenAddress(l.Address); err != nil {
		return err
	}
	if l.Path != "" && !strings.HasPrefix(l.Path, "/") {
		return fmt.Errorf("http source: listen.path %q must start with /", l.Path)
	}
	if l.MaxBodyBytes < 0 || l.MaxBufferedRecords < 0 || c.TimeoutMs < 0 {
		return errors.New("http source: listen.max_body_bytes, listen.max_buffered_records and timeout_ms must not be negative")
	}
	if _, err := ParsePath(c.RecordsPath); err != nil {
		return fmt.Errorf("http source: records_path: %w", err)
	}
	if h := c.HMAC; h != (HMAC{}) {
		if h.Secret == "" {
			return errors.New("http source: hmac.secret is required to check signatures (use ${VAR})")
		}
		if _, err := hmacHash(h.Algorithm); err != nil {
			return err
		}
		switch h.Encoding {
		case "", "hex", "base64":
		default:
			return fmt.Errorf("http source: hmac.encoding %q: use hex or base64", h.Encoding)
		}
		if name := h.Header; name != "" && strings.ContainsAny(name, " \t\r\n:") {
			return fmt.Errorf("http source: hmac.header: %q is not a header name", name)
		}
	}
	if len(c.Stream) > 255 {
		return errors.New("http source: stream is " + strconv.Itoa(len(c.Stream)) + " bytes long (at most 255)")
	}
	_, err := Schema(c)
	return err
}

// listenAddress returns the address to bind ("" means
// DefaultListenAddress); one that is not host:port with a port number is
// an error naming listen.address.
func listenAddress(a string) (string, error) {
	if a == "" {
		return DefaultListenAddress, nil
	}
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", fmt.Errorf("http source: listen.address %q is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("http source: listen.address %q: the port must be a number from 0 to 65535", a)
	}
	return a, nil
}

// hmacHash returns the hash function of an hmac.algorithm ("" means
// DefaultHMACAlgorithm).
func hmacHash(alg string) (func() hash.Hash, error) {
	switch alg {
	case "", "sha256":
		return sha256.New, nil
	case "sha1":
		return sha1.New, nil
	case "sha512":
		return sha512.New, nil
	}
	return nil, fmt.Errorf("http source: hmac.algorithm %q: use sha256, sha1 or sha512", alg)
}

// isLoopback reports whether a listen address binds loopback interfaces
// only (127.0.0.0/8, ::1, localhost).
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
