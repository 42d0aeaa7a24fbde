package httpsource

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
)

// incomingAuth checks the credentials of webhook requests: HTTP basic
// (basic set) or a bearer token. It keeps SHA-256 digests of the expected
// values and compares digests in constant time, so neither the values nor
// their lengths leak through timing.
type incomingAuth struct {
	basic      bool
	user, pass [sha256.Size]byte // basic
	token      [sha256.Size]byte // bearer
}

// newIncomingAuth returns the check of a (basic or bearer), nil when a
// sets neither.
func newIncomingAuth(a Auth) *incomingAuth {
	switch {
	case a.Basic != (Basic{}):
		return &incomingAuth{basic: true, user: sha256.Sum256([]byte(a.Basic.Username)), pass: sha256.Sum256([]byte(a.Basic.Password))}
	case a.Bearer.Token != "":
		return &incomingAuth{token: sha256.Sum256([]byte(a.Bearer.Token))}
	}
	return nil
}

func (a *incomingAuth) method() string {
	if a.basic {
		return "auth.basic"
	}
	return "auth.bearer"
}

// check reports whether r carries the expected credentials.
func (a *incomingAuth) check(r *http.Request) bool {
	if a.basic {
		u, p, ok := r.BasicAuth()
		gu, gp := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		userOK := subtle.ConstantTimeCompare(gu[:], a.user[:])
		passOK := subtle.ConstantTimeCompare(gp[:], a.pass[:])
		return ok && userOK&passOK == 1
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	g := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(g[:], a.token[:]) == 1
}

// signer checks the HMAC signature of a request's body.
type signer struct {
	key    []byte
	hash   func() hash.Hash
	header string
	prefix string
	base64 bool
}

func newSigner(h HMAC) *signer {
	fn, _ := hmacHash(h.Algorithm) // Validate checked it
	return &signer{key: []byte(h.Secret), hash: fn, header: orDefault(h.Header, DefaultHMACHeader),
		prefix: h.Prefix, base64: h.Encoding == "base64"}
}

// verify returns "" when header (the signature header's value) is the
// prefix followed by the body's HMAC, else why not (never the expected
// signature). The comparison takes constant time.
func (s *signer) verify(header string, body []byte) string {
	if header == "" {
		return "the signature header " + s.header + " is missing"
	}
	sig, ok := strings.CutPrefix(strings.TrimSpace(header), s.prefix)
	if !ok {
		return "the signature in " + s.header + " does not start with hmac.prefix " + strconv.Quote(s.prefix)
	}
	var got []byte
	var err error
	if s.base64 {
		got, err = base64.StdEncoding.DecodeString(sig)
	} else {
		got, err = hex.DecodeString(sig)
	}
	if err != nil {
		enc := "hex"
		if s.base64 {
			enc = "base64"
		}
		return "the signature in " + s.header + " is not " + enc
	}
	mac := hmac.New(s.hash, s.key)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "the signature in " + s.header + " does not match the body (check hmac.secret and hmac.algorithm)"
	}
	return ""
}
