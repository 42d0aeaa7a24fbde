package check

import (
	"fmt"
	"net"
	"time"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
	rsource "github.com/rivven/rivven-connect/stdlib/rivven/source"
)

// The components that the broker-topic shape implies (see desugar): their
// configs come from the top-level `broker` section, the declaring source's
// `topic`/`topic_config` or sink's `topics`/`consumer_group`/
// `start_offset`, and `settings.topic`.

// brokerConn reads and checks the top-level broker section; ok is false
// when it has errors (reported, positioned at the offending value).
func (c *checker) brokerConn() (broker.Conn, bool) {
	n := c.file.Root.Get("broker")
	conn := bind.BrokerConn(n)
	ok := true
	check := func(item *config.Node, path []string) {
		if item == nil || item.Kind != config.String || item.Bad {
			return
		}
		if _, _, err := net.SplitHostPort(item.Text); err != nil {
			c.errs.Add(item.Pos, source.CodeInvalidValue, config.JoinPath(path), "broker address %s is not host:port", c.shown(item))
			ok = false
		}
	}
	if bs := n.Get("bootstrap_servers"); bs != nil {
		for i, it := range bs.Items {
			check(it, []string{"broker", "bootstrap_servers", fmt.Sprint(i)})
		}
	}
	check(n.Get("address"), []string{"broker", "address"})
	if len(conn.BootstrapServers) == 0 {
		c.errs.Add(n.Pos, source.CodeMissingKey, "broker.bootstrap_servers", "the broker section names no broker: set bootstrap_servers (a list of host:port) or address")
		ok = false
	}
	if t := n.Get("tls"); t != nil && (t.Get("cert_path") == nil) != (t.Get("key_path") == nil) {
		c.errs.Add(t.Pos, source.CodeMissingKey, "broker.tls", "tls.cert_path and tls.key_path must be set together")
		ok = false
	}
	return conn, ok
}

// shown quotes a value for a message, unless it came from the environment.
func (c *checker) shown(n *config.Node) string {
	if len(n.Vars) > 0 {
		return fmt.Sprintf("(from ${%s})", n.Vars[0].Name)
	}
	return fmt.Sprintf("%q", n.Text)
}

// topicSettings returns settings.topic's auto_create (default true),
// default_partitions (0: the broker's) and require_topic_exists.
func (c *checker) topicSettings() (autoCreate bool, partitions int, require bool) {
	autoCreate = true
	st := c.file.Root.Lookup("settings", "topic")
	if b, ok := boolSetting(st.Get("auto_create")); ok {
		autoCreate = b
	}
	if n, ok := intSetting(st.Get("default_partitions")); ok {
		partitions = n
	}
	require, _ = boolSetting(st.Get("require_topic_exists"))
	return autoCreate, partitions, require
}

func boolSetting(n *config.Node) (bool, bool) {
	if n == nil || n.Kind != config.Bool {
		return false, false
	}
	return n.Text == "true", true
}

// brokerSink is the rivven sink implied by source name's `topic` (node t);
// nil when the config has errors there (reported).
func (c *checker) brokerSink(name string, decl, t *config.Node, src *Component) *Component {
	ok := true
	if !t.Bad {
		if _, err := broker.ParseTemplate(t.Text); err != nil {
			msg := err.Error()
			if len(t.Vars) > 0 {
				msg = fmt.Sprintf("the topic from ${%s} is not a valid topic name", t.Vars[0].Name)
			}
			c.errs.Add(t.Pos, source.CodeInvalidValue, config.JoinPath([]string{"sources", name, "topic"}), "%s", msg)
			ok = false
		}
	}
	conn, connOK := c.brokerConn()
	if !ok || !connOK || t.Bad {
		return nil
	}
	autoCreate, partitions, _ := c.topicSettings()
	if tc := decl.Get("topic_config"); tc != nil {
		if b, set := boolSetting(tc.Get("auto_create")); set {
			autoCreate = b
		}
		if n, set := intSetting(tc.Get("partitions")); set {
			partitions = n
		}
	}
	cfg := sink.Config{Broker: conn, Topic: t.Text, Idempotent: true, Format: "source_event",
		AutoCreate: autoCreate, Partitions: partitions}
	if src.Bind != nil && src.Bind.KeyField != nil && src.Config != nil {
		cfg.CDCKeyField = src.Bind.KeyField(src.Config)
	}
	b, _ := bind.Lookup(bind.Sink, "rivven")
	return &Component{Name: "broker", Connector: "rivven", Bind: b, Config: cfg, Implied: true}
}

// brokerSource is the broker-topic source implied by sink name's `topics`
// (node ts); nil when the config has errors there (reported).
func (c *checker) brokerSource(name string, decl, ts *config.Node, retry runtime.Retry) *Component {
	path := []string{"sinks", name}
	ok := true
	var topics []string
	for i, t := range ts.Items {
		if t.Kind != config.String || t.Bad {
			ok = false
			continue
		}
		if err := broker.ValidateTopic(t.Text); err != nil {
			msg := err.Error()
			if len(t.Vars) > 0 {
				msg = fmt.Sprintf("the topic from ${%s} is not a valid topic name", t.Vars[0].Name)
			}
			c.errs.Add(t.Pos, source.CodeInvalidValue, config.JoinPath(append(path, "topics", fmt.Sprint(i))), "%s", msg)
			ok = false
		}
		topics = append(topics, t.Text)
	}
	if len(ts.Items) == 0 {
		c.errs.Add(ts.Pos, source.CodeInvalidValue, config.JoinPath(append(path, "topics")), "topics is empty: name at least one topic to consume")
		ok = false
	}
	cfg := rsource.Config{Topics: topics, ConsumerGroup: "rivven-connect-" + name, StartOffset: "earliest", Retry: retry}
	if g := decl.Get("consumer_group"); g != nil && g.Kind == config.String {
		if g.Text == "" {
			c.errs.Add(g.Pos, source.CodeInvalidValue, config.JoinPath(append(path, "consumer_group")), "consumer_group must not be empty")
			ok = false
		}
		cfg.ConsumerGroup = g.Text
	}
	switch so := decl.Get("start_offset"); {
	case so == nil:
	case so.Kind == config.String:
		cfg.StartOffset = so.Text
	case so.Kind == config.Map:
		if ts := so.Get("timestamp"); ts != nil && ts.Kind == config.String && !ts.Bad {
			if _, err := time.Parse(time.RFC3339Nano, ts.Text); err != nil {
				c.errs.Add(ts.Pos, source.CodeInvalidValue, config.JoinPath(append(path, "start_offset", "timestamp")),
					"start_offset timestamp %s is not an RFC 3339 time (e.g. 2026-01-02T03:04:05Z)", c.shown(ts))
				ok = false
			}
			cfg.StartOffset, cfg.StartTimestamp = "timestamp", ts.Text
		}
	}
	_, _, cfg.RequireTopicExists = c.topicSettings()
	conn, connOK := c.brokerConn()
	if !ok || !connOK {
		return nil
	}
	cfg.Broker = conn
	b, _ := bind.Lookup(bind.Source, "rivven")
	return &Component{Name: "broker", Connector: "rivven", Bind: b, Config: cfg, Implied: true}
}

// deadLetterTopic is the rivven sink that settings.dead_letter_topic
// (node t) implies, writing dead letters to that broker topic; it is added
// to the declared sinks once per topic. nil when the config has errors
// there (reported).
func (c *checker) deadLetterTopic(t *config.Node, path []string) *Component {
	if t.Bad {
		return nil
	}
	if c.file.Root.Get("broker") == nil {
		c.errs.Add(t.Pos, source.CodeMissingKey, "broker", "settings.dead_letter_topic %s needs a top-level broker section (bootstrap_servers)", c.shown(t))
		return nil
	}
	if err := broker.ValidateTopic(t.Text); err != nil {
		c.errs.Add(t.Pos, source.CodeInvalidValue, config.JoinPath(path), "%s", err)
		return nil
	}
	conn, ok := c.brokerConn()
	if !ok {
		return nil
	}
	name := "dead-letter-topic:" + t.Text
	for _, s := range c.out.Sinks {
		if s.Name == name {
			return s
		}
	}
	autoCreate, partitions, _ := c.topicSettings()
	b, _ := bind.Lookup(bind.Sink, "rivven")
	comp := &Component{Name: name, Connector: "rivven", Bind: b, Implied: true,
		Config: sink.Config{Broker: conn, Topic: t.Text, Idempotent: true, Format: "source_event", AutoCreate: autoCreate, Partitions: partitions}}
	c.out.Sinks = append(c.out.Sinks, comp)
	return comp
}
