package runtime

import "time"

// Settings are a pipeline's runtime settings: plain data that a back end
// fills from the checked config (the code generator writes it as a Go
// literal, so every field is a basic type, a slice or a nested plain
// struct).
//
// The defaults of the config's settings keys are written once, in the CUE
// definitions (#Settings); the checker fills in every key the config
// leaves out, so the Settings of a checked config hold concrete values,
// which the runtime takes as they are: Retry.MaxRetries 0 is no retries,
// Process.ShutdownTimeoutMs 0 is no grace period. Go code that builds
// Settings by hand starts from DefaultSettings, the settings of a config
// without a settings section.
//
// The zero value is valid and means: stop on error, no rate limit, the
// default batch size, one sink write per source batch, no retries, no
// state directory, no health or metrics server, and no grace period on
// shutdown.
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
	// Cluster is the `distributed` section; the zero value runs on one
	// node.
	Cluster Cluster
	// ClusterSink names the sink that publishes this node's state of the
	// pipeline to Cluster.Topic; the back end instantiates it into
	// Pipeline.ClusterStatus. "" = none.
	ClusterSink string
	// Singleton runs the pipeline on one node of the cluster at a time
	// (mode: singleton): the source must be an Elector, and app.Run runs
	// the pipeline with RunSingleton.
	Singleton bool
	// Tasks, when above 0, runs the pipeline as that many tasks shared by
	// the nodes of the cluster (mode: scalable): app.Run runs it with
	// RunScalable. Above 1 the source must be a Splitter.
	Tasks int
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

// Retry is `settings.retry`, taken as it is (see DefaultRetry for the
// values of a config without it).
type Retry struct {
	// MaxRetries is the number of retries after the first attempt; 0 = no
	// retries.
	MaxRetries int
	// InitialBackoffMs is the wait before the first retry.
	InitialBackoffMs int
	// MaxBackoffMs caps the wait between retries; a cap below
	// InitialBackoffMs is raised to it.
	MaxBackoffMs int
	// BackoffMultiplier grows the wait after each retry.
	BackoffMultiplier float64
}

// The defaults of settings.retry, as DefaultRetry returns them. The CUE
// definitions (#Settings.retry) hold the same values, which is what a
// checked config gets; a test of package check holds the two equal.
const (
	DefaultMaxRetries        = 10
	DefaultInitialBackoffMs  = 100
	DefaultMaxBackoffMs      = 30_000
	DefaultBackoffMultiplier = 2.0
)

// DefaultRetry returns the retry settings of a config without
// settings.retry: 10 retries, waiting 100 ms, doubling up to 30 s.
func DefaultRetry() Retry {
	return Retry{
		MaxRetries:        DefaultMaxRetries,
		InitialBackoffMs:  DefaultInitialBackoffMs,
		MaxBackoffMs:      DefaultMaxBackoffMs,
		BackoffMultiplier: DefaultBackoffMultiplier,
	}
}

// normalized returns r as the driver takes it: a negative MaxRetries
// counts as 0 (no retries). Backoff reads the other fields.
func (r Retry) normalized() Retry {
	r.MaxRetries = max(r.MaxRetries, 0)
	return r
}

// Backoff returns the wait before retry number n (0-based): the initial
// backoff times multiplier^n, capped at the maximum (a maximum below the
// initial backoff is raised to it). Negative fields count as 0.
func (r Retry) Backoff(n int) time.Duration {
	d := float64(max(r.InitialBackoffMs, 0))
	ceiling := float64(max(r.MaxBackoffMs, r.InitialBackoffMs, 0))
	for range n {
		d *= max(r.BackoffMultiplier, 0)
		if d >= ceiling {
			d = ceiling
			break
		}
	}
	return time.Duration(d * float64(time.Millisecond))
}

// Process is the config's top-level settings that concern the whole
// process rather than one pipeline, taken as they are (see DefaultProcess
// for the values of a config without them).
type Process struct {
	// LogLevel is trace, debug, info, warn or error ("" = info).
	LogLevel string
	// ShutdownTimeoutMs bounds the graceful stop after SIGINT/SIGTERM;
	// 0 = no grace period (stop at once).
	ShutdownTimeoutMs int
	// Health and Metrics are the servers of settings.health and
	// settings.metrics; each serves only when Enabled.
	Health, Metrics Server
	// Registry is the `schema_registry` section.
	Registry Registry
}

// DefaultProcess returns the process settings of a config without a
// settings section: log level info, a 30 s grace period on shutdown, and
// neither server enabled (enabled, they would serve 127.0.0.1:8080/health
// and 127.0.0.1:9091/metrics). The CUE definitions (#Settings) hold the
// same values, which is what a checked config gets; a test of package
// check holds the two equal.
func DefaultProcess() Process {
	return Process{
		LogLevel:          "info",
		ShutdownTimeoutMs: 30_000,
		Health:            Server{Address: "127.0.0.1", Port: 8080, Path: "/health"},
		Metrics:           Server{Address: "127.0.0.1", Port: 9091, Path: "/metrics"},
	}
}

// DefaultSettings returns the settings of a pipeline of a config without
// a settings section (or pipeline settings): DefaultRetry and
// DefaultProcess, the zero value for the rest.
func DefaultSettings() Settings {
	return Settings{Retry: DefaultRetry(), Process: DefaultProcess()}
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

// ShutdownTimeout returns the grace period of a graceful stop (a negative
// ShutdownTimeoutMs counts as 0).
func (p Process) ShutdownTimeout() time.Duration {
	return time.Duration(max(p.ShutdownTimeoutMs, 0)) * time.Millisecond
}

// Server is an HTTP endpoint the process serves (health or metrics).
type Server struct {
	// Enabled makes the process serve the endpoint.
	Enabled bool
	// Address is the host to bind; "" (a Server built without one) =
	// 127.0.0.1: never all interfaces unless asked.
	Address string
	// Port to bind; 0 = any free port.
	Port int
	// Path of the main endpoint; "" = /health or /metrics.
	Path string
}
