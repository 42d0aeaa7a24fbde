// Package client is a Go client of the Rivven broker (rivvend) native
// protocol, version 2: what rivven-connect's broker sink and consumers need.
//
// It dials Config.BootstrapServers in order (with ConnectionTimeout, TLS when
// configured), sends Handshake, authenticates with SCRAM-SHA-256 (or PLAIN,
// only over TLS), and keeps a small pool of such connections. Lost
// connections are re-dialed with capped exponential backoff; requests that
// are safe to repeat are retried. Every error is an *Error with a Code,
// usable with errors.Is against the Err* sentinels, and with Retriable.
// Passwords never appear in errors or logs.
//
// For exactly-once appends across reconnects use an IdempotentProducer.
package client
