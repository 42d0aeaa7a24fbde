// Package bind is the registry of components: for each connector and
// transform name, the CUE definition of its config, how to turn the
// validated config into the stdlib's plain-data config, what schema a
// source's records have, and how the interpreter instantiates it. One file
// per component.
package bind

import (
	"fmt"
	"sort"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
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
	// Def is the CUE definition of the config block, e.g. "#Datagen".
	Def string
	// Unavailable, when set, says why this build cannot run the component
	// yet; check accepts its config, run refuses it with this text.
	Unavailable string
	// Decode turns the validated, defaulted CUE value of the config block
	// (and its document node, for key order) into the stdlib config.
	Decode func(v cue.Value, n *config.Node) (any, error)
	// Schema returns the schema of a source's records, or nil when the
	// source learns it only at run time.
	Schema func(cfg any) (*runtime.Schema, error)
	// Stream returns the stream name and namespace a source's records carry,
	// when the config decides them (for discover).
	Stream func(cfg any) (name, namespace string)
	// KeyField returns the field that identifies a row of a source's
	// records (its primary key), or "" when there is none. A keyed sink
	// that the compiler wires to the source (the rivven sink implied by a
	// source's `topic`) keys change events by it, so that one row's changes
	// keep their order on one partition.
	KeyField func(cfg any) string
	// Go says how generated code instantiates the component: the same
	// constructor the interpreter's NewSource/NewSink call.
	Go *GoCtor
	// GoField maps a config key path (below `config`) to the Go field path
	// inside the stdlib config value (e.g. ["max_events"] → "MaxEvents"), so
	// generated code can read an environment-derived value at start-up.
	GoField func(cfg any, key []string) (string, bool)
	// NewSource and NewSink instantiate the component for the interpreter.
	NewSource func(cfg any, env runtime.Env) (runtime.Source, error)
	NewSink   func(cfg any, env runtime.Env) (runtime.Sink, error)
}

// GoCtor names a constructor `Pkg.Func(config, env.Env)` where Env is the
// runtime.Env field passed as the second argument.
type GoCtor struct {
	Pkg, Func, Env string
}

// fieldsByKey builds a GoField function from a key → Go field table.
func fieldsByKey(table map[string]string) func(any, []string) (string, bool) {
	return func(_ any, key []string) (string, bool) {
		if len(key) != 1 {
			return "", false
		}
		f, ok := table[key[0]]
		return f, ok
	}
}

var registry = map[Kind]map[string]*Component{}

func register(c *Component) {
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

// decodeInto decodes a CUE value into a struct with json tags.
func decodeInto(v cue.Value, dst any) error {
	if err := v.Decode(dst); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
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
