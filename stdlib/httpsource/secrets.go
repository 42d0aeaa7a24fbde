package httpsource

import (
	"net/url"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// credentialParams are the query parameter names (lower case) whose values
// are credentials: messages show them as <secret>, the source's own are
// secrets it keeps out of positions, and a Link URL that carries one of
// another value cannot be a position.
var credentialParams = map[string]bool{
	"access_token": true, "api_key": true, "apikey": true, "api-key": true, "key": true,
	"password": true, "passwd": true, "secret": true, "client_secret": true, "token": true,
	"auth": true, "authorization": true, "signature": true, "sig": true,
	"x-amz-signature": true, "x-amz-credential": true, "x-amz-security-token": true,
}

func isCredentialParam(name string) bool { return credentialParams[strings.ToLower(name)] }

// isCredentialHeader reports whether a header's value is a credential:
// Authorization, Proxy-Authorization, Cookie, or a name that says key,
// token, secret, signature, password, session or auth.
func isCredentialHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, w := range []string{"key", "token", "secret", "signature", "password", "session", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// secretsOf lists the credentials of c: the password, the bearer token,
// the client secret, the HMAC secret, the values of credential-like headers and URL query
// parameters, and a password in the URL.
func secretsOf(c Config) []string {
	out := []string{c.Auth.Basic.Password, c.Auth.Bearer.Token, c.Auth.OAuth2.ClientSecret, c.HMAC.Secret}
	for _, h := range c.Headers {
		if isCredentialHeader(h.Name) {
			out = append(out, h.Value)
			if i := strings.IndexByte(h.Value, ' '); i > 0 { // "Bearer abc", "Token abc"
				out = append(out, h.Value[i+1:])
			}
		}
	}
	for _, raw := range []string{c.URL, c.Auth.OAuth2.TokenURL} {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
		for k, vs := range u.Query() {
			if isCredentialParam(k) {
				out = append(out, vs...)
			}
		}
	}
	var kept []string
	for _, s := range out {
		if len(s) >= runtime.MinSecretLen {
			kept = append(kept, s, url.QueryEscape(s))
		}
	}
	return kept
}

// holdsSecret reports whether text contains one of secrets.
func holdsSecret(text string, secrets []string) bool {
	for _, s := range secrets {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// shownURL renders u for messages: without user information, with the
// values of credential-like query parameters as <secret>.
func shownURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); err == nil && isCredentialParam(name) {
				parts[i] = k + "=" + runtime.SecretMask
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return c.String()
}
