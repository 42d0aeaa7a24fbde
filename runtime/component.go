package runtime

import (
	"context"
	"log/slog"
)

// Source produces the records of one pipeline.
//
// Lifecycle: the driver calls Open once, then Read repeatedly from a single
// goroutine until Read returns an error (io.EOF when the source is
// finished), interleaved with Ack calls from another goroutine, and finally
// Close exactly once (also after a failed Open).
type Source interface {
	// Open connects and prepares the source.
	Open(ctx context.Context) error
	// Read fills batch[0:n] and returns n. It blocks until at least one record
	// is available, ctx is done (returning ctx.Err()), or the source ends
	// (returning io.EOF, possibly with n > 0). Read may reuse the capacity of
	// the After/Before slices of the records in batch: the driver guarantees
	// that nobody reads a batch slot again after handing it back to Read.
	Read(ctx context.Context, batch []Record) (n int, err error)
	// Ack reports that every record up to and including pos has been durably
	// accepted by the sink or deliberately dropped. pos is the Position of
	// the last of those records exactly as Read set it (Token included).
	// Within a run, positions passed to Ack never decrease. A source that
	// keeps a position commits it here only. See Position for what the
	// source guarantees about its positions.
	Ack(ctx context.Context, pos Position) error
	// Close releases the source's resources.
	Close() error
}

// Sink receives the records that survive a pipeline's program.
//
// Lifecycle: Open once, Write from a single goroutine, Close exactly once.
type Sink interface {
	// Open connects and prepares the sink.
	Open(ctx context.Context) error
	// Write accepts records durably: when it returns nil, every record in the
	// slice is the sink's responsibility. It must not retain the slice or the
	// records after returning. An error means none of them may be assumed
	// written. A transient error (a busy or briefly unreachable target)
	// should be wrapped with Retriable: the driver retries the write with
	// backoff (Settings.Retry) before it applies the pipeline's on_error
	// policy; other errors get the policy at once. ctx ends only when the
	// run is aborted, never on a graceful stop.
	Write(ctx context.Context, records []Record) error
	// Close flushes and releases the sink.
	Close() error
}

// AsyncSink is a Sink that takes records before they are durable and
// reports durability later, so the driver can keep several writes in
// flight. Completions may arrive out of order; the driver still hands the
// source only a contiguous prefix of acknowledged positions (AckTracker).
//
// Lifecycle: as Sink; the driver calls WriteAsync (or Write) from one
// goroutine, and never more than a bounded number of writes are
// outstanding. Close is called only after every done callback has run or
// the pipeline was aborted.
type AsyncSink interface {
	Sink
	// WriteAsync hands records to the sink and returns once the sink has
	// taken them: it must not retain records after returning. When it returns
	// nil the sink calls done exactly once, from any goroutine (possibly
	// before WriteAsync returns), with nil when every record is durably
	// accepted, or with the error that lost them — which stops the pipeline
	// with its position before those records. When WriteAsync returns an
	// error, done is never called and the driver treats the error like a
	// failed Write (retries, then on_error).
	WriteAsync(ctx context.Context, records []Record, done func(error)) error
}

// Resumable is implemented by sources that need the driver to keep their
// position (they have no server-side position of their own). When the
// pipeline has a state directory (Settings.StateDir), the driver persists
// every acknowledged position there (Offset and Token, Position's JSON
// form) and, before Open, calls Resume with the last one persisted; the
// source then produces the records after it (from the Token alone when it
// sets tokens). A missing state file means a first start (Resume is not
// called); a torn or corrupt one stops the pipeline. A state file of an
// earlier version holds only an Offset: Resume gets an empty Token, and a
// source that needs one must fail with an error that says how to recover
// rather than start over silently.
type Resumable interface {
	Source
	Resume(pos Position) error
}

// Saver is implemented by Resumable sources that keep state of their own
// (Stateful) which must never get ahead of the saved position: after the
// driver has made an acknowledged position durable (saved where the next
// run resumes from, after Ack returned for it) it calls Saved with it,
// from the goroutine that calls Ack, never concurrently with Ack. Saved is
// not called without a state directory or lease. An error stops the
// pipeline like a failed save.
type Saver interface {
	Resumable
	Saved(pos Position) error
}

// Stateful is implemented by sources that keep a small durable blob of
// their own besides the position (postgres-cdc records there whether its
// snapshot finished). Before Open the driver calls UseState once with the
// pipeline's blob in Settings.StateDir, or with nil when the pipeline has
// no state directory — the source must then assume nothing was recorded.
type Stateful interface {
	Source
	UseState(b StateBlob)
}

// StateBlob is one durable value of a Stateful source. Get returns
// ok=false when nothing was ever written; a torn or corrupt value is an
// error (never "nothing written"). Put replaces the value atomically and is
// durable (fsynced) when it returns. A blob is used by one goroutine at a
// time.
type StateBlob interface {
	Get() (value []byte, ok bool, err error)
	Put(value []byte) error
	// Where names the blob's file for messages.
	Where() string
}

// RetryReported is implemented by sinks that retry failed requests
// themselves (the http sink, with its own retry settings). Before Open
// the driver calls UseRetryReport once with a function the sink calls for
// every retry it makes, with the error that caused it: the retry then
// counts in the pipeline's sink retries (status, health, metrics) like
// the driver's own, and the error becomes its last error (redacted). The
// function is safe for concurrent use and cheap.
type RetryReported interface {
	UseRetryReport(retried func(err error))
}

// ErrorPolicyUser is implemented by sinks whose way of writing depends on
// the pipeline's on_error: an AsyncSink's failure reported through done
// stops the pipeline whatever on_error says, so under skip and
// dead_letter such a sink fails inside WriteAsync, while the driver still
// has the records (the http sink keeps requests of several writes in
// flight only under stop). Before Open the driver calls UseErrorPolicy
// once: on the sink with Settings.OnError, on the dead-letter sink with
// OnErrorStop (a dead letter that cannot be written stops the pipeline).
type ErrorPolicyUser interface {
	UseErrorPolicy(p ErrorPolicy)
}

// Logged is implemented by components that log on their own (warnings
// about a degraded but working setup, a sink's retries). Before Open the
// driver calls UseLogger once with the pipeline's logger — on the source,
// the sink, the dead-letter sink and the program (whose batch steps, a
// plugin's, log) — which is safe for concurrent use.
type Logged interface {
	UseLogger(l *slog.Logger)
}

// BrokerLink is implemented by components that talk to the Rivven broker;
// the health report's broker_connected comes from them.
type BrokerLink interface {
	// BrokerConnected reports whether the component's last exchange with
	// the broker succeeded (false before Open and after Close). Safe for
	// concurrent use with every other method.
	BrokerConnected() bool
}

// Lagger is implemented by sources that know how far the upstream's head
// is ahead of their acknowledged position (postgres-cdc: bytes of WAL).
type Lagger interface {
	// SourceLag returns that distance in unit ("bytes", "records"); ok is
	// false while it is unknown. Safe for concurrent use with every other
	// method.
	SourceLag() (lag uint64, unit string, ok bool)
}

// Schemaed is implemented by sources that know the schema of their records
// before reading any (every datagen pattern does).
type Schemaed interface {
	// Schema returns the schema every record of the source carries.
	Schema() *Schema
}

// Bounded is implemented by sources that know in advance how many records
// they will produce (datagen with max_events); the runner shows progress.
type Bounded interface {
	// Expected returns the number of records, or 0 when unknown.
	Expected() uint64
}
