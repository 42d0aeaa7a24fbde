package runtime

import "context"

// Prober is implemented by components that can check their server without
// moving data (`rivven-connect check --connect`).
//
// Lifecycle: Probe is called on a component that was built but never
// opened, at most once, and the component is then discarded (Close is not
// called). Probe must release whatever it opened and must not create or
// change anything on the server.
type Prober interface {
	// Probe runs the component's checks. It returns one Finding per check;
	// an error only when it could not run them at all (it could not
	// connect): the error says where it looked and why.
	Probe(ctx context.Context) ([]Finding, error)
}

// Finding is the outcome of one check of a probe.
type Finding struct {
	// Check names what was checked ("wal_level", "topic orders").
	Check string `json:"check"`
	// Level is ok, warn (works, but needs attention) or fail (the pipeline
	// would stop or lose data).
	Level string `json:"level"`
	// Detail says what was found, and for warn and fail what to do.
	Detail string `json:"detail"`
}

// Finding levels.
const (
	FindingOK   = "ok"
	FindingWarn = "warn"
	FindingFail = "fail"
)

// Discoverer is implemented by sources that can list their streams from
// their server (`rivven-connect discover`). The component is built but
// never opened, and discarded afterwards; Discover releases what it opened.
type Discoverer interface {
	Discover(ctx context.Context) ([]DiscoveredStream, error)
}

// DiscoveredStream is one stream of a source's catalog.
type DiscoveredStream struct {
	Name, Namespace string
	// Schema is the stream's record schema (field order = column order).
	Schema *Schema
	// NativeTypes holds each field's type as the server names it
	// ("numeric(10,2)", "timestamp with time zone"), by field name.
	NativeTypes map[string]string
	// PrimaryKey lists the key's fields in key order; empty when none.
	PrimaryKey []string
	// NotNull marks the fields whose column refuses nulls, by field name
	// (for the schema lock; records still treat every field as nullable).
	NotNull map[string]bool
	// SyncModes are the Airbyte sync modes the stream supports.
	SyncModes []string
}
