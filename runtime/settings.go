package runtime

// Settings are a pipeline's runtime settings: plain data that a back end
// fills from the checked config (the code generator writes it as a Go
// literal). The zero value is valid: stop on error, no rate limit, default
// batch size.
type Settings struct {
	// OnError is the policy for a record whose transform or write fails.
	OnError ErrorPolicy
	// RateLimit caps records per second read from the source; 0 = unlimited.
	RateLimit int
	// BatchSize is the number of records read from the source at a time;
	// 0 = DefaultBatchSize.
	BatchSize int
	// DeadLetterSink names the sink receiving dead letters (on_error:
	// dead_letter).
	DeadLetterSink string
}
