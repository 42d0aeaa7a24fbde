// Package plan is the compiler's intermediate representation: for each
// pipeline, a source, ONE list of stages (the fused per-record function) and
// a sink, with the schema on every edge. A Plan is plain data; both back
// ends consume it and nothing else. Build makes a plan from a checked config
// and runs the passes; Dump renders it deterministically.
package plan

import (
	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
)

// Plan is every pipeline of one config.
type Plan struct {
	File      string
	Pipelines []*Pipeline
	// Sources are every declared source with its record schema (nil when
	// known only at run time), in name order; discover reads them.
	Sources []SourceInfo
	// Sinks are every declared sink, in name order; back ends instantiate
	// dead-letter sinks from here.
	Sinks []Component
	// Env lists the config scalars that came from ${VAR}: back ends that
	// outlive the compile (generated binaries) re-read them at start-up.
	Env []check.EnvBinding
	// Secrets are texts that came from environment variables. Dump hides
	// them; back ends must not bake them into artefacts.
	Secrets []string
	// Broker is the top-level `broker` section (nil without one), where
	// the embedded schema registry keeps its log.
	Broker *broker.Conn
}

// Pipeline is one source → stages → sink flow.
type Pipeline struct {
	Name    string
	Enabled bool
	// Origin explains a pipeline implied by the broker-topic shape.
	Origin string
	Source Component
	Sink   Component
	Stages []*Stage
	// Schemas[i] is the schema entering Stages[i]; the last one reaches the
	// sink. Records keep the source's layout (Schemas[0]); later schemas
	// retype masked fields and mark removed ones KindAbsent.
	Schemas  []*runtime.Schema
	Settings runtime.Settings
}

// Component is a source or sink: its config name, connector and the
// stdlib's plain-data config.
type Component struct {
	Name      string
	Connector string
	Config    any
	// Implied marks a component the broker-topic shape made up; its config
	// holds the top-level `broker` section (whose ${VAR}s a compiled
	// binary reads at start-up).
	Implied bool
	// Notes are what explain shows under the component for its pipeline
	// (a sink's resolved topics and record key).
	Notes []string
}

// SourceInfo describes a declared source for discovery.
type SourceInfo struct {
	Component
	Schema *runtime.Schema
	// Stream and Namespace, when the config decides them.
	Stream, Namespace string
}

// Stage is one step of the per-record function: one config transform, or
// several after fusion.
type Stage struct {
	// Parts are the config transforms this stage implements, in order.
	// Fusion merges stages, never the provenance of their parts: a back
	// end attributes a failure to the part that failed, and reads a part's
	// ${VAR} values from that part's config.
	Parts []Part
	// Spec is what the stage does, as its transform type resolved it
	// (bind.Stage: each type dumps, fuses, interprets and emits itself).
	Spec bind.Stage
	// Scope lists the streams whose records the stage applies to; records
	// of other streams pass it unchanged. nil: every record.
	Scope []bind.StreamName
}

// InScope reports whether the stage applies to records of stream name in
// namespace ns.
func (s *Stage) InScope(name, ns string) bool {
	if s.Scope == nil {
		return true
	}
	for _, sc := range s.Scope {
		if sc.Name == name && sc.Namespace == ns {
			return true
		}
	}
	return false
}

// Part is one config transform inside a stage.
type Part = bind.Part

// Kind is the transform type of the stage ("filter", "mask").
func (s *Stage) Kind() string { return s.Spec.Type() }

// Names returns the names of the config transforms s implements, in order.
func (s *Stage) Names() []string { return bind.PartNames(s.Parts) }
