package httpsink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// failure says why a request got no answer.
type failure struct {
	text  string // what happened, without addresses or the URL
	retry bool   // retrying may help
	tls   bool   // a TLS problem (certificate, handshake)
}

// classifyErr describes err, an error of the HTTP client, for messages: it
// names the cause (a refused connection, an untrusted certificate, …) and
// what to change, but no address, since the URL may be a secret. ctx is
// the Write's (or Open's) context: when it ended, the run was stopped.
func (s *Sink) classifyErr(err error, ctx context.Context) failure {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil {
		return failure{text: "stopped: " + ctx.Err().Error()}
	}
	if f, ok := s.tlsFailure(err); ok {
		return f
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return failure{text: fmt.Sprintf("no answer within %d ms (timeout_ms)", s.cfg.TimeoutMs), retry: true}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return failure{text: "the url's host name is unknown (DNS: no such host)", retry: true}
		}
		return failure{text: "the url's host name could not be resolved (DNS: " + dns.Err + ")", retry: true}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch {
		case errors.Is(errno, syscall.ECONNREFUSED):
			return failure{text: "connection refused (is the server running and accepting connections at the url's host and port?)", retry: true}
		case errors.Is(errno, syscall.ECONNRESET):
			return failure{text: "the server reset the connection", retry: true}
		case errors.Is(errno, syscall.EPIPE):
			return failure{text: "the server closed the connection while the request was being sent", retry: true}
		case errors.Is(errno, syscall.EHOSTUNREACH), errors.Is(errno, syscall.ENETUNREACH):
			return failure{text: "the url's host is unreachable (" + errno.Error() + ")", retry: true}
		}
		return failure{text: "connection failed: " + errno.Error(), retry: true}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return failure{text: "the server closed the connection before it answered", retry: true}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return failure{text: "connection failed: " + s.scrub(op.Err.Error()), retry: true}
	}
	return failure{text: s.scrub(err.Error()), retry: true}
}

// tlsFailure recognises the TLS failures of err, which retrying cannot
// fix, and says what to configure.
func (s *Sink) tlsFailure(err error) (failure, bool) {
	t := s.cfg.TLS
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		rh  tls.RecordHeaderError
		op  *net.OpError
		cve *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &ua):
		text := "TLS: the server's certificate is signed by an authority this sink does not trust: set tls.ca_path to the CA certificate (PEM) that signed it"
		if t.CAPath != "" {
			text = "TLS: the server's certificate is not signed by a CA of tls.ca_path (" + t.CAPath + ")"
		}
		return failure{text: text, tls: true}, true
	case errors.As(err, &he):
		names := he.Certificate.DNSNames
		text := "TLS: the server's certificate is not valid for the url's host"
		if t.ServerName != "" {
			text = "TLS: the server's certificate is not valid for tls.server_name"
		}
		switch {
		case len(names) > 0 && t.ServerName != "":
			text += fmt.Sprintf(" (it names %s): set tls.server_name to one of those names", strings.Join(names, ", "))
		case len(names) > 0 && !s.cfg.HideURL:
			text += fmt.Sprintf(" (it names %s): use one of those names in the url, or set tls.server_name to one", strings.Join(names, ", "))
		}
		return failure{text: text, tls: true}, true
	case errors.As(err, &ci):
		return failure{text: "TLS: the server's certificate is not valid: " + ci.Error(), tls: true}, true
	case errors.As(err, &cve):
		return failure{text: "TLS: the server's certificate could not be verified: " + cve.Err.Error(), tls: true}, true
	case errors.As(err, &rh):
		return failure{text: "TLS: the server did not answer in TLS (is the url http:// rather than https://?)", tls: true}, true
	case errors.As(err, &op) && op.Op == "remote error":
		text := "TLS: the server refused the handshake (" + op.Err.Error() + ")"
		if strings.Contains(op.Err.Error(), "certificate") {
			if t.CertPath == "" {
				text += ": it wants a client certificate: set tls.cert_path and tls.key_path"
			} else {
				text += ": it did not accept the client certificate of tls.cert_path (" + t.CertPath + ")"
			}
		}
		return failure{text: text, tls: true}, true
	case err.Error() == "http: server gave HTTP response to HTTPS client":
		return failure{text: "TLS: the server answered in plain HTTP: the url should start with http://", tls: true}, true
	}
	return failure{}, false
}

// tlsConfig builds the TLS configuration of t, loading its files.
func tlsConfig(t TLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAPath != "" {
		pem, err := readFile("tls.ca_path", t.CAPath)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_path %s holds no PEM certificate", t.CAPath)
		}
		c.RootCAs = pool
	}
	if t.CertPath != "" {
		cert, err := readFile("tls.cert_path", t.CertPath)
		if err != nil {
			return nil, err
		}
		key, err := readFile("tls.key_path", t.KeyPath)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_path %s and tls.key_path %s are not a certificate and its private key (PEM): %v", t.CertPath, t.KeyPath, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// canonical is the canonical form of a header name.
func canonical(name string) string { return http.CanonicalHeaderKey(name) }
