// Package bind is the registry of components: for each connector and
// transform name, the CUE definition of its config, how to turn the
// validated config into the stdlib's plain-data config, what schema a
// source's records have, and how the interpreter instantiates it. One file
// per component.
//
// A connector is registered once (see connector): its CUE definition is
// connectors.sources.<name> or connectors.sinks.<name> in cue/ (which holds
// every default), its Go config is the stdlib's config struct, decoded
// straight from the validated CUE value through the struct's json tags
// (TestConfigKeysMatchStructTags holds the keys and the tags equal), and
// GoField follows the same tags; the rest are its constructor and
// optional hooks.
package bind

import (
	"fmt"
	"sort"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/runtime"
)

// Kind is the role of a component.
type Kind uint8

// Component roles.
const (
	Source Kind = iota
	Sink
	Transform
)

// CUEKind returns the key of the role under `connectors` in the CUE
// package ("sources", "sinks", "transforms").
func (k Kind) CUEKind() string {
	return [...]string{"sources", "sinks", "transforms"}[k]
}

func (k Kind) String() string { return [...]string{"source", "sink", "transform"}[k] }

// Component binds one connector or transform.
type Component struct {
	Kind Kind
	Name string
	// Config is the zero value of the stdlib config struct (e.g.
	// datagen.Config{}) whose json tags name the keys of the config
	// block: Decode decodes the block into one, GoField follows the tags.
	Config any
	// Inline names a struct field of Config, tagged "-", whose own json
	// tags are keys of the config block itself (the rivven configs'
	// Broker: bootstrap_servers, tls, auth, …); "" when there is none.
	Inline string
	// Aliases lists the keys of the CUE definition (dotted paths below
	// `config`) that no json tag names, each with the Go field path that
	// holds its value ("publication_name" → "Publication"), or "" when
	// Decode turns it into fields no key path names (datagen's
	// custom_fields). Decode reads them from the CUE value itself.
	Aliases map[string]string
	// Decode turns the validated, defaulted CUE value of the config block
	// (and its document node, for key order) into the stdlib config.
	Decode func(v cue.Value, n *config.Node) (any, error)
	// Schema returns the schema of a source's records, or nil when the
	// source learns it only at run time.
	Schema func(cfg any) (*runtime.Schema, error)
	// Streams describes the streams a source's records belong to, as far
	// as its config decides them (for discover, and for Wire).
	Streams func(cfg any) Streams
	// Named gives the component the name the config declares it under,
	// for defaults that depend on it (e.g. a stream named after its
	// source); it returns the config the component runs with. nil: the
	// name does not matter.
	Named func(cfg any, name string) any
	// UseLock gives a source whose schema the server decides its streams'
	// locked schemas (check calls it when the config has a schema lock);
	// relock is the command that writes the lock again, for messages. It
	// returns the config the source runs with, e.g. one that stops on
	// schema drift from the lock. nil: the source takes no lock.
	UseLock func(cfg any, streams []*lock.Stream, relock string) any
	// Wire adapts a sink's config to one pipeline: in describes the
	// pipeline's source and the schema reaching the sink. It returns the
	// config that pipeline's sink uses (e.g. with a default topic derived
	// from the source's streams) and the lines `explain` shows under the
	// sink (e.g. the resolved topic and the record key). An error is
	// reported at the pipeline's sink. nil: the config is used as it is.
	Wire func(cfg any, in WireInput) (any, []string, error)
	// ChangeStream marks a source that reads a change stream only one
	// reader may consume at a time (CDC): in distributed mode it runs as
	// a singleton, never scaled out.
	ChangeStream bool
	// Elects marks a source whose instances are runtime.Electors, so it
	// can run as a cluster singleton (distributed mode).
	Elects bool
	// Grouped marks a source whose instances share their work through
	// the broker's consumer-group protocol: in distributed mode every node
	// runs it, and the group deals the partitions (mode partitioned).
	Grouped bool
	// Splits marks a source whose instances are runtime.Splitters: a
	// scalable pipeline of it may run more than one task.
	Splits bool
	// Conn marks a component whose config block holds broker connection
	// keys (bootstrap_servers, address, tls, auth): check validates them at
	// their keys, as it does the top-level `broker` section.
	Conn bool
	// Misfits lists the keys of config block n (a map, or nil when the
	// block is absent) that the rest of the block leaves without effect,
	// e.g. stdout's include_timestamp with format text. Check calls it
	// even when the block has other errors, so it must look only at the
	// values whose kind it expects. Check refuses each misfit at its key:
	// config never names a setting that is accepted and ignored. nil:
	// every key of the block always takes effect.
	Misfits func(n *config.Node) []Misfit
	// Go says how generated code instantiates the component: the same
	// constructor the interpreter's NewSource/NewSink call.
	Go *GoCtor
	// GoField maps a config key path (below `config`) to the Go field path
	// inside the stdlib config value cfg (e.g. ["max_events"] →
	// "MaxEvents", ["tables", "1"] → "Tables[1]"), so generated code can
	// read an environment-derived value at start-up. false: the key holds
	// no field of its own. register sets it to FieldPath (json tags and
	// Aliases) unless the component has keys of its own to map first.
	GoField func(cfg any, key []string) (string, bool)
	// EnvFrom lists config paths, besides the component's own config
	// block, whose ${VAR}s feed its config (a plugin's
	// plugins.<name>.config): GoField maps the key paths below each. nil:
	// only the config block.
	EnvFrom func(cfg any) [][]string
	// NewSource and NewSink instantiate the component for the interpreter.
	NewSource func(cfg any, env runtime.Env) (runtime.Source, error)
	NewSink   func(cfg any, env runtime.Env) (runtime.Sink, error)
}

// StreamFullName is a stream's name as configs and schema locks write it:
// "namespace.name", or the name alone without a namespace.
func StreamFullName(n StreamName) string {
	if n.Namespace == "" {
		return n.Name
	}
	return n.Namespace + "." + n.Name
}

// Streams describes a source's streams (see Component.Streams).
type Streams struct {
	// Names lists the streams when the config decides them; nil when only
	// the server knows them (e.g. every table of a publication).
	Names []StreamName
	// Namespaced reports that every record carries a namespace (a
	// table's schema).
	Namespaced bool
	// RowKey says how change events identify their row when the schema is
	// known only at run time ("" = they carry no row key), for explain.
	RowKey string
}

// StreamName is a stream and its namespace ("" when none).
type StreamName struct{ Name, Namespace string }

// WireInput is what Component.Wire knows of a sink's pipeline.
type WireInput struct {
	// Connector is the source's connector.
	Connector string
	// Streams describes the source's streams.
	Streams Streams
	// Schema is the schema reaching the sink; nil when known only at run
	// time.
	Schema *runtime.Schema
	// DeadLetter is set when the sink receives a pipeline's dead letters
	// (settings.dead_letter_sink): records of any stream, in the
	// dead-letter envelope.
	DeadLetter bool
}

// Misfit is a key of a config block that has no effect there (see
// Component.Misfits).
type Misfit struct {
	// Key is the key's path below the config block, e.g.
	// ["include_timestamp"].
	Key []string
	// Why says why the key has no effect and what to do instead. It never
	// quotes a value that came from the environment (see Shown).
	Why string
}

// Shown renders a scalar's value for a message: quoted as written, or
// "(from ${VAR})" when it came from the environment, whose values never
// appear in messages.
func Shown(n *config.Node) string {
	if n == nil {
		return `""`
	}
	if len(n.Vars) > 0 {
		return fmt.Sprintf("(from ${%s})", n.Vars[0].Name)
	}
	return fmt.Sprintf("%q", n.Text)
}

// GoCtor names a constructor `Pkg.Func(config, env.Env)` where Env is the
// runtime.Env field passed as the second argument (none when Env is "").
type GoCtor struct {
	Pkg, Func, Env string
	// Formats: the component uses the process's typed formats (the schema
	// registry); generated code calls its UseFormats(env.Formats) after
	// the constructor, as NewSink does for the interpreter.
	Formats bool
}

var registry = map[Kind]map[string]*Component{}

// register adds a component to the registry; a connector's GoField
// defaults to FieldPath.
func register(c *Component) {
	if c.GoField == nil && c.Config != nil {
		c.GoField = c.FieldPath
	}
	if registry[c.Kind] == nil {
		registry[c.Kind] = map[string]*Component{}
	}
	registry[c.Kind][c.Name] = c
}

// Lookup returns the component of a kind by name.
func Lookup(k Kind, name string) (*Component, bool) {
	c, ok := registry[k][name]
	return c, ok
}

// Names lists the component names of a kind, sorted.
func Names(k Kind) []string {
	var out []string
	for n := range registry[k] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ValueOf converts a scalar document node to a runtime value; maps and
// lists become objects and arrays.
func ValueOf(n *config.Node) runtime.Value {
	if n == nil {
		return runtime.Null()
	}
	switch x := n.Interface().(type) {
	case bool:
		return runtime.Bool(x)
	case int64:
		return runtime.Int(x)
	case float64:
		return runtime.Float(x)
	case string:
		return runtime.String(x)
	}
	switch n.Kind {
	case config.Map:
		o := runtime.NewObject(len(n.Keys))
		for i, k := range n.Keys {
			o.Set(k, ValueOf(n.Items[i]))
		}
		return runtime.ObjectValue(o)
	case config.Seq:
		a := make([]runtime.Value, len(n.Items))
		for i, it := range n.Items {
			a[i] = ValueOf(it)
		}
		return runtime.ArrayValue(a)
	}
	return runtime.Null()
}
