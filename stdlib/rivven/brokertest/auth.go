package brokertest

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"strconv"

	"github.com/rivven/rivven-connect/stdlib/rivven/scram"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

func (s *Server) checkSession(sess *session) wire.Response {
	if sess.user != "" && sess.gen != s.sessionGen.Load() {
		sess.user = ""
		return errResp("SESSION_EXPIRED: Please re-authenticate")
	}
	if !s.cfg.RequireAuth || sess.user != "" {
		return nil
	}
	if sess.scram != nil {
		return errResp("AUTHENTICATION_REQUIRED: Complete SCRAM handshake first")
	}
	return errResp("AUTHENTICATION_REQUIRED: Please authenticate first")
}

func (s *Server) login(sess *session, user string) {
	sess.user = user
	sess.gen = s.sessionGen.Load()
	sess.scram = nil
}

func (s *Server) sessionResponse(sess *session) *wire.Authenticated {
	return &wire.Authenticated{
		SessionID: "brokertest-" + strconv.FormatUint(sess.id, 10),
		ExpiresIn: uint64(s.cfg.SessionTTL.Seconds()),
	}
}

func (s *Server) checkPassword(user, password string) bool {
	want, ok := s.cfg.Users[user]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
}

func (s *Server) handleAuthenticate(sess *session, r *wire.Authenticate) wire.Response {
	if r.RequireTLS && !sess.tls {
		return errResp("PLAINTEXT_AUTH_REQUIRES_TLS: The client requires a TLS connection for plaintext authentication. Use a TLS listener or switch to SCRAM-SHA-256.")
	}
	if !s.checkPassword(r.Username, r.Password) {
		return errResp("AUTHENTICATION_FAILED: Invalid credentials")
	}
	s.login(sess, r.Username)
	return s.sessionResponse(sess)
}

func (s *Server) handleSasl(sess *session, r *wire.SaslAuthenticate) wire.Response {
	if string(r.Mechanism) != "PLAIN" {
		return errResp("UNSUPPORTED_MECHANISM: Only PLAIN is supported, got %s", r.Mechanism)
	}
	if !sess.tls {
		return errResp("SASL/PLAIN requires a TLS connection (use SASL_SSL listener). Sending credentials over cleartext is not permitted.")
	}
	// authzid \0 authcid \0 password
	parts := bytes.Split(r.AuthBytes, []byte{0})
	if len(parts) != 3 || !s.checkPassword(string(parts[1]), string(parts[2])) {
		return errResp("AUTHENTICATION_FAILED: Invalid credentials")
	}
	s.login(sess, string(parts[1]))
	return s.sessionResponse(sess)
}

func (s *Server) handleScramFirst(sess *session, r *wire.ScramClientFirst) wire.Response {
	conv := scram.NewServer(func(u string) (scram.Credentials, bool) {
		c, ok := s.creds[u]
		return c, ok
	}, "")
	first, err := conv.First(r.Message)
	if err != nil {
		sess.scram = nil
		return errResp("SCRAM_FAILED: %v", err)
	}
	sess.user = ""
	sess.scram = conv
	return &wire.ScramServerFirst{Message: first}
}

func (s *Server) handleScramFinal(sess *session, r *wire.ScramClientFinal) wire.Response {
	conv := sess.scram
	if conv == nil {
		return errResp("SCRAM_FAILED: Invalid state - send client-first first")
	}
	sess.scram = nil
	final, err := conv.Final(r.Message)
	if err != nil {
		value := "other-error"
		switch {
		case errors.Is(err, scram.ErrInvalidProof):
			value = "invalid-proof"
		case errors.Is(err, scram.ErrUnknownUser):
			value = "unknown-user"
		}
		return &wire.ScramServerFinal{Message: []byte("e=" + value)}
	}
	s.login(sess, conv.User())
	a := s.sessionResponse(sess)
	return &wire.ScramServerFinal{Message: final, SessionID: wire.Some(a.SessionID), ExpiresIn: wire.Some(a.ExpiresIn)}
}
