package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/scram"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// sessionMargin re-authenticates this long before the broker's session expiry.
const sessionMargin = 30 * time.Second

// authenticate opens a session on cn with the configured mechanism. Errors
// name the user and the mechanism, never the password.
func (c *Client) authenticate(ctx context.Context, cn *conn) error {
	a := c.cfg.Auth
	op := fmt.Sprintf("authenticate user %q with %s", a.Username, a.Mechanism)
	var expiresIn uint64
	switch a.Mechanism {
	case MechanismPlain:
		if !cn.isTLS {
			return &Error{Code: CodePlaintextAuthRequiresTLS, Op: op,
				Message: "refusing to send a password over a connection that is not TLS"}
		}
		resp, err := cn.roundTrip(ctx, op, &wire.Authenticate{Username: a.Username, Password: string(a.Password), RequireTLS: true}, c.redact)
		if err != nil {
			return err
		}
		ok, isOK := resp.(*wire.Authenticated)
		if !isOK {
			return unexpected(op, resp)
		}
		expiresIn = ok.ExpiresIn
	default:
		sc := scram.NewClient(a.Username, string(a.Password), c.scramNonce())
		sc.Derive = c.keys.derive
		resp, err := cn.roundTrip(ctx, op, &wire.ScramClientFirst{Message: sc.First()}, c.redact)
		if err != nil {
			return err
		}
		first, ok := resp.(*wire.ScramServerFirst)
		if !ok {
			return unexpected(op, resp)
		}
		final, err := sc.Final(first.Message)
		if err != nil {
			cn.broken = true // the server expects a client-final we will not send
			return &Error{Code: CodeAuthenticationFailed, Op: op, Message: "bad SCRAM server-first message", Err: err}
		}
		resp, err = cn.roundTrip(ctx, op, &wire.ScramClientFinal{Message: final}, c.redact)
		if err != nil {
			return err
		}
		fin, ok := resp.(*wire.ScramServerFinal)
		if !ok {
			return unexpected(op, resp)
		}
		if err := sc.Verify(fin.Message); err != nil {
			var se *scram.ServerError
			if errors.As(err, &se) {
				return &Error{Code: CodeAuthenticationFailed, Op: op, Message: "AUTHENTICATION_FAILED: server refused the credentials: " + c.redact(se.Value)}
			}
			cn.broken = true
			return &Error{Code: CodeAuthenticationFailed, Op: op, Message: "the broker's SCRAM signature does not verify (wrong server or tampering)", Err: err}
		}
		expiresIn = fin.ExpiresIn.Or(0)
	}
	cn.authed = true
	cn.sessionExpires = time.Time{}
	if expiresIn > 0 {
		cn.sessionExpires = time.Now().Add(time.Duration(expiresIn) * time.Second)
	}
	c.cfg.Logger.Debug("rivven: authenticated", "addr", cn.addr, "user", a.Username, "mechanism", string(a.Mechanism))
	return nil
}

// needsReauth reports whether cn's session is about to expire.
func (cn *conn) needsReauth(now time.Time) bool {
	return cn.authed && !cn.sessionExpires.IsZero() && now.After(cn.sessionExpires.Add(-sessionMargin))
}

// redact removes the configured password from text that came from outside
// (broker messages), so no error can carry it.
func (c *Client) redact(s string) string {
	if p := string(c.cfg.Auth.Password); p != "" && strings.Contains(s, p) {
		return strings.ReplaceAll(s, p, redacted)
	}
	return s
}

// keyCache keeps the last SCRAM salted password so that reconnecting does not
// redo PBKDF2 (600 000 iterations on a default rivvend) per connection.
type keyCache struct {
	mu     sync.Mutex
	salt   string
	iter   int
	salted []byte
}

func (k *keyCache) derive(password string, salt []byte, iter int) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.salted != nil && k.salt == string(salt) && k.iter == iter {
		return k.salted, nil
	}
	s, err := scram.SaltedPassword(password, salt, iter)
	if err != nil {
		return nil, err
	}
	k.salt, k.iter, k.salted = string(salt), iter, s
	return s, nil
}
