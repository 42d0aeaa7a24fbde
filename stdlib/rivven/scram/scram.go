// Package scram implements the SCRAM-SHA-256 exchange (RFC 5802, RFC 7677)
// that rivvend uses for ScramClientFirst/ScramClientFinal: the client side for
// the broker client and the server side for the test double.
//
// Channel binding is not supported (gs2 header "n,,", c=biws), as rivvend.
// Passwords are used as their raw UTF-8 bytes: SASLprep is not applied, so
// passwords that SASLprep would change (non-ASCII compatibility characters)
// may not interoperate with a server that normalizes.
//
// A Client or ServerConversation is one exchange: not safe for concurrent use
// and not reusable. Errors never contain the password.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const (
	// MinIterations is the smallest iteration count a Client accepts (RFC 7677 §4).
	MinIterations = 4096
	// MaxIterations bounds the work a server can make a client do.
	MaxIterations = 10_000_000
	// Mechanism is the SASL mechanism name.
	Mechanism = "SCRAM-SHA-256"
)

// Errors of the exchange; test with errors.Is.
var (
	ErrMalformed       = errors.New("scram: malformed message")
	ErrNonceMismatch   = errors.New("scram: server nonce does not extend the client nonce")
	ErrIterations      = errors.New("scram: iteration count out of range")
	ErrServerSignature = errors.New("scram: server signature does not verify")
	ErrInvalidProof    = errors.New("scram: invalid client proof")
	ErrUnknownUser     = errors.New("scram: unknown user")
	ErrState           = errors.New("scram: message out of order")
)

// ServerError is an "e=<value>" server-final message.
type ServerError struct{ Value string }

// Error renders the server's error value.
func (e *ServerError) Error() string { return "scram: server error: " + e.Value }

// SaltedPassword is Hi(password, salt, i) = PBKDF2-HMAC-SHA-256, 32 bytes.
func SaltedPassword(password string, salt []byte, iterations int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// NewNonce returns 24 random bytes, base64 encoded (printable, no comma).
func NewNonce() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// EscapeName escapes a username as a saslname: "=" → "=3D", "," → "=2C".
func EscapeName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// UnescapeName reverses EscapeName; any other "=" sequence is malformed.
func UnescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ',':
			return "", ErrMalformed
		case s[i] != '=':
			b.WriteByte(s[i])
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
			i += 2
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
			i += 2
		default:
			return "", ErrMalformed
		}
	}
	return b.String(), nil
}

// attrs splits "k=v,k=v" into ordered pairs.
func attrs(msg string) ([][2]string, error) {
	var out [][2]string
	for _, part := range strings.Split(msg, ",") {
		if len(part) < 2 || part[1] != '=' {
			return nil, ErrMalformed
		}
		out = append(out, [2]string{part[:1], part[2:]})
	}
	return out, nil
}

// Client is the client side of one exchange.
type Client struct {
	user, password string
	nonce          string
	firstBare      string
	authMessage    string
	serverKey      []byte
	step           int

	// Derive, if set, replaces SaltedPassword (e.g. to cache the 600 000
	// iteration PBKDF2 rivvend uses by default across connections).
	Derive func(password string, salt []byte, iterations int) ([]byte, error)
}

// NewClient starts an exchange for user/password. An empty nonce picks a
// random one; a fixed nonce is for tests only.
func NewClient(user, password, nonce string) *Client {
	if nonce == "" {
		nonce = NewNonce()
	}
	return &Client{user: user, password: password, nonce: nonce}
}

// First returns the client-first-message "n,,n=<user>,r=<nonce>".
func (c *Client) First() []byte {
	c.firstBare = "n=" + EscapeName(c.user) + ",r=" + c.nonce
	c.step = 1
	return []byte("n,," + c.firstBare)
}

// Final checks the server-first-message and returns the client-final-message
// "c=biws,r=<nonce>,p=<proof>".
func (c *Client) Final(serverFirst []byte) ([]byte, error) {
	if c.step != 1 {
		return nil, ErrState
	}
	c.step = 2
	a, err := attrs(string(serverFirst))
	if err != nil || len(a) < 3 || a[0][0] != "r" || a[1][0] != "s" || a[2][0] != "i" {
		return nil, fmt.Errorf("%w: server-first", ErrMalformed)
	}
	nonce := a[0][1]
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return nil, ErrNonceMismatch
	}
	salt, err := base64.StdEncoding.DecodeString(a[1][1])
	if err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("%w: salt", ErrMalformed)
	}
	iter, err := strconv.Atoi(a[2][1])
	if err != nil {
		return nil, fmt.Errorf("%w: iteration count", ErrMalformed)
	}
	if iter < MinIterations || iter > MaxIterations {
		return nil, fmt.Errorf("%w: %d", ErrIterations, iter)
	}
	derive := c.Derive
	if derive == nil {
		derive = SaltedPassword
	}
	salted, err := derive(c.password, salt, iter)
	if err != nil {
		return nil, fmt.Errorf("scram: derive key: %w", err)
	}
	withoutProof := "c=biws,r=" + nonce
	c.authMessage = c.firstBare + "," + string(serverFirst) + "," + withoutProof
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	sig := hmacSHA256(storedKey[:], c.authMessage)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, sig)
	c.serverKey = hmacSHA256(salted, "Server Key")
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// Verify checks the server-final-message: "v=<signature>" must match, and
// "e=<error>" yields a *ServerError.
func (c *Client) Verify(serverFinal []byte) error {
	if c.step != 2 || c.serverKey == nil {
		return ErrState
	}
	c.step = 3
	msg := string(serverFinal)
	if v, ok := strings.CutPrefix(msg, "e="); ok {
		return &ServerError{Value: v}
	}
	v, ok := strings.CutPrefix(msg, "v=")
	if !ok {
		return fmt.Errorf("%w: server-final", ErrMalformed)
	}
	if i := strings.IndexByte(v, ','); i >= 0 { // extensions follow
		v = v[:i]
	}
	got, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return fmt.Errorf("%w: server signature", ErrMalformed)
	}
	if !hmac.Equal(got, hmacSHA256(c.serverKey, c.authMessage)) {
		return ErrServerSignature
	}
	return nil
}

// Credentials is what a server stores for a user (never the password).
type Credentials struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// NewCredentials derives stored credentials from a password.
func NewCredentials(password string, salt []byte, iterations int) (Credentials, error) {
	salted, err := SaltedPassword(password, salt, iterations)
	if err != nil {
		return Credentials{}, err
	}
	ck := hmacSHA256(salted, "Client Key")
	sk := sha256.Sum256(ck)
	return Credentials{Salt: salt, Iterations: iterations, StoredKey: sk[:], ServerKey: hmacSHA256(salted, "Server Key")}, nil
}

// ServerConversation is the server side of one exchange.
type ServerConversation struct {
	lookup      func(user string) (Credentials, bool)
	nonce       string
	user        string
	creds       Credentials
	known       bool
	firstBare   string
	serverFirst string
	step        int
}

// NewServer starts a server exchange. lookup returns a user's credentials;
// serverNonce "" picks a random one.
func NewServer(lookup func(user string) (Credentials, bool), serverNonce string) *ServerConversation {
	if serverNonce == "" {
		serverNonce = NewNonce()
	}
	return &ServerConversation{lookup: lookup, nonce: serverNonce}
}

// User is the username of the client-first-message (after First).
func (s *ServerConversation) User() string { return s.user }

// First parses the client-first-message and returns the server-first-message.
// An unknown user gets a decoy salt, and fails in Final.
func (s *ServerConversation) First(clientFirst []byte) ([]byte, error) {
	if s.step != 0 {
		return nil, ErrState
	}
	s.step = 1
	msg, ok := strings.CutPrefix(string(clientFirst), "n,,")
	if !ok {
		return nil, fmt.Errorf("%w: gs2 header (channel binding is not supported)", ErrMalformed)
	}
	a, err := attrs(msg)
	if err != nil || len(a) < 2 || a[0][0] != "n" || a[1][0] != "r" || a[1][1] == "" {
		return nil, fmt.Errorf("%w: client-first", ErrMalformed)
	}
	if s.user, err = UnescapeName(a[0][1]); err != nil {
		return nil, err
	}
	s.firstBare = msg
	s.creds, s.known = s.lookup(s.user)
	if !s.known {
		decoy := sha256.Sum256([]byte("decoy salt:" + s.user))
		s.creds = Credentials{Salt: decoy[:16], Iterations: MinIterations}
	}
	s.nonce = a[1][1] + s.nonce
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.creds.Salt) +
		",i=" + strconv.Itoa(s.creds.Iterations)
	return []byte(s.serverFirst), nil
}

// Final checks the client-final-message and returns the server-final-message
// "v=<signature>". On failure it returns ErrInvalidProof / ErrUnknownUser /
// ErrMalformed; the caller answers "e=…".
func (s *ServerConversation) Final(clientFinal []byte) ([]byte, error) {
	if s.step != 1 {
		return nil, ErrState
	}
	s.step = 2
	msg := string(clientFinal)
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, fmt.Errorf("%w: client-final", ErrMalformed)
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	a, err := attrs(withoutProof)
	if err != nil || len(a) < 2 || a[0] != [2]string{"c", "biws"} || a[1][0] != "r" {
		return nil, fmt.Errorf("%w: client-final", ErrMalformed)
	}
	if a[1][1] != s.nonce {
		return nil, ErrNonceMismatch
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return nil, fmt.Errorf("%w: proof", ErrMalformed)
	}
	if !s.known {
		return nil, ErrUnknownUser
	}
	authMessage := s.firstBare + "," + s.serverFirst + "," + withoutProof
	sig := hmacSHA256(s.creds.StoredKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	subtle.XORBytes(clientKey, proof, sig)
	stored := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(stored[:], s.creds.StoredKey) != 1 {
		return nil, ErrInvalidProof
	}
	return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSHA256(s.creds.ServerKey, authMessage))), nil
}
