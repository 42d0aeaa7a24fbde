package runtime

import "context"

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
	// accepted by the sink or deliberately dropped. Positions passed to Ack
	// never decrease. A source that keeps a position commits it here only.
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
	// written; the driver applies the pipeline's on_error policy.
	Write(ctx context.Context, records []Record) error
	// Close flushes and releases the sink.
	Close() error
}

// Schemaed is implemented by sources that know the schema of their records
// before reading any (every datagen pattern does).
type Schemaed interface {
	// Schema returns the schema every record of the source carries.
	Schema() *Schema
}
