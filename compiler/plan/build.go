package plan

import (
	"github.com/rivven/rivven-connect/compiler/check"
)

// Build makes the plan of a checked config and fuses stages (unless o.NoPasses).
func Build(c *check.Config, o Options) *Plan {
	p := &Plan{File: c.File, Secrets: c.Secrets, Env: c.Env, Broker: c.Broker}
	for _, cp := range c.Pipelines {
		pp := &Pipeline{
			Name:     cp.Name,
			Enabled:  cp.Enabled,
			Origin:   cp.Origin,
			Source:   component(cp.Source),
			Sink:     component(cp.Sink),
			Settings: cp.Settings,
		}
		for _, st := range cp.Steps {
			for _, ss := range st.Stages {
				pp.Stages = append(pp.Stages, &Stage{Parts: []Part{{Name: st.Name, Origins: origins(c.Env, st.Name)}}, Spec: ss.Stage, Scope: ss.Scope})
				pp.Schemas = append(pp.Schemas, ss.In)
			}
		}
		pp.Schemas = append(pp.Schemas, cp.Schemas[len(cp.Schemas)-1])
		p.Pipelines = append(p.Pipelines, pp)
	}
	for _, s := range c.Sources {
		info := SourceInfo{Component: component(s), Schema: s.Schema}
		if s.Bind != nil && s.Bind.Streams != nil && s.Config != nil {
			if st := s.Bind.Streams(s.Config); len(st.Names) == 1 {
				info.Stream, info.Namespace = st.Names[0].Name, st.Names[0].Namespace
			}
		}
		p.Sources = append(p.Sources, info)
	}
	for _, s := range c.Sinks {
		p.Sinks = append(p.Sinks, component(s))
	}
	if !o.NoPasses {
		for _, pp := range p.Pipelines {
			fuse(pp)
		}
	}
	return p
}

// Options tune Build.
type Options struct {
	// NoPasses leaves every transform its own stage (the passes must not
	// change records or errors; tests compare both ways).
	NoPasses bool
}

// origins maps the config keys of transform name that came from the
// environment to their text as written.
func origins(env []check.EnvBinding, name string) map[string]string {
	var out map[string]string
	for _, b := range env {
		if len(b.Path) == 4 && b.Path[0] == "transforms" && b.Path[1] == name && b.Path[2] == "config" {
			if out == nil {
				out = map[string]string{}
			}
			out[b.Path[3]] = b.Raw
		}
	}
	return out
}

func component(c *check.Component) Component {
	if c == nil {
		return Component{}
	}
	return Component{Name: c.Name, Connector: c.Connector, Config: c.Config, Implied: c.Implied, Notes: c.Notes}
}
