package client

import (
	"errors"
	"strings"
)

// Code classifies an *Error. Broker codes are the upper-case prefix rivvend
// puts before the colon of an Error response; the client codes at the end
// describe failures that never reached or never came back from the broker.
type Code string

// Codes of the broker-protocol reference.
const (
	CodeAuthenticationRequired Code = "AUTHENTICATION_REQUIRED"
	CodeAuthenticationFailed   Code = "AUTHENTICATION_FAILED"
	CodeSessionExpired         Code = "SESSION_EXPIRED"
	CodeInvalidSession         Code = "INVALID_SESSION"
	CodeInvalidTopicName       Code = "INVALID_TOPIC_NAME"
	CodeInvalidPartition       Code = "INVALID_PARTITION"
	CodeMessageTooLarge        Code = "MESSAGE_TOO_LARGE"
	CodeBufferFull             Code = "BUFFER_FULL"
	CodeRateLimitExceeded      Code = "RATE_LIMIT_EXCEEDED"
	CodeFencedLeaderEpoch      Code = "FENCED_LEADER_EPOCH"
	CodeOutOfOrderSequence     Code = "OUT_OF_ORDER_SEQUENCE"
	CodeProducerFenced         Code = "PRODUCER_FENCED"
	CodeUnknownProducerID      Code = "UNKNOWN_PRODUCER_ID"
)

// Further broker codes rivvend sends. Messages without a code prefix are
// classified by their wording ("Topic 'X' already exists", "Topic not found:
// X", "SASL/PLAIN requires a TLS connection…"); anything else is CodeServer.
const (
	CodeTopicAlreadyExists       Code = "TOPIC_ALREADY_EXISTS"
	CodeUnknownTopic             Code = "UNKNOWN_TOPIC"
	CodeUnknownPartition         Code = "UNKNOWN_PARTITION"
	CodeInvalidPartitionCount    Code = "INVALID_PARTITION_COUNT"
	CodeOffsetOutOfRange         Code = "OFFSET_OUT_OF_RANGE"
	CodePlaintextAuthRequiresTLS Code = "PLAINTEXT_AUTH_REQUIRES_TLS"
	CodeScramFailed              Code = "SCRAM_FAILED"
	CodeUnsupportedMechanism     Code = "UNSUPPORTED_MECHANISM"
	CodeServer                   Code = "SERVER_ERROR"
)

// Client-side codes.
const (
	// CodeConnection: dialing, TLS, or reading/writing the connection failed.
	CodeConnection Code = "CONNECTION"
	// CodeProtocol: the broker's reply was undecodable, of an unexpected kind,
	// or carried an unexpected correlation id. The connection was closed.
	CodeProtocol Code = "PROTOCOL"
	// CodeVersionMismatch: the Handshake said the protocol versions differ.
	CodeVersionMismatch Code = "VERSION_MISMATCH"
	// CodeTimeout: the request's deadline passed (wraps context.DeadlineExceeded).
	CodeTimeout Code = "TIMEOUT"
	// CodeCanceled: the request's context was canceled (wraps context.Canceled).
	CodeCanceled Code = "CANCELED"
	// CodeClosed: the Client was closed.
	CodeClosed Code = "CLOSED"
	// CodeConfig: the configuration is unusable (bad TLS files, plain auth
	// without TLS, empty bootstrap list, …).
	CodeConfig Code = "CONFIG"
	// CodeInDoubtBatch: an IdempotentProducer was asked to send a different
	// batch while an earlier one on the partition has an unknown outcome.
	CodeInDoubtBatch Code = "IN_DOUBT_BATCH"
)

// Error is every error the client returns. It never contains a password.
// Compare with errors.Is against the sentinels (which match on Code alone) or
// extract with errors.As.
type Error struct {
	Code Code
	// Op names what failed, e.g. "PublishBatch" or
	// `authenticate user "alice" with SCRAM-SHA-256`.
	Op string
	// Message is the broker's message, verbatim but with the password
	// redacted, or a client-side description.
	Message string
	// InDoubt is set when the request was (or may have been) written but no
	// reply arrived: the broker may have applied it.
	InDoubt bool
	// Err is the underlying cause (net error, context error, decode error), or nil.
	Err error
}

// Error renders "rivven: <op>: <message>[: <cause>]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("rivven: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(string(e.Code))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.InDoubt {
		b.WriteString(" (request may have been applied)")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a sentinel *Error (one with only a Code) of
// the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Message == "" && t.Err == nil && t.Code == e.Code
}

// Retriable reports whether sending the same request again later may
// succeed: transient broker conditions (BUFFER_FULL, RATE_LIMIT_EXCEEDED,
// FENCED_LEADER_EPOCH, an expired session), lost connections and timeouts.
// Authentication failures are not retriable (rivvend locks a principal out
// after 5 failures). An InDoubt non-idempotent request is retriable only at
// the risk of a duplicate.
func (e *Error) Retriable() bool {
	switch e.Code {
	case CodeBufferFull, CodeRateLimitExceeded, CodeFencedLeaderEpoch,
		CodeSessionExpired, CodeInvalidSession, CodeConnection, CodeTimeout:
		return true
	}
	return false
}

// Sentinels for errors.Is; each matches any *Error with its Code.
var (
	ErrAuthenticationRequired   = &Error{Code: CodeAuthenticationRequired}
	ErrAuthenticationFailed     = &Error{Code: CodeAuthenticationFailed}
	ErrSessionExpired           = &Error{Code: CodeSessionExpired}
	ErrInvalidSession           = &Error{Code: CodeInvalidSession}
	ErrInvalidTopicName         = &Error{Code: CodeInvalidTopicName}
	ErrInvalidPartition         = &Error{Code: CodeInvalidPartition}
	ErrMessageTooLarge          = &Error{Code: CodeMessageTooLarge}
	ErrBufferFull               = &Error{Code: CodeBufferFull}
	ErrRateLimitExceeded        = &Error{Code: CodeRateLimitExceeded}
	ErrFencedLeaderEpoch        = &Error{Code: CodeFencedLeaderEpoch}
	ErrOutOfOrderSequence       = &Error{Code: CodeOutOfOrderSequence}
	ErrProducerFenced           = &Error{Code: CodeProducerFenced}
	ErrUnknownProducerID        = &Error{Code: CodeUnknownProducerID}
	ErrTopicAlreadyExists       = &Error{Code: CodeTopicAlreadyExists}
	ErrUnknownTopic             = &Error{Code: CodeUnknownTopic}
	ErrPlaintextAuthRequiresTLS = &Error{Code: CodePlaintextAuthRequiresTLS}
	ErrConnection               = &Error{Code: CodeConnection}
	ErrProtocol                 = &Error{Code: CodeProtocol}
	ErrVersionMismatch          = &Error{Code: CodeVersionMismatch}
	ErrTimeout                  = &Error{Code: CodeTimeout}
	ErrClosed                   = &Error{Code: CodeClosed}
	ErrConfig                   = &Error{Code: CodeConfig}
	ErrInDoubtBatch             = &Error{Code: CodeInDoubtBatch}
)

// IsRetriable reports whether err is an *Error whose Retriable is true.
func IsRetriable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retriable()
}

// CodeOf returns err's Code, or "" if err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ParseCode classifies a broker Error message.
func ParseCode(msg string) Code {
	if i := strings.IndexByte(msg, ':'); i > 0 && isCodeWord(msg[:i]) {
		return Code(msg[:i])
	}
	switch {
	case strings.HasPrefix(msg, "Topic '") && strings.HasSuffix(msg, "' already exists"):
		return CodeTopicAlreadyExists
	case strings.HasPrefix(msg, "Topic not found"):
		return CodeUnknownTopic
	case strings.HasPrefix(msg, "Partition ") && strings.Contains(msg, "not found"):
		return CodeUnknownPartition
	case strings.HasPrefix(msg, "SASL/PLAIN requires a TLS"):
		return CodePlaintextAuthRequiresTLS
	}
	return CodeServer
}

func isCodeWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9') {
			return false
		}
	}
	return len(s) >= 2
}
