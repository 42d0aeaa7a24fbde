package brokertest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/scram"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Config configures a Server. The zero value is an unauthenticated, plaintext
// server with rivvend's defaults.
type Config struct {
	// Users maps usernames to passwords, for both SCRAM-SHA-256 and plain auth.
	Users map[string]string
	// RequireAuth refuses every request except authentication and Ping on an
	// unauthenticated connection, as rivvend does by default.
	RequireAuth bool
	// TLS, when set, makes every connection TLS (same port, like rivvend).
	TLS *tls.Config
	// ScramIterations is the PBKDF2 iteration count (default 4096, the RFC
	// 7677 minimum; rivvend uses 600 000, too slow for tests).
	ScramIterations int
	// DefaultPartitions is used by CreateTopic without a count and by
	// auto-creation on publish (default 3).
	DefaultPartitions uint32
	// DisableAutoCreate makes publishing to an unknown topic an error.
	DisableAutoCreate bool
	// ServerVersion is the protocol version announced (default 2).
	ServerVersion uint32
	// SessionTTL is the session lifetime reported to clients (default 1 h).
	SessionTTL time.Duration
	// Now is the clock for record timestamps (default time.Now).
	Now func() time.Time
	// DiscardRecords keeps offsets but drops record contents at once, as if
	// retention removed them (for benchmarks that publish a lot).
	DiscardRecords bool
	// Fault, if set, is consulted for every decoded request.
	Fault FaultFunc
	// GroupRebalanceDelay is the least time a consumer group's join phase
	// lasts, so that members starting together land in one generation
	// (default 20 ms; see the group coordinator in the package doc).
	GroupRebalanceDelay time.Duration
	// RivvendGroupTiming makes the group coordinator time rebalances as
	// rivvend 0.0.22 does: JoinGroup is answered at once with the members
	// known so far, (re)joining or leaving a stable group bumps the
	// generation (its other members see ILLEGAL_GENERATION), and SyncGroup
	// waits for the leader's. The default is Kafka's join barrier.
	RivvendGroupTiming bool
}

// Stats counts what the server saw.
type Stats struct {
	Connections uint64 // accepted connections
	Requests    uint64 // decoded requests
}

// Server is a running test double. Stop it with Close.
type Server struct {
	cfg   Config
	ln    net.Listener
	creds map[string]scram.Credentials

	fault      atomic.Pointer[FaultFunc]
	sessionGen atomic.Uint64
	connCount  atomic.Uint64
	reqCount   atomic.Uint64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	done   chan struct{}

	st     store
	groups coordinator
}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.ScramIterations == 0 {
		cfg.ScramIterations = scram.MinIterations
	}
	if cfg.DefaultPartitions == 0 {
		cfg.DefaultPartitions = 3
	}
	if cfg.ServerVersion == 0 {
		cfg.ServerVersion = wire.ProtocolVersion
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, creds: map[string]scram.Credentials{}, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	for u, p := range cfg.Users {
		cr, err := scram.NewCredentials(p, []byte("brokertest-salt:"+u), cfg.ScramIterations)
		if err != nil {
			return nil, err
		}
		s.creds[u] = cr
	}
	s.st.init(cfg)
	if cfg.GroupRebalanceDelay == 0 {
		cfg.GroupRebalanceDelay = 20 * time.Millisecond
	}
	s.groups.init(cfg.GroupRebalanceDelay, cfg.RivvendGroupTiming, s.done)
	if cfg.Fault != nil {
		s.SetFault(cfg.Fault)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is the listener's "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetFault replaces the fault hook (nil removes it).
func (s *Server) SetFault(f FaultFunc) {
	if f == nil {
		s.fault.Store(nil)
		return
	}
	s.fault.Store(&f)
}

// ExpireSessions makes every current session expired: the next request of an
// authenticated connection is answered "SESSION_EXPIRED: Please re-authenticate".
func (s *Server) ExpireSessions() { s.sessionGen.Add(1) }

// DropConnections closes every open connection (the listener stays open).
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Stats returns counters since Start.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.connCount.Load(), Requests: s.reqCount.Load()}
}

// Close stops the listener, closes all connections and waits for their
// goroutines. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		id := s.connCount.Add(1)
		go s.serve(c, id)
	}
}

// session is one connection's state.
type session struct {
	id     uint64
	tls    bool
	scram  *scram.ServerConversation
	user   string // authenticated principal, "" if none
	gen    uint64 // sessionGen at authentication
	closed bool   // set by a handler to close after replying
}

func (s *Server) serve(c net.Conn, id uint64) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	_, isTLS := c.(*tls.Conn)
	sess := &session{id: id, tls: isTLS}
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	var out []byte
	for {
		f, err := wire.ReadFrame(br)
		if err != nil {
			if errors.Is(err, wire.ErrFrameTooLarge) {
				s.reply(bw, &out, 0, &wire.ErrorResponse{Message: "MESSAGE_TOO_LARGE: " + err.Error()})
			} else if errors.Is(err, wire.ErrUnknownFormat) {
				s.reply(bw, &out, 0, &wire.ErrorResponse{Message: "PROTOCOL_ERROR: " + err.Error()})
				continue
			}
			return
		}
		if f.Format != wire.FormatPostcard {
			s.reply(bw, &out, 0, &wire.ErrorResponse{Message: "PROTOCOL_ERROR: protobuf is not supported by brokertest"})
			continue
		}
		req, err := wire.DecodeRequest(f.Payload)
		if err != nil {
			// Like rivvend: an undecodable request cannot be attributed.
			s.reply(bw, &out, 0, &wire.ErrorResponse{Message: "PROTOCOL_ERROR: " + err.Error()})
			continue
		}
		seq := s.reqCount.Add(1)
		fault := Fault{}
		if fp := s.fault.Load(); fp != nil {
			fault = (*fp)(RequestInfo{Conn: id, Seq: seq, Kind: req.Kind(), Request: req})
		}
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-s.done:
				return
			}
		}
		if fault.Action == DropBeforeHandling {
			return
		}
		resp := s.handle(sess, req)
		corr := f.CorrelationID
		switch fault.Action {
		case DropAfterHandling:
			return
		case WrongCorrelationID:
			corr += 1000
		}
		if !s.reply(bw, &out, corr, resp) || sess.closed {
			return
		}
	}
}

func (s *Server) reply(bw *bufio.Writer, out *[]byte, corr uint32, resp wire.Response) bool {
	b, err := wire.AppendFrame((*out)[:0], corr, resp)
	if err != nil {
		b, _ = wire.AppendFrame((*out)[:0], corr, &wire.ErrorResponse{Message: "MESSAGE_TOO_LARGE: response exceeds 10 MiB"})
	}
	*out = b
	if _, err := bw.Write(b); err != nil {
		return false
	}
	return bw.Flush() == nil
}

func errResp(format string, a ...any) *wire.ErrorResponse {
	return &wire.ErrorResponse{Message: fmt.Sprintf(format, a...)}
}

// handle dispatches one request. Authentication gates everything but the
// auth requests and Ping, as rivvend's AuthenticatedHandler.
func (s *Server) handle(sess *session, req wire.Request) wire.Response {
	switch r := req.(type) {
	case *wire.Ping:
		return &wire.Pong{}
	case *wire.Authenticate:
		return s.handleAuthenticate(sess, r)
	case *wire.SaslAuthenticate:
		return s.handleSasl(sess, r)
	case *wire.ScramClientFirst:
		return s.handleScramFirst(sess, r)
	case *wire.ScramClientFinal:
		return s.handleScramFinal(sess, r)
	}
	if resp := s.checkSession(sess); resp != nil {
		return resp
	}
	switch r := req.(type) {
	case *wire.Handshake:
		if r.ProtocolVersion == s.cfg.ServerVersion {
			return &wire.HandshakeResult{ServerVersion: s.cfg.ServerVersion, Compatible: true, Message: "OK"}
		}
		return &wire.HandshakeResult{ServerVersion: s.cfg.ServerVersion, Message: fmt.Sprintf("Version mismatch: client=%d, server=%d", r.ProtocolVersion, s.cfg.ServerVersion)}
	case *wire.CreateTopic:
		return s.st.createTopic(r)
	case *wire.ListTopics:
		return s.st.listTopics()
	case *wire.DeleteTopic:
		return s.st.deleteTopic(r)
	case *wire.GetMetadata:
		return s.st.getMetadata(r)
	case *wire.GetClusterMetadata:
		return s.st.clusterMetadata(r, s.Addr())
	case *wire.Publish:
		return s.st.publish(r.Topic, r.Partition, []wire.Record{{Key: r.Key, Value: r.Value}}, nil)
	case *wire.PublishBatch:
		return s.st.publish(r.Topic, r.Partition, r.Records, nil)
	case *wire.InitProducerID:
		return s.st.initProducer(r)
	case *wire.IdempotentPublish:
		return s.st.publish(r.Topic, r.Partition, []wire.Record{{Key: r.Key, Value: r.Value}},
			&idem{id: r.ProducerID, epoch: r.ProducerEpoch, seq: r.Sequence, single: true})
	case *wire.IdempotentPublishBatch:
		return s.st.publish(r.Topic, r.Partition, r.Records,
			&idem{id: r.ProducerID, epoch: r.ProducerEpoch, seq: r.BaseSequence})
	case *wire.Consume:
		return s.st.consume(r, s.done)
	case *wire.CommitOffset:
		return s.st.commitOffset(r)
	case *wire.GetOffset:
		return s.st.getOffset(r)
	case *wire.GetOffsetBounds:
		return s.st.offsetBounds(r)
	case *wire.GetOffsetForTimestamp:
		return s.st.offsetForTimestamp(r)
	case *wire.JoinGroup:
		return s.groups.joinGroup(r)
	case *wire.SyncGroup:
		return s.groups.syncGroup(r)
	case *wire.Heartbeat:
		return s.groups.heartbeat(r)
	case *wire.LeaveGroup:
		return s.groups.leaveGroup(r)
	}
	return errResp("UNSUPPORTED: %v is not implemented by brokertest", req.Kind())
}
