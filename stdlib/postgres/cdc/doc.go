// Package cdc is the postgres-cdc source: change data capture from
// PostgreSQL logical replication (pgoutput protocol v1, through
// github.com/jackc/pglogrepl), with an initial snapshot taken inside the
// snapshot the replication slot exports.
//
// The record envelope, the value encoding (numeric as an exact string,
// bytea as standard base64, timestamps as RFC 3339-like strings with
// "infinity"/"-infinity", json parsed with big integers kept exact) and the
// unchanged-TOAST marker (UnchangedToast) are specified in SPEC.md §2.2.
//
// Values are decoded from PostgreSQL's text form by type OID (built-in
// types through pgx's type map, others from pg_type), on both paths: the
// snapshot asks for text results, and pgoutput v1 sends text. Both
// connections use the same session settings (UTC, ISO dates, ISO 8601
// intervals, extra_float_digits=3, hex bytea), so a row reads the same
// from the snapshot and from the stream.
//
// Delivery: every record gets the next Position.Offset of the run. The
// flush LSN reported to the server is the commit end LSN of the last
// transaction whose records are all acknowledged (contiguous prefix), so
// the slot is the durable position and a restart replays at most the
// unacknowledged tail.
package cdc
