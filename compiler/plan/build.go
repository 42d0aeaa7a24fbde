package plan

import (
	"github.com/rivven/rivven-connect/compiler/check"
)

// Build makes the plan of a checked config and runs the passes in their
// fixed order.
func Build(c *check.Config) *Plan {
	p := &Plan{File: c.File, Secrets: c.Secrets, Env: c.Env, Broker: c.Broker}
	for _, cp := range c.Pipelines {
		pp := &Pipeline{
			Name:     cp.Name,
			Enabled:  cp.Enabled,
			Origin:   cp.Origin,
			Source:   component(cp.Source),
			Sink:     component(cp.Sink),
			Schemas:  cp.Schemas,
			Settings: cp.Settings,
		}
		for _, st := range cp.Steps {
			switch {
			case st.Filter != nil:
				pp.Stages = append(pp.Stages, &Stage{Kind: Filter, Names: []string{st.Name}, Cond: st.Filter})
			case st.Mask != nil:
				spec := st.Mask.Spec
				s := &Stage{Kind: Mask, Names: []string{st.Name}, Cond: st.Mask.When, Mask: &spec}
				for _, f := range st.Mask.Fields {
					s.Fields = append(s.Fields, FieldPath{Path: f.Path, Index: f.Index, Keys: f.Keys})
				}
				pp.Stages = append(pp.Stages, s)
			}
		}
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
	for _, pass := range passes {
		for _, pp := range p.Pipelines {
			pass.run(pp)
		}
	}
	return p
}

func component(c *check.Component) Component {
	if c == nil {
		return Component{}
	}
	return Component{Name: c.Name, Connector: c.Connector, Config: c.Config, Unavailable: c.Unavailable, Implied: c.Implied, Notes: c.Notes}
}
