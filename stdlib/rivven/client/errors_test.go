package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Every error string of the protocol reference, as rivvend words it.
func TestParseCodeAndRetriable(t *testing.T) {
	for _, c := range []struct {
		msg       string
		sentinel  *Error
		retriable bool
	}{
		{"AUTHENTICATION_REQUIRED: Please authenticate first", ErrAuthenticationRequired, false},
		{"AUTHENTICATION_FAILED: Invalid credentials", ErrAuthenticationFailed, false},
		{"SESSION_EXPIRED: Please re-authenticate", ErrSessionExpired, true},
		{"INVALID_SESSION: Please re-authenticate", ErrInvalidSession, true},
		{"INVALID_TOPIC_NAME: bad", ErrInvalidTopicName, false},
		{"INVALID_PARTITION: partition 9 out of range", ErrInvalidPartition, false},
		{"MESSAGE_TOO_LARGE: 11 MiB", ErrMessageTooLarge, false},
		{"BUFFER_FULL: Server publish buffer is full, retry later", ErrBufferFull, true},
		{"RATE_LIMIT_EXCEEDED: slow down", ErrRateLimitExceeded, true},
		{"FENCED_LEADER_EPOCH: client epoch 1 < server epoch 2", ErrFencedLeaderEpoch, true},
		{"OUT_OF_ORDER_SEQUENCE: expected 3, got 5", ErrOutOfOrderSequence, false},
		{"PRODUCER_FENCED: current epoch 2, received 1", ErrProducerFenced, false},
		{"UNKNOWN_PRODUCER_ID: producer 7 not initialized", ErrUnknownProducerID, false},
		{"Topic 'orders' already exists", ErrTopicAlreadyExists, false},
		{"Topic not found: orders", ErrUnknownTopic, false},
		{"PLAINTEXT_AUTH_REQUIRES_TLS: use TLS", ErrPlaintextAuthRequiresTLS, false},
		{"SASL/PLAIN requires a TLS connection (use SASL_SSL listener).", ErrPlaintextAuthRequiresTLS, false},
	} {
		err := brokerError("Op", c.msg, func(s string) string { return s })
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, c.sentinel) {
			t.Errorf("%q: code %v, want %v", c.msg, CodeOf(err), c.sentinel.Code)
			continue
		}
		if e.Retriable() != c.retriable || IsRetriable(err) != c.retriable {
			t.Errorf("%q: Retriable = %v", c.msg, e.Retriable())
		}
		if e.Message != c.msg {
			t.Errorf("%q: message changed to %q", c.msg, e.Message)
		}
	}
	if got := ParseCode("WAL_ERROR: disk"); got != "WAL_ERROR" {
		t.Errorf("unknown prefixed code: %q", got)
	}
	if got := ParseCode("something odd"); got != CodeServer {
		t.Errorf("free text: %q", got)
	}
}

func TestErrorWrapping(t *testing.T) {
	err := fmt.Errorf("sink: %w", ctxError("Consume", context.DeadlineExceeded, true))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrConnection) {
		t.Fatalf("wrapping broken: %v", err)
	}
	if !IsRetriable(err) || CodeOf(err) != CodeTimeout {
		t.Fatalf("retriable/code: %v %v", IsRetriable(err), CodeOf(err))
	}
	if CodeOf(errors.New("x")) != "" || IsRetriable(errors.New("x")) {
		t.Fatal("foreign errors")
	}
	if got := ErrBufferFull.Error(); got != "rivven: BUFFER_FULL" {
		t.Fatalf("sentinel text %q", got)
	}
}
