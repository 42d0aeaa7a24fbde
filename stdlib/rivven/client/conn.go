package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// conn is one broker connection with its session. It carries one request at
// a time and is owned by whoever took it from the pool.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	addr   string
	isTLS  bool
	nextID uint32 // correlation ids 0, 1, 2, … as the reference client
	wbuf   []byte
	broken bool // a failure left the stream in an unknown state: close it

	authed         bool
	sessionExpires time.Time
}

// maxKeptWriteBuffer bounds the buffer a pooled connection keeps between requests.
const maxKeptWriteBuffer = 1 << 20

var pastDeadline = time.Unix(1, 0)

// roundTrip sends req and reads its reply. A broker Error reply is returned
// as an *Error (the connection stays usable); any other failure marks the
// connection broken.
func (cn *conn) roundTrip(ctx context.Context, op string, req wire.Request, redact func(string) string) (wire.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(op, err, false)
	}
	dl, _ := ctx.Deadline()
	cn.nc.SetDeadline(dl) // zero = none
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(pastDeadline) })
	defer stop()

	id := cn.nextID
	cn.nextID++
	b, err := wire.AppendFrame(cn.wbuf[:0], id, req)
	if err != nil {
		return nil, &Error{Code: CodeMessageTooLarge, Op: op, Message: "MESSAGE_TOO_LARGE: request exceeds the 10 MiB frame limit", Err: err}
	}
	if cap(b) <= maxKeptWriteBuffer {
		cn.wbuf = b
	} else {
		cn.wbuf = nil
	}
	n, err := cn.nc.Write(b)
	if err != nil {
		cn.broken = true
		return nil, cn.ioError(ctx, op, err, n > 0)
	}
	f, err := wire.ReadFrame(cn.br)
	if err != nil {
		cn.broken = true
		if errors.Is(err, wire.ErrFrameTooLarge) || errors.Is(err, wire.ErrFrameTooShort) || errors.Is(err, wire.ErrUnknownFormat) {
			return nil, &Error{Code: CodeProtocol, Op: op, Message: "bad reply frame", InDoubt: true, Err: err}
		}
		return nil, cn.ioError(ctx, op, err, true)
	}
	resp, decErr := wire.DecodeResponse(f.Payload)
	if f.CorrelationID != id {
		cn.broken = true
		if e, ok := resp.(*wire.ErrorResponse); ok && decErr == nil {
			// rivvend answers errors it cannot attribute (bad frame,
			// oversize request) with correlation id 0, then closes.
			return nil, brokerError(op, e.Message, redact)
		}
		return nil, &Error{Code: CodeProtocol, Op: op, InDoubt: true,
			Message: fmt.Sprintf("reply has correlation id %d, want %d; connection closed", f.CorrelationID, id)}
	}
	if decErr != nil {
		cn.broken = true
		return nil, &Error{Code: CodeProtocol, Op: op, Message: "undecodable reply", InDoubt: true, Err: decErr}
	}
	if e, ok := resp.(*wire.ErrorResponse); ok {
		return nil, brokerError(op, e.Message, redact)
	}
	return resp, nil
}

func (cn *conn) ioError(ctx context.Context, op string, err error, inDoubt bool) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxError(op, ctxErr, inDoubt)
	}
	// The socket deadline (set from ctx) can fire before ctx's own timer.
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return ctxError(op, context.DeadlineExceeded, inDoubt)
	}
	return &Error{Code: CodeConnection, Op: op, Message: "connection to " + cn.addr + " failed", InDoubt: inDoubt, Err: err}
}

func ctxError(op string, err error, inDoubt bool) error {
	code := CodeCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = CodeTimeout
	}
	return &Error{Code: code, Op: op, Message: "request " + string(code), InDoubt: inDoubt, Err: err}
}

func brokerError(op, msg string, redact func(string) string) *Error {
	msg = redact(msg)
	return &Error{Code: ParseCode(msg), Op: op, Message: msg}
}

func unexpected(op string, resp wire.Response) error {
	return &Error{Code: CodeProtocol, Op: op, Message: fmt.Sprintf("unexpected reply %v", resp.Kind())}
}

func (cn *conn) close() { cn.nc.Close() }

// stale reports whether an idle connection was closed by the broker (rivvend
// drops connections idle for 120 s) or, in plaintext, sent something
// unsolicited. Checking before use keeps a publish from being written into
// a dead socket and then reported in doubt.
func (cn *conn) stale() bool {
	if cn.br.Buffered() > 0 {
		return true
	}
	nc := cn.nc
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	closed, data := peekSocket(nc)
	// On TLS, unread bytes may be a post-handshake message (session ticket).
	return closed || (data && !cn.isTLS)
}

// dialOne opens, secures and sets up (Handshake + authentication) one
// connection to addr within ConnectionTimeout.
func (c *Client) dialOne(parent context.Context, addr string) (*conn, error) {
	ctx, cancel := context.WithTimeout(parent, c.cfg.ConnectionTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if perr := parent.Err(); perr != nil {
			return nil, ctxError("dial "+addr, perr, false)
		}
		return nil, &Error{Code: CodeConnection, Op: "dial " + addr, Message: "cannot connect", Err: err}
	}
	cn := &conn{nc: nc, addr: addr}
	if c.tlsConf != nil {
		tc := c.tlsConf
		if tc.ServerName == "" {
			tc = tc.Clone()
			tc.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			code := CodeConnection
			var verr *tls.CertificateVerificationError
			if errors.As(err, &verr) {
				code = CodeConfig // retrying cannot fix an untrusted certificate
			}
			return nil, &Error{Code: code, Op: "dial " + addr, Message: "TLS handshake failed", Err: err}
		}
		cn.nc, cn.isTLS = tlsConn, true
	}
	cn.br = bufio.NewReaderSize(cn.nc, 64<<10)
	if err := c.setup(ctx, cn); err != nil {
		cn.close()
		return nil, err
	}
	return cn, nil
}

// setup sends Handshake, authenticates when credentials are configured, and
// repeats the Handshake if the broker refused it before authentication (the
// reference client tolerates that refusal).
func (c *Client) setup(ctx context.Context, cn *conn) error {
	hs := &wire.Handshake{ProtocolVersion: wire.ProtocolVersion, ClientID: c.cfg.ClientID}
	resp, err := cn.roundTrip(ctx, "Handshake", hs, c.redact)
	if err != nil && errors.Is(err, ErrAuthenticationRequired) && !cn.broken {
		if c.cfg.Auth.Username == "" {
			return &Error{Code: CodeAuthenticationRequired, Op: "Handshake with " + cn.addr,
				Message: "the broker requires authentication and no credentials are configured"}
		}
		if err := c.authenticate(ctx, cn); err != nil {
			return err
		}
		resp, err = cn.roundTrip(ctx, "Handshake", hs, c.redact)
	}
	if err != nil {
		return err
	}
	hr, ok := resp.(*wire.HandshakeResult)
	if !ok {
		return unexpected("Handshake", resp)
	}
	if !hr.Compatible {
		return &Error{Code: CodeVersionMismatch, Op: "Handshake with " + cn.addr, Message: hr.Message}
	}
	c.serverVersion.Store(uint64(hr.ServerVersion) | 1<<32)
	if c.cfg.Auth.Username != "" && !cn.authed {
		return c.authenticate(ctx, cn)
	}
	return nil
}
