package runtime

import "time"

// Settings are a pipeline's runtime settings: plain data that a back end
// fills from the checked config (the code generator writes it as a Go
// literal, so every field is a basic type, a slice or a nested plain
// struct). The zero value is valid: stop on error, no rate limit, default
// batch size, one sink write per source batch, default retries, no state
// directory, no health or metrics server.
type Settings struct {
	// OnError is the policy for a record whose transform or write fails.
	OnError ErrorPolicy
	// RateLimit caps records per second read from the source; 0 = unlimited.
	RateLimit int
	// BatchSize is the number of records read from the source at a time;
	// 0 = DefaultBatchSize.
	BatchSize int
	// DeadLetterSink names the sink receiving dead letters (on_error:
	// dead_letter). The back end instantiates it into Pipeline.DeadLetter.
	DeadLetterSink string
	// DeadLetterMask lists the field paths ("email", "address.street") that
	// any mask stage of the pipeline masks. A record that fails inside the
	// program is dead-lettered with each of these fields replaced by null,
	// so a dead letter never shows a value the pipeline would have hidden,
	// whichever stage failed. (A record that fails in the sink is the
	// program's output and is dead-lettered as it is.)
	DeadLetterMask []string
	// SinkBatch groups kept records into sink writes. The zero value writes
	// once per source batch.
	SinkBatch SinkBatch
	// Retry governs retries of retriable sink errors (see Retriable).
	Retry Retry
	// StateDir is the directory where the driver persists the acknowledged
	// position of sources that resume from it (Resumable); "" = none.
	StateDir string
	// Process holds the config's process-wide settings. They are the same
	// in every pipeline of one config; app.Run reads them from the first.
	Process Process
}

// SinkBatch is a sink's `batch: {max_records, timeout_ms}`.
type SinkBatch struct {
	// MaxRecords flushes the batch when it holds this many records.
	// 0 = DefaultSinkBatchRecords when TimeoutMs is set.
	MaxRecords int
	// TimeoutMs flushes a non-empty batch this long after its first record
	// arrived; 0 = no time limit (flush on size, at the source's end and on
	// shutdown).
	TimeoutMs int
}

// DefaultSinkBatchRecords is the batch limit when only timeout_ms is set.
const DefaultSinkBatchRecords = 1024

// Enabled reports whether sink batching is configured.
func (b SinkBatch) Enabled() bool { return b.MaxRecords > 0 || b.TimeoutMs > 0 }

// Retry is `settings.retry`. Zero fields take the defaults below.
type Retry struct {
	// MaxRetries is the number of retries after the first attempt;
	// 0 = DefaultMaxRetries, negative = no retries.
	MaxRetries int
	// InitialBackoffMs is the wait before the first retry; 0 = default.
	InitialBackoffMs int
	// MaxBackoffMs caps the wait between retries; 0 = default.
	MaxBackoffMs int
	// BackoffMultiplier grows the wait after each retry; 0 = default (≥ 1).
	BackoffMultiplier float64
}

// The retry defaults (the original rivven-connect's documented values).
const (
	DefaultMaxRetries        = 10
	DefaultInitialBackoffMs  = 100
	DefaultMaxBackoffMs      = 30_000
	DefaultBackoffMultiplier = 2.0
)

// normalized returns r with defaults filled in.
func (r Retry) normalized() Retry {
	switch {
	case r.MaxRetries == 0:
		r.MaxRetries = DefaultMaxRetries
	case r.MaxRetries < 0:
		r.MaxRetries = 0
	}
	if r.InitialBackoffMs <= 0 {
		r.InitialBackoffMs = DefaultInitialBackoffMs
	}
	if r.MaxBackoffMs <= 0 {
		r.MaxBackoffMs = DefaultMaxBackoffMs
	}
	if r.MaxBackoffMs < r.InitialBackoffMs {
		r.MaxBackoffMs = r.InitialBackoffMs
	}
	if r.BackoffMultiplier < 1 {
		r.BackoffMultiplier = DefaultBackoffMultiplier
	}
	return r
}

// Backoff returns the wait before retry number n (0-based): the initial
// backoff times multiplier^n, capped at the maximum.
func (r Retry) Backoff(n int) time.Duration {
	r = r.normalized()
	d := float64(r.InitialBackoffMs)
	for range n {
		d *= r.BackoffMultiplier
		if d >= float64(r.MaxBackoffMs) {
			d = float64(r.MaxBackoffMs)
			break
		}
	}
	return time.Duration(d * float64(time.Millisecond))
}

// Process is the config's top-level settings that concern the whole
// process rather than one pipeline.
type Process struct {
	// LogLevel is trace, debug, info (default), warn or error.
	LogLevel string
	// ShutdownTimeoutMs bounds the graceful stop after SIGINT/SIGTERM:
	// 0 = DefaultShutdownTimeout, negative = no grace (stop at once).
	ShutdownTimeoutMs int
	Health            Server
	Metrics           Server
	// Registry is the `schema_registry` section.
	Registry Registry
}

// Registry configures the process's schema registry (`schema_registry`).
type Registry struct {
	// Mode is embedded (default) or external.
	Mode string
	// Compatibility is the default level for new subjects (NONE, BACKWARD,
	// …, FULL_TRANSITIVE); "" = BACKWARD.
	Compatibility string
	// URL of an external registry.
	URL string
	// Username and Password: basic auth of an external registry.
	Username, Password string
	// Listen, when set, serves the embedded registry's REST API there.
	Listen string
	// Topic is the broker topic of the embedded registry's log (when a
	// broker is configured); "" = the default.
	Topic string
	// Needed: a sink's format (avro) needs the registry.
	Needed bool
}

// Configured reports whether the process needs or declares a registry.
func (r Registry) Configured() bool {
	return r.Needed || r.Mode != "" || r.URL != "" || r.Listen != "" || r.Compatibility != "" || r.Topic != ""
}

// DefaultShutdownTimeout is the grace period of a graceful stop.
const DefaultShutdownTimeout = 30 * time.Second

// ShutdownTimeout returns the grace period of a graceful stop.
func (p Process) ShutdownTimeout() time.Duration {
	switch {
	case p.ShutdownTimeoutMs == 0:
		return DefaultShutdownTimeout
	case p.ShutdownTimeoutMs < 0:
		return 0
	}
	return time.Duration(p.ShutdownTimeoutMs) * time.Millisecond
}

// Server is an HTTP endpoint the process serves (health or metrics).
type Server struct {
	Enabled bool
	// Address is the host to bind; "" = 127.0.0.1 (never all interfaces
	// unless asked).
	Address string
	// Port to bind; 0 = any free port.
	Port int
	// Path of the main endpoint ("" = /health or /metrics).
	Path string
}
