package httpsink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"

	"github.com/rivven/rivven-connect/runtime"
)

// Probe implements runtime.Prober (`check --connect`): it sends the HEAD
// request of Open and reports the connection (plain HTTP or the TLS version,
// and whether the server's certificate was verified) and what the answer
// says of the URL and the credentials. It writes nothing. A TLS failure is
// a failed finding; a server that cannot be reached at all is the error.
func (s *Sink) Probe(ctx context.Context) ([]runtime.Finding, error) {
	resp, err := s.head(ctx)
	if err != nil {
		f := s.classifyErr(err, ctx)
		if f.tls {
			return []runtime.Finding{{Check: "tls", Level: runtime.FindingFail, Detail: s.target + ": " + f.text}}, nil
		}
		return nil, fmt.Errorf("http sink: cannot reach %s: %s", s.target, f.text)
	}
	defer resp.Body.Close()
	return []runtime.Finding{s.connection(resp), s.answer(resp)}, nil
}

// connection is the finding about the connection resp came over.
func (s *Sink) connection(resp *http.Response) runtime.Finding {
	f := runtime.Finding{Check: "connection", Level: runtime.FindingOK}
	hasAuth := s.cfg.Auth.Basic != (Basic{}) || s.cfg.Auth.Bearer.Token != ""
	if resp.TLS == nil {
		f.Detail = s.target + ": plain HTTP, no TLS"
		if hasAuth {
			f.Level = runtime.FindingWarn
			f.Detail += ": the credentials and the records travel unencrypted (use https)"
		}
		return f
	}
	cs := resp.TLS
	f.Detail = fmt.Sprintf("%s: %s, %s", s.target, resp.Proto, tls.VersionName(cs.Version))
	switch {
	case s.cfg.TLS.InsecureSkipVerify:
		f.Level = runtime.FindingWarn
		f.Detail += ", the server's certificate is NOT verified (tls.insecure_skip_verify): anyone on the path can read and change the records"
	case len(cs.PeerCertificates) > 0:
		c := cs.PeerCertificates[0]
		name := c.Subject.CommonName
		if name == "" && len(c.DNSNames) > 0 {
			name = c.DNSNames[0]
		}
		f.Detail += fmt.Sprintf(", server certificate %q verified (issued by %q, valid until %s)", name, c.Issuer.CommonName, c.NotAfter.UTC().Format("2006-01-02"))
	}
	if s.cfg.TLS.CertPath != "" {
		f.Detail += ", client certificate sent (" + s.cfg.TLS.CertPath + ")"
	}
	return f
}

// answer is the finding about the status of the HEAD request.
func (s *Sink) answer(resp *http.Response) runtime.Finding {
	f := runtime.Finding{Check: "endpoint", Level: runtime.FindingOK}
	code := resp.StatusCode
	head := "HEAD answered " + statusText(code)
	auth := "auth.basic"
	if s.cfg.Auth.Bearer.Token != "" {
		auth = "auth.bearer"
	}
	hasAuth := s.cfg.Auth.Basic != (Basic{}) || s.cfg.Auth.Bearer.Token != ""
	switch {
	case code == http.StatusUnauthorized && hasAuth:
		f.Level, f.Detail = runtime.FindingFail, head+": the server refused the credentials of "+auth
	case code == http.StatusUnauthorized:
		f.Level, f.Detail = runtime.FindingFail, head+": the server wants credentials: set auth"
	case code == http.StatusProxyAuthRequired:
		f.Level, f.Detail = runtime.FindingFail, head+": the proxy (HTTPS_PROXY, HTTP_PROXY) wants credentials"
	case code == http.StatusForbidden:
		f.Level, f.Detail = runtime.FindingWarn, head+": the credentials may not be allowed to write here (or the server refuses HEAD alone)"
	case code == http.StatusNotFound:
		f.Level, f.Detail = runtime.FindingWarn, head+": check the url's path (a server may also answer 404 to HEAD on a path that takes only "+s.cfg.Method+")"
	case code >= 300 && code <= 399:
		f.Level, f.Detail = runtime.FindingWarn, head+": the sink does not follow redirects; set url to the address it redirects to"
		if loc := resp.Header.Get("Location"); loc != "" && !s.cfg.HideURL {
			f.Detail += " (" + s.scrub(stripQuery(loc)) + ")"
		}
	case code >= 500:
		f.Level, f.Detail = runtime.FindingWarn, head+": the server is up but failing; requests would be retried"
	default:
		f.Detail = head + ": the server answers"
		if hasAuth {
			f.Detail += " and did not refuse the credentials of " + auth
		}
	}
	return f
}

// readFile reads a file a key names, saying which key when it cannot.
func readFile(key, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read %s: %v", key, path, err)
	}
	return b, nil
}
