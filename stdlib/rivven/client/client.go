package client

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Client talks to rivvend over a small pool of connections.
//
// Concurrency: all methods are safe for concurrent use. Each connection
// carries one request at a time (no pipelining); up to Config.PoolSize
// requests run in parallel, further calls wait for a free connection (or
// their context). Connections are dialed lazily, each runs its own Handshake
// and authentication, and a connection that failed in any way is closed and
// replaced on next use.
//
// Retries: a request that failed before it was written, or that the broker
// refused with a retriable code, is retried with backoff. A request whose
// outcome is unknown (sent, no reply) is resent only when resending is
// harmless: reads, CommitOffset, InitProducerId and IdempotentPublishBatch
// (the broker deduplicates the sequence). Publish/PublishBatch/CreateTopic
// return the error with InDoubt set instead, so a caller never gets a
// duplicate it did not ask for.
//
// Lifecycle: New validates the config; Close closes every connection and
// makes later calls fail with ErrClosed.
type Client struct {
	cfg     Config
	tlsConf *tls.Config
	keys    keyCache
	nonce   func() string // SCRAM client nonce; nil = random (tests override)

	slots chan struct{} // one token per connection allowed
	done  chan struct{} // closed by Close

	up            atomic.Bool   // the last dial or request reached a broker
	serverVersion atomic.Uint64 // 1<<32 | the protocol version of the last handshake; 0 = none yet

	mu     sync.Mutex
	idle   []*conn
	inUse  map[*conn]struct{}
	closed bool
}

// New checks cfg and returns a Client. It does not connect; the first
// request does (use Dial to connect eagerly). cfg is copied.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tc, err := cfg.TLS.tlsConfig()
	if err != nil {
		return nil, err
	}
	cfg.BootstrapServers = append([]string(nil), cfg.BootstrapServers...)
	return &Client{
		cfg: cfg, tlsConf: tc,
		slots: make(chan struct{}, cfg.PoolSize),
		done:  make(chan struct{}),
		inUse: map[*conn]struct{}{},
	}, nil
}

// Dial is New followed by opening one connection (Handshake and
// authentication included), so configuration and credential errors surface
// at once.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Connected reports whether the client's last connection attempt or
// request reached a broker (false before the first one, after a failed
// dial or a broken connection, and after Close). Safe for concurrent use.
func (c *Client) Connected() bool {
	select {
	case <-c.done:
		return false
	default:
	}
	return c.up.Load()
}

// ServerVersion returns the protocol version the broker announced in the
// last completed Handshake; ok is false before the first one.
func (c *Client) ServerVersion() (version uint32, ok bool) {
	v := c.serverVersion.Load()
	return uint32(v), v != 0
}

// Close closes all connections, interrupting requests in flight. It is
// idempotent and always returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.done)
	for _, cn := range c.idle {
		cn.close()
	}
	c.idle = nil
	for cn := range c.inUse {
		cn.close()
	}
	return nil
}

func (c *Client) scramNonce() string {
	if c.nonce != nil {
		return c.nonce()
	}
	return ""
}

var errClosed = &Error{Code: CodeClosed, Message: "client is closed"}

// acquire takes a pool slot and returns an idle connection or a new one.
func (c *Client) acquire(ctx context.Context, op string) (*conn, error) {
	select {
	case c.slots <- struct{}{}:
	case <-c.done:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctxError(op, ctx.Err(), false)
	}
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			<-c.slots
			return nil, errClosed
		}
		var cn *conn
		if n := len(c.idle); n > 0 {
			cn, c.idle = c.idle[n-1], c.idle[:n-1]
			c.inUse[cn] = struct{}{}
		}
		c.mu.Unlock()
		if cn == nil {
			break
		}
		if !cn.stale() {
			if !cn.needsReauth(time.Now()) {
				return cn, nil
			}
			if err := c.authenticate(ctx, cn); err == nil {
				return cn, nil
			}
		}
		c.drop(cn) // keep the slot; try another connection, or dial
	}
	cn, err := c.connect(ctx)
	if err != nil {
		<-c.slots
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.close()
		<-c.slots
		return nil, errClosed
	}
	c.inUse[cn] = struct{}{}
	c.mu.Unlock()
	return cn, nil
}

// release returns cn to the pool, or closes it if it is broken.
func (c *Client) release(cn *conn) {
	if cn.broken {
		c.discard(cn)
		return
	}
	c.mu.Lock()
	delete(c.inUse, cn)
	if c.closed {
		cn.close()
	} else {
		c.idle = append(c.idle, cn)
	}
	c.mu.Unlock()
	<-c.slots
}

// discard closes cn and frees its slot.
func (c *Client) discard(cn *conn) {
	c.drop(cn)
	<-c.slots
}

// drop closes cn and forgets it, keeping its slot.
func (c *Client) drop(cn *conn) {
	cn.close()
	c.mu.Lock()
	delete(c.inUse, cn)
	c.mu.Unlock()
}

// connect dials the bootstrap servers in order until one answers, backing
// off exponentially between rounds. Errors that another try cannot fix
// (authentication, version, TLS trust) stop it at once.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	var last error
	for attempt := 0; ; attempt++ {
		for _, addr := range c.cfg.BootstrapServers {
			cn, err := c.dialOne(ctx, addr)
			c.up.Store(err == nil)
			if err == nil {
				if attempt > 0 {
					c.cfg.Logger.Info("rivven: reconnected", "addr", addr, "attempt", attempt)
				}
				return cn, nil
			}
			last = err
			if !IsRetriable(err) {
				return nil, err
			}
			c.cfg.Logger.Warn("rivven: connect failed", "addr", addr, "attempt", attempt, "error", err.Error())
			if ctx.Err() != nil {
				return nil, ctxError("connect", ctx.Err(), false)
			}
		}
		if attempt >= c.cfg.Retry.MaxRetries {
			return nil, last
		}
		if err := c.sleep(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// backoff returns the wait before retry number attempt (0-based), with
// jitter in [d/2, d].
func (c *Client) backoff(attempt int) time.Duration {
	r := c.cfg.Retry
	d := float64(r.InitialBackoff) * math.Pow(r.Multiplier, float64(attempt))
	d = min(d, float64(r.MaxBackoff))
	return time.Duration(d/2 + rand.Float64()*d/2)
}

func (c *Client) sleep(ctx context.Context, attempt int) error {
	t := time.NewTimer(c.backoff(attempt))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.done:
		return errClosed
	case <-ctx.Done():
		return ctxError("backoff", ctx.Err(), false)
	}
}

// withTimeout applies RequestTimeout (plus extra) when ctx has no deadline.
func (c *Client) withTimeout(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.RequestTimeout+extra)
}

// do sends req and returns the reply, with the retry rules in the Client doc.
// resendable says whether a request with an unknown outcome may be sent again.
func (c *Client) do(ctx context.Context, req wire.Request, resendable bool, extra time.Duration) (wire.Response, error) {
	ctx, cancel := c.withTimeout(ctx, extra)
	defer cancel()
	op := req.Kind().String()
	for attempt := 0; ; attempt++ {
		cn, err := c.acquire(ctx, op)
		if err != nil {
			return nil, err // connect already retried with backoff
		}
		resp, err := cn.roundTrip(ctx, op, req, c.redact)
		c.up.Store(!cn.broken)
		if err != nil && !cn.broken && c.cfg.Auth.Username != "" &&
			(errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrInvalidSession) || errors.Is(err, ErrAuthenticationRequired)) {
			// The broker refused (did not apply) the request: log in again
			// on this connection and resend once.
			cn.authed = false
			if aerr := c.authenticate(ctx, cn); aerr != nil {
				err = aerr
			} else {
				resp, err = cn.roundTrip(ctx, op, req, c.redact)
			}
		}
		c.release(cn)
		if err == nil {
			return resp, nil
		}
		var e *Error
		if !errors.As(err, &e) || !e.Retriable() || (e.InDoubt && !resendable) ||
			attempt >= c.cfg.Retry.MaxRetries || ctx.Err() != nil {
			return nil, err
		}
		c.cfg.Logger.Debug("rivven: retrying", "op", op, "attempt", attempt+1, "error", err.Error())
		if serr := c.sleep(ctx, attempt); serr != nil {
			return nil, err
		}
	}
}
