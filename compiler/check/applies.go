package check

import (
	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
	rsource "github.com/rivven/rivven-connect/stdlib/rivven/source"
)

// Keys that are valid on their own but that the rest of the config leaves
// without effect. The project's rule: config that names something is never
// accepted and ignored, so each is refused at its key, with code
// invalid-value, saying why it does not apply and what to do. Messages
// never quote a value that came from the environment (shown).

// misfits reports a component's misfits (bind.Component.Misfits) found in
// its config block n at path.
func (c *checker) misfits(ms []bind.Misfit, n *config.Node, path []string) {
	for _, m := range ms {
		pos := c.posOf(path)
		if k := n.Lookup(m.Key...); k != nil {
			pos = keyPos(k)
		}
		c.errs.Add(pos, source.CodeInvalidValue, config.JoinPath(append(append([]string(nil), path...), m.Key...)), "%s", m.Why)
	}
}

// keyPos is where the key naming n starts, or n's own position when it
// has no key (a list item).
func keyPos(n *config.Node) source.Pos {
	if n.KeyPos.Line == 0 {
		return n.Pos
	}
	return n.KeyPos
}

// brokerDefaults applies the process-wide settings to the config of a
// declared rivven component (name, config block n at path): a source gets
// the default consumer group rivven-connect-<name>, settings.retry and,
// unless its own require_topic_exists is set,
// settings.topic.require_topic_exists; a sink creates missing topics as
// settings.topic says unless its own topic_config says otherwise
// (sinkTopics). Other configs are returned as they are.
func (c *checker) brokerDefaults(name string, cfg any, n *config.Node, path []string) any {
	switch rc := cfg.(type) {
	case rsource.Config:
		if rc.ConsumerGroup == "" {
			rc.ConsumerGroup = "rivven-connect-" + name // as for a sink's `topics`
		}
		if n.Get("require_topic_exists") == nil {
			rc.RequireTopicExists = c.topicSettings().requireExists
		}
		rc.Retry = c.retry()
		return rc
	case sink.Config:
		rc.AutoCreate, rc.Partitions = c.sinkTopics(n.Get("topic_config"), append(append([]string(nil), path...), "topic_config"))
		return rc
	}
	return cfg
}

// topicKeyMisfits refuses the broker-topic keys of sources and sinks whose
// anchor key is missing: a source's topic_config without topic, a sink's
// consumer_group or start_offset without topics.
func (c *checker) topicKeyMisfits() {
	root := c.file.Root
	if sec := root.Get("sources"); sec != nil && sec.Kind == config.Map {
		for i, name := range sec.Keys {
			n := sec.Items[i]
			if tc := n.Get("topic_config"); tc != nil && n.Get("topic") == nil {
				c.errs.Add(keyPos(tc), source.CodeInvalidValue, config.JoinPath([]string{"sources", name, "topic_config"}),
					"topic_config applies to the topic this source publishes to (%s), which is not set: set topic, or remove topic_config",
					config.JoinPath([]string{"sources", name, "topic"}))
			}
		}
	}
	if sec := root.Get("sinks"); sec != nil && sec.Kind == config.Map {
		for i, name := range sec.Keys {
			n := sec.Items[i]
			if n.Get("topics") != nil {
				continue
			}
			for _, key := range []string{"consumer_group", "start_offset"} {
				if k := n.Get(key); k != nil {
					c.errs.Add(keyPos(k), source.CodeInvalidValue, config.JoinPath([]string{"sinks", name, key}),
						"%s applies to the broker topics this sink consumes (%s), which are not set: set topics, or remove %s",
						key, config.JoinPath([]string{"sinks", name, "topics"}), key)
				}
			}
		}
	}
}

// settingsMisfits refuses settings.health and settings.metrics keys when
// the server is not enabled: nothing would serve them.
func (c *checker) settingsMisfits() {
	for _, server := range []string{"health", "metrics"} {
		n := c.file.Root.Lookup("settings", server)
		if n == nil || n.Kind != config.Map {
			continue
		}
		if on, _ := boolSetting(n.Get("enabled")); on {
			continue
		}
		for i, k := range n.Keys {
			if k == "enabled" {
				continue
			}
			c.errs.Add(n.Items[i].KeyPos, source.CodeInvalidValue, config.JoinPath([]string{"settings", server, k}),
				"settings.%s.%s is set but settings.%s.enabled is not true: no %s server would start; set enabled: true, or remove %s",
				server, k, server, server, k)
		}
	}
}

// registryMisfits refuses the schema_registry keys that do not fit its
// mode: url, and auth without listen, in embedded mode (the default);
// compatibility, listen and topic in external mode; topic without a
// broker section (the embedded registry then keeps its schemas under
// settings.state_dir).
func (c *checker) registryMisfits() {
	r := c.file.Root.Get("schema_registry")
	if r == nil || r.Kind != config.Map {
		return
	}
	mode := "mode is not set; embedded is the default"
	external := false
	if m := r.Get("mode"); m != nil && m.Kind == config.String {
		external = m.Text == "external"
		mode = "mode: " + m.Text
		if len(m.Vars) > 0 {
			mode = "mode from ${" + m.Vars[0].Name + "}"
		}
	}
	refuse := func(key, format string, args ...any) {
		if k := r.Get(key); k != nil {
			c.errs.Add(k.KeyPos, source.CodeInvalidValue, "schema_registry."+key, format, args...)
		}
	}
	if external {
		refuse("compatibility", "schema_registry.compatibility sets the level of the embedded registry; an external registry (%s) keeps its own level (check --connect reports it): remove compatibility", mode)
		refuse("listen", "schema_registry.listen serves the embedded registry's REST API; an external registry (%s) serves itself at url: remove listen", mode)
		refuse("topic", "schema_registry.topic names the broker topic of the embedded registry's log; an external registry (%s) keeps its own: remove topic", mode)
		return
	}
	refuse("url", "schema_registry.url is the address of an external registry, but this registry is embedded (%s): set mode: external to use the registry at url, or remove url", mode)
	if r.Get("listen") == nil {
		refuse("auth", "schema_registry.auth protects the REST API that the embedded registry (%s) serves at schema_registry.listen, and listen is not set: set listen, or remove auth", mode)
	}
	if c.file.Root.Get("broker") == nil {
		refuse("topic", "schema_registry.topic names the broker topic where the embedded registry (%s) keeps its log, and the config has no broker section (the schemas are kept under settings.state_dir): add a broker section, or remove topic", mode)
	}
}
