package wire

import "fmt"

// Authenticate (request 0) sends a username and password in clear text
// (SASL/PLAIN-like). rivvend refuses it on non-TLS connections when
// RequireTLS is set; clients must only send it over TLS. String and GoString
// redact the password.
type Authenticate struct {
	Username   string
	Password   string
	RequireTLS bool
}

func (m *Authenticate) appendFields(b []byte) []byte {
	b = AppendString(b, m.Username)
	b = AppendString(b, m.Password)
	return AppendBool(b, m.RequireTLS)
}

func (m *Authenticate) decodeFields(d *Decoder) {
	m.Username = d.String()
	m.Password = d.String()
	m.RequireTLS = d.Bool()
}

// String describes m without its password.
func (m Authenticate) String() string {
	return fmt.Sprintf("Authenticate{Username:%q Password:[REDACTED] RequireTLS:%v}", m.Username, m.RequireTLS)
}

// GoString is String, so %#v does not print the password either.
func (m Authenticate) GoString() string { return m.String() }

// SaslAuthenticate (request 1) carries a SASL mechanism name and its opaque
// bytes (for PLAIN: "\x00user\x00password"). String redacts AuthBytes.
type SaslAuthenticate struct {
	Mechanism []byte
	AuthBytes []byte
}

func (m *SaslAuthenticate) appendFields(b []byte) []byte {
	return AppendBytes(AppendBytes(b, m.Mechanism), m.AuthBytes)
}

func (m *SaslAuthenticate) decodeFields(d *Decoder) {
	m.Mechanism = d.Bytes()
	m.AuthBytes = d.Bytes()
}

// String describes m without its credentials.
func (m SaslAuthenticate) String() string {
	return fmt.Sprintf("SaslAuthenticate{Mechanism:%q AuthBytes:[REDACTED]}", m.Mechanism)
}

// GoString is String.
func (m SaslAuthenticate) GoString() string { return m.String() }

// ScramClientFirst (request 2) carries the SCRAM client-first-message
// ("n,,n=<user>,r=<nonce>").
type ScramClientFirst struct{ Message []byte }

func (m *ScramClientFirst) appendFields(b []byte) []byte { return AppendBytes(b, m.Message) }
func (m *ScramClientFirst) decodeFields(d *Decoder)      { m.Message = d.Bytes() }

// ScramClientFinal (request 3) carries the SCRAM client-final-message
// ("c=biws,r=<nonce>,p=<proof>"). String redacts the message.
type ScramClientFinal struct{ Message []byte }

func (m *ScramClientFinal) appendFields(b []byte) []byte { return AppendBytes(b, m.Message) }
func (m *ScramClientFinal) decodeFields(d *Decoder)      { m.Message = d.Bytes() }

// String describes m without its proof.
func (m ScramClientFinal) String() string { return "ScramClientFinal{Message:[REDACTED]}" }

// GoString is String.
func (m ScramClientFinal) GoString() string { return m.String() }

// Handshake (request 33) must be the first request on a connection.
// ProtocolVersion is [ProtocolVersion] for this package.
type Handshake struct {
	ProtocolVersion uint32
	ClientID        string
}

func (m *Handshake) appendFields(b []byte) []byte {
	return AppendString(AppendUvarint(b, uint64(m.ProtocolVersion)), m.ClientID)
}

func (m *Handshake) decodeFields(d *Decoder) {
	m.ProtocolVersion = d.U32()
	m.ClientID = d.String()
}

// Ping (request 13) is answered with Pong, even before authentication.
type Ping struct{}

func (m *Ping) appendFields(b []byte) []byte { return b }
func (m *Ping) decodeFields(*Decoder)        {}

// Authenticated (response 0) opens a session that expires after ExpiresIn seconds.
type Authenticated struct {
	SessionID string
	ExpiresIn uint64
}

func (m *Authenticated) appendFields(b []byte) []byte {
	return AppendUvarint(AppendString(b, m.SessionID), m.ExpiresIn)
}

func (m *Authenticated) decodeFields(d *Decoder) {
	m.SessionID = d.String()
	m.ExpiresIn = d.U64()
}

// ScramServerFirst (response 1) carries "r=<nonce>,s=<salt base64>,i=<iterations>".
type ScramServerFirst struct{ Message []byte }

func (m *ScramServerFirst) appendFields(b []byte) []byte { return AppendBytes(b, m.Message) }
func (m *ScramServerFirst) decodeFields(d *Decoder)      { m.Message = d.Bytes() }

// ScramServerFinal (response 2) carries "v=<signature base64>" (with the session
// on success) or "e=<error>".
type ScramServerFinal struct {
	Message   []byte
	SessionID Option[string]
	ExpiresIn Option[uint64]
}

func (m *ScramServerFinal) appendFields(b []byte) []byte {
	b = AppendBytes(b, m.Message)
	b = appendOptString(b, m.SessionID)
	return appendOptU64(b, m.ExpiresIn)
}

func (m *ScramServerFinal) decodeFields(d *Decoder) {
	m.Message = d.Bytes()
	m.SessionID = d.optString()
	m.ExpiresIn = d.optU64()
}

// HandshakeResult (response 35): Compatible iff the versions are equal; Message
// is "OK" or "Version mismatch: client=X, server=Y".
type HandshakeResult struct {
	ServerVersion uint32
	Compatible    bool
	Message       string
}

func (m *HandshakeResult) appendFields(b []byte) []byte {
	b = AppendUvarint(b, uint64(m.ServerVersion))
	b = AppendBool(b, m.Compatible)
	return AppendString(b, m.Message)
}

func (m *HandshakeResult) decodeFields(d *Decoder) {
	m.ServerVersion = d.U32()
	m.Compatible = d.Bool()
	m.Message = d.String()
}

// Pong (response 12) answers Ping.
type Pong struct{}

func (m *Pong) appendFields(b []byte) []byte { return b }
func (m *Pong) decodeFields(*Decoder)        {}

// ErrorResponse is rivvend's Response::Error (response 18). Message usually
// starts with an upper-case code and a colon, e.g. "AUTHENTICATION_FAILED: …".
type ErrorResponse struct{ Message string }

func (m *ErrorResponse) appendFields(b []byte) []byte { return AppendString(b, m.Message) }
func (m *ErrorResponse) decodeFields(d *Decoder)      { m.Message = d.String() }

// OK is rivvend's Response::Ok (response 19), a bare acknowledgement.
type OK struct{}

func (m *OK) appendFields(b []byte) []byte { return b }
func (m *OK) decodeFields(*Decoder)        {}
