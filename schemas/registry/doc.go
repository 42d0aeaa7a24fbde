// Package registry is a schema registry: the embedded registry core
// (Registry), its Confluent-compatible REST API (Handler) and a client for
// that API (Client), which also speaks to a real Confluent Schema Registry.
//
// The model is Confluent's. A subject (usually "<topic>-value" or
// "<topic>-key", see ValueSubject and KeySubject) holds versions 1..n; each
// version points at a schema with a global id. Schemas are identified by
// their type and canonical form: registering a schema identical to one a
// subject already holds returns the existing version and id, and the same
// schema under another subject reuses the same global id. Ids are never
// reused or renumbered, also across restarts and subject deletions.
//
// A Registry keeps its state in memory and writes every change, before it
// takes effect, as an Event to a Store (an append-only log); opening a
// Registry replays the log. FileStore is the durable implementation.
//
// Errors that the REST API reports carry Confluent's error codes: they are
// *Error values, comparable with errors.Is against the sentinels
// (ErrSubjectNotFound, ErrIncompatible, …) on both sides of the wire.
package registry
