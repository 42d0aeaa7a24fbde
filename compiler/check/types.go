// Package check validates a parsed config and resolves it: CUE validation
// of the document and of each component's config, connector and reference
// resolution, the desugaring of the broker-topic shape into pipelines, and
// the compilation and typing of every condition against the schema that
// reaches it. Its one entry verb is Check.
package check

import (
	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
)

// Config is a checked config: every pipeline resolved, in name order.
type Config struct {
	File      string
	Pipelines []*Pipeline
	// Sources are every valid declared source, in name order.
	Sources []*Component
	// Sinks are every valid declared sink, in name order (dead-letter sinks
	// need not be any pipeline's sink).
	Sinks []*Component
	// Env lists every scalar that came from ${VAR} substitution.
	Env []EnvBinding
	// Secrets are the texts substituted from environment variables; dumps
	// and messages must never show them.
	Secrets []string
	// Broker is the top-level `broker` section (nil without one); the
	// embedded schema registry keeps its log there.
	Broker *broker.Conn
}

// Component is a resolved source or sink.
type Component struct {
	Name      string // the config's name for it
	Connector string
	Bind      *bind.Component
	Config    any // the stdlib plain-data config
	// Locked are a source's streams as the schema lock holds them, in
	// capture order (nil: no lock for it).
	Locked []*lock.Stream
	// Schema is a source's record schema; nil when known only at run time
	// (or, with a lock, per stream: Locked).
	Schema *runtime.Schema
	// Implied marks a component the broker-topic shape made up (the rivven
	// sink of `<source>-to-topic`, the broker-topic source of
	// `topic-to-<sink>`): its config comes from the top-level `broker`
	// section and the declaring component's topic keys, not from a
	// `config` block of its own.
	Implied bool
	// Notes are what explain shows under a sink for its pipeline (from
	// bind.Component.Wire); set on the pipeline's own copy of the sink.
	Notes []string
}

// Step is one transform as one pipeline applies it.
type Step struct {
	Name string // the transform's name in the config
	Type string // its transform type (bind.TransformType.Name)
	// Stages are what it does: one stage, resolved against the schema
	// reaching it, for every record or (Scope) the records of some
	// streams; or, on a source with several locked streams, one stage per
	// stream it applies to, each typed against that stream's schema. Empty
	// when its config has errors (reported).
	Stages []ScopedStage
}

// ScopedStage is a transform's stage and the records it applies to.
type ScopedStage struct {
	Stage bind.Stage
	// Scope lists the streams whose records the stage applies to; nil:
	// every record.
	Scope []bind.StreamName
	// In is the schema reaching the stage (nil: known only at run time).
	In *runtime.Schema
}

// Pipeline is a resolved pipeline.
type Pipeline struct {
	Name    string
	Enabled bool
	Source  *Component
	Sink    *Component
	Steps   []*Step
	// Schemas[i] is the schema entering Steps[i]; the last is what the sink
	// receives. Nil entries: unknown until run time.
	Schemas []*runtime.Schema

	Settings runtime.Settings
	// Origin explains a pipeline the broker-topic shape implied; "" for a
	// pipeline the config declares.
	Origin string
}

// EnvBinding is a config scalar that came from environment variables: a
// generated binary re-reads it at start-up instead of baking it in.
type EnvBinding struct {
	Path []string
	Pos  source.Pos
	Raw  string       // the scalar as written, e.g. "${SALT}"
	Kind runtime.Kind // the kind the value had when compiled
}
