package check

import (
	"fmt"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/tasks"
	"github.com/rivven/rivven-connect/stdlib/wasm"
)

// Defaults of the distributed section (cue/config.cue says the same).
const (
	defaultClusterTopic     = "connect-status"
	defaultHeartbeatMs      = 1000
	defaultFailureTimeoutMs = 10000
)

// Pipeline modes of distributed mode.
const (
	modeSingleton   = "singleton"
	modeScalable    = "scalable"
	modePartitioned = "partitioned"
)

// distributed reads the distributed section and each pipeline's mode,
// after every pipeline is built: it refuses, each at its position, a
// cluster without the top-level broker, a cluster topic rivvend would
// refuse, a failure timeout not longer than the heartbeat, a CDC source
// in scalable mode, a mode or tasks without a distributed section, tasks
// outside mode scalable, a singleton whose source cannot elect a leader,
// and what this version cannot run yet (more than one task of a source
// that cannot split). The pipelines of an enabled cluster get
// Settings.Cluster (and the cluster status sink), singletons
// Settings.Singleton, scalable ones Settings.Tasks.
func (c *checker) distributed() {
	root := c.file.Root
	d := root.Get("distributed")
	pipes := root.Get("pipelines")
	modeOf := func(p *Pipeline) *config.Node {
		if m := pipesItem(pipes, p).Get("mode"); m != nil && m.Kind == config.String {
			return m
		}
		return nil
	}
	if d == nil || d.Kind != config.Map {
		for _, p := range c.out.Pipelines {
			if m := modeOf(p); m != nil {
				c.errs.Add(m.Pos, source.CodeNotAvailable, config.JoinPath([]string{"pipelines", p.Name, "mode"}),
					"mode says how the nodes of a cluster share the pipeline; it needs a distributed section with enabled: true (or remove mode)")
			}
			if tn := pipesItem(pipes, p).Get("tasks"); tn != nil {
				c.errs.Add(tn.Pos, source.CodeNotAvailable, config.JoinPath([]string{"pipelines", p.Name, "tasks"}),
					"tasks says how many tasks the nodes of a cluster share; it needs a distributed section with enabled: true and mode: scalable (or remove tasks)")
			}
		}
		return
	}
	en := d.Get("enabled")
	if en == nil || en.Kind != config.Bool || en.Text != "true" {
		return // a cluster switched off: the pipelines run on this node alone
	}
	cl := runtime.Cluster{Enabled: true, Topic: defaultClusterTopic, HeartbeatMs: defaultHeartbeatMs, FailureTimeoutMs: defaultFailureTimeoutMs}
	if root.Get("broker") == nil {
		c.errs.Add(en.Pos, source.CodeMissingKey, "distributed.enabled",
			"distributed mode needs the top-level broker section (bootstrap_servers): the nodes publish their state to the cluster topic there, and a singleton's broker producers are fenced there")
	}
	if n := d.Get("node_id"); n != nil && n.Kind == config.String {
		if n.Text == "" {
			c.errs.Add(n.Pos, source.CodeInvalidValue, "distributed.node_id", "node_id is empty%s; leave it out to use the host name", c.fromVars(n))
		}
		cl.Node = n.Text
	}
	if t := d.Get("cluster_topic"); t != nil && t.Kind == config.String {
		if err := broker.ValidateTopic(t.Text); err != nil {
			c.errs.Add(t.Pos, source.CodeInvalidValue, "distributed.cluster_topic", "%v", err)
		} else if err := broker.ValidateTopic(t.Text + tasks.StateTopicSuffix); err != nil {
			c.errs.Add(t.Pos, source.CodeInvalidValue, "distributed.cluster_topic", "the scalable pipelines' tasks keep their state in topic %q: %v", t.Text+tasks.StateTopicSuffix, err)
		}
		cl.Topic = t.Text
	}
	hb, ft := d.Lookup("failover", "heartbeat_interval_ms"), d.Lookup("failover", "failure_timeout_ms")
	if n, ok := intSetting(hb); ok {
		cl.HeartbeatMs = n
	}
	if n, ok := intSetting(ft); ok {
		cl.FailureTimeoutMs = n
	}
	if cl.FailureTimeoutMs <= cl.HeartbeatMs && cl.HeartbeatMs > 0 {
		at, path := d.Pos, "distributed"
		if ft != nil {
			at, path = ft.Pos, "distributed.failover.failure_timeout_ms"
		} else if hb != nil {
			at, path = hb.Pos, "distributed.failover.heartbeat_interval_ms"
		}
		c.errs.Add(at, source.CodeInvalidValue, path,
			"failure_timeout_ms (%d) must be longer than heartbeat_interval_ms (%d): a standby would take over from a leader that is renewing its lease", cl.FailureTimeoutMs, cl.HeartbeatMs)
	}

	var status *Component       // the cluster topic's sink, made once
	join := func(p *Pipeline) { // p runs in the cluster and publishes its state
		p.Settings.Cluster = cl
		if status == nil {
			status = c.clusterSink(d, cl.Topic)
		}
		if status != nil {
			p.Settings.ClusterSink = status.Name
		}
	}
	for _, p := range c.out.Pipelines {
		if !p.Enabled || p.Source == nil || p.Source.Bind == nil {
			continue
		}
		b := p.Source.Bind
		mode, m := "", modeOf(p)
		at, path := en.Pos, "distributed.enabled"
		if m != nil {
			mode, at, path = m.Text, m.Pos, config.JoinPath([]string{"pipelines", p.Name, "mode"})
		} else if n := pipesItem(pipes, p); n != nil {
			at, path = n.KeyPos, config.JoinPath([]string{"pipelines", p.Name})
		}
		switch {
		case mode != "":
		case b.ChangeStream:
			mode = modeSingleton
		case b.Grouped:
			mode = modePartitioned
		default:
			mode = modeScalable
		}
		who := fmt.Sprintf("pipeline %q (source %q, connector %s)", p.Name, p.Source.Name, p.Source.Connector)
		if tn := pipesItem(pipes, p).Get("tasks"); tn != nil && (mode == modeSingleton || mode == modePartitioned) {
			shown := mode + " (its default)"
			if m != nil {
				shown = c.shownPlain(m)
			}
			c.errs.Add(tn.Pos, source.CodeInvalidValue, config.JoinPath([]string{"pipelines", p.Name, "tasks"}),
				"%s runs in mode %s: tasks applies to mode scalable only (remove it, or set mode: scalable)", who, shown)
		}
		switch {
		case mode == modeSingleton && b.Grouped:
			c.errs.Add(at, source.CodeNotAvailable, path,
				"%s: a broker-topic source cannot run as a cluster singleton in this version of rivven-connect; use mode: partitioned (every node reads its share of the partitions through the consumer group)", who)
		case mode == modeScalable && b.ChangeStream:
			c.errs.Add(at, source.CodeInvalidValue, path,
				"%s reads a change stream only one reader may consume: it cannot be scaled out; use mode: singleton (one node reads, the others stand by)", who)
		case mode == modePartitioned && !b.Grouped:
			c.errs.Add(at, source.CodeInvalidValue, path,
				"%s: mode partitioned shares a broker topic's partitions among the nodes through its consumer group; this source reads no broker topic", who)
		case mode == modePartitioned:
			join(p)
		case mode == modeScalable:
			tasks := 1
			if tn := pipesItem(pipes, p).Get("tasks"); tn != nil {
				if n, ok := intSetting(tn); ok {
					tasks = n
				}
				if pl, ok := p.Source.Config.(wasm.Plugin); ok && tasks > 1 && !pl.Splits {
					c.errs.Add(tn.Pos, source.CodeInvalidValue, config.JoinPath([]string{"pipelines", p.Name, "tasks"}),
						"%s: plugin %q does not split its work into tasks (its manifest does not say splits); use tasks: 1 (one node runs the pipeline, another takes over when it fails)", who, pl.Name)
				} else if !ok && tasks > 1 && !b.Splits {
					c.errs.Add(tn.Pos, source.CodeNotAvailable, config.JoinPath([]string{"pipelines", p.Name, "tasks"}),
						"%s cannot split its work into tasks in this version of rivven-connect (datagen and plugins whose manifest says splits can); use tasks: 1 (one node runs the pipeline, another takes over when it fails)", who)
				}
			}
			join(p)
			p.Settings.Tasks = tasks
		case !b.Elects:
			c.errs.Add(at, source.CodeInvalidValue, path,
				"%s cannot run as a cluster singleton (postgres-cdc and mysql-cdc sources elect a leader in their database); use mode: scalable (with tasks: 1 one node runs the pipeline and another takes over when it fails)", who)
		default:
			join(p)
			p.Settings.Singleton = true
		}
	}
}

// clusterSink is the rivven sink that publishes the nodes' state to the
// cluster topic (format row), added to the declared sinks; nil when the
// config has errors there (reported).
func (c *checker) clusterSink(d *config.Node, topic string) *Component {
	if c.file.Root.Get("broker") == nil {
		return nil // reported at distributed.enabled
	}
	if _, ok := c.brokerConn(); !ok {
		return nil
	}
	t := d.Get("cluster_topic")
	if t == nil {
		t = &config.Node{Kind: config.String, Text: topic, Pos: d.Pos, KeyPos: d.KeyPos}
	}
	if broker.ValidateTopic(t.Text) != nil {
		return nil // reported at cluster_topic
	}
	format := &config.Node{Kind: config.String, Text: "row", Pos: d.Pos, KeyPos: d.KeyPos}
	name := "cluster-topic:" + topic
	cfg, ok := c.impliedConfig(bind.Sink, name, []string{"distributed", "cluster_topic"}, field{"topic", t}, field{"format", format})
	if !ok {
		return nil
	}
	b, _ := bind.Lookup(bind.Sink, "rivven")
	comp := &Component{Name: name, Connector: "rivven", Bind: b, Implied: true, Config: cfg}
	c.out.Sinks = append(c.out.Sinks, comp)
	return comp
}

// pipesItem is p's node under pipelines, or nil for an implied pipeline.
func pipesItem(pipes *config.Node, p *Pipeline) *config.Node {
	if pipes == nil || p.Origin != "" {
		return nil
	}
	return pipes.Get(p.Name)
}

// fromVars says which variables a value came from ("" when none).
func (c *checker) fromVars(n *config.Node) string {
	if len(n.Vars) == 0 {
		return ""
	}
	return fmt.Sprintf(" (from ${%s})", n.Vars[0].Name)
}
