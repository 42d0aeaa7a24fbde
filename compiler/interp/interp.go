// Package interp is the interpreting back end: New turns a plan into
// runtime pipelines whose per-record function is a chain of closures
// calling the same stdlib functions that generated code calls.
package interp

import (
	"fmt"
	"time"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
)

// New instantiates every enabled pipeline of p. It fails, naming the
// pipeline, when a component cannot be built or is not available in this
// build. The pipelines are not started.
func New(p *plan.Plan, env runtime.Env) ([]*runtime.Pipeline, error) {
	var out []*runtime.Pipeline
	for _, pp := range p.Pipelines {
		if !pp.Enabled {
			continue
		}
		rp, err := pipeline(pp, env)
		if err == nil && pp.Settings.OnError == runtime.OnErrorDeadLetter {
			if pp.Settings.DeadLetterSink == "" {
				err = fmt.Errorf("on_error: dead_letter: settings.dead_letter_topic needs the broker connector as a sink; name a sink with settings.dead_letter_sink")
			} else {
				rp.DeadLetter, err = namedSink(p, pp.Settings.DeadLetterSink, "dead_letter_sink", env)
			}
		}
		if err == nil && pp.Settings.ClusterSink != "" {
			rp.ClusterStatus, err = namedSink(p, pp.Settings.ClusterSink, "cluster status sink", env)
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline %q: %w", pp.Name, err)
		}
		out = append(out, rp)
	}
	return out, nil
}

// namedSink instantiates the plan's sink name, which a pipeline's
// settings name as what (its dead_letter_sink, its cluster status sink).
func namedSink(p *plan.Plan, name, what string, env runtime.Env) (runtime.Sink, error) {
	for _, c := range p.Sinks {
		if c.Name != name {
			continue
		}
		b, ok := bind.LookupFor(bind.Sink, c.Connector, c.Config)
		if !ok || b.NewSink == nil {
			return nil, fmt.Errorf("%s %q: connector %q cannot run", what, name, c.Connector)
		}
		s, err := b.NewSink(c.Config, env)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, name, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("%s %q: no such sink", what, name)
}

func pipeline(pp *plan.Pipeline, env runtime.Env) (*runtime.Pipeline, error) {
	src, err := NewSource(pp.Source, env)
	if err != nil {
		return nil, err
	}
	sink, err := NewSink(pp.Sink, env)
	if err != nil {
		return nil, err
	}
	now := env.Now
	if now == nil {
		now = time.Now
	}
	prog, err := programAt(pp, now)
	if err != nil {
		return nil, err
	}
	var transforms []string
	for _, st := range pp.Stages {
		transforms = append(transforms, st.Names()...)
	}
	return &runtime.Pipeline{
		Name:            pp.Name,
		SourceName:      pp.Source.Name,
		SinkName:        pp.Sink.Name,
		SourceConnector: pp.Source.Connector,
		SinkConnector:   pp.Sink.Connector,
		Transforms:      transforms,
		Now:             env.Now,
		Source:          src,
		Program:         prog,
		Sink:            sink,
		Settings:        pp.Settings,
	}, nil
}

// NewSource builds the source c without opening it (run, probes and
// discovery). The caller owns it.
func NewSource(c plan.Component, env runtime.Env) (runtime.Source, error) {
	b, ok := bind.LookupFor(bind.Source, c.Connector, c.Config)
	if !ok || b.NewSource == nil {
		return nil, fmt.Errorf("source connector %q cannot run", c.Connector)
	}
	src, err := b.NewSource(c.Config, env)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", c.Name, err)
	}
	return src, nil
}

// NewSink builds the sink c without opening it. The caller owns it.
func NewSink(c plan.Component, env runtime.Env) (runtime.Sink, error) {
	b, ok := bind.LookupFor(bind.Sink, c.Connector, c.Config)
	if !ok || b.NewSink == nil {
		return nil, fmt.Errorf("sink connector %q cannot run", c.Connector)
	}
	sink, err := b.NewSink(c.Config, env)
	if err != nil {
		return nil, fmt.Errorf("sink %q: %w", c.Name, err)
	}
	return sink, nil
}
