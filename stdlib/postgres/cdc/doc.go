// Package cdc is the postgres-cdc source: change data capture from
// PostgreSQL logical replication (pgoutput, through
// github.com/jackc/pglogrepl), with an initial snapshot taken inside the
// snapshot the replication slot exports.
//
// Protocol: pgoutput v2 with streaming on (the default on PostgreSQL 14
// and later; Config.ProtocolVersion 1 selects v1). With v2 the server
// sends a transaction larger than its logical_decoding_work_mem while it
// is still in progress, in StreamStart/StreamStop chunks, several
// transactions interleaved. The source writes those changes, as the raw
// pgoutput messages (relation messages included), to one temporary spill
// file per transaction (see spill; in $TMPDIR, unlinked as soon as it is
// created), so memory stays bounded whatever the transaction's size. It
// deletes the file on StreamAbort (nothing of the transaction is
// delivered), drops only the rolled-back subtransaction's changes on a
// StreamAbort with a subtransaction xid, and on StreamCommit decodes the
// file in order into exactly the records a v1 commit would have produced
// (same metadata; commit_lsn and commit_time from the StreamCommit). With v1 the server itself keeps a large transaction (in
// memory, then on its disk) and sends it after its commit.
//
// The record envelope, the value encoding (numeric as an exact string,
// bytea as standard base64, dates and timestamps as ISO 8601 with signed
// expanded years (-0043-03-15T12:00:00, +294276-12-31T23:59:59.999999Z) or
// "infinity"/"-infinity", json/jsonb parsed and keeping PostgreSQL's exact
// text) and the
// unchanged-TOAST marker (UnchangedToast) are specified in SPEC.md §2.2.
//
// Values are decoded from PostgreSQL's text form by type OID (built-in
// types through pgx's type map, others from pg_type), on both paths: the
// snapshot asks for text results, and pgoutput sends text. Both
// connections use the same session settings (UTC, ISO dates, ISO 8601
// intervals, extra_float_digits=3, hex bytea), so a row reads the same
// from the snapshot and from the stream.
//
// Delivery: every record gets the next Position.Offset of the run, and a
// Position.Token that names its change in every run: "<commit LSN>:<n>"
// for a streamed change, "snapshot:<schema>.<table>:<n>" for a snapshot
// row (token.go). The source is runtime.Resumable: after a restart (a
// crash included) it skips what the server sends again up to the resumed
// token's change, when that is safe (resume.go). The
// flush LSN reported to the server is the commit end LSN of the last
// transaction whose records are all acknowledged (contiguous prefix), so
// the slot is the durable position and a restart replays at most the
// unacknowledged tail. A streamed transaction's commit is recorded only at
// its StreamCommit, after its last record; an uncommitted streamed
// transaction interrupted by a reconnect is streamed again from its start
// by the server (its spill file is discarded). Standby status updates
// keep flowing while a large transaction is received or delivered.
package cdc
