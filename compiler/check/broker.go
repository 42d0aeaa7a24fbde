package check

import (
	"fmt"
	"net"
	"time"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
)

// The components that the broker-topic shape implies (see desugar): their
// configs come from the top-level `broker` section, the declaring source's
// `topic`/`topic_config` or sink's `topics`/`consumer_group`/
// `start_offset`, and `settings.topic`.

// brokerConn reads and checks the top-level broker section, once; ok is
// false when it has errors (reported, positioned at the offending key or
// value) or when the config has no broker section.
func (c *checker) brokerConn() (broker.Conn, bool) {
	if !c.brokerRead {
		c.brokerRead = true
		n := c.file.Root.Get("broker")
		c.brokerVal = bind.BrokerConn(n)
		// A section that is not a map is reported by the CUE validation.
		c.brokerOK = n != nil && n.Kind == config.Map && c.checkConn(n, []string{"broker"}, "the broker section")
	}
	return c.brokerVal, c.brokerOK
}

// checkConn checks the connection keys of n, the top-level broker section
// or the config block of a component with broker connection keys (n nil
// when absent), at path: addresses are host:port and there is one; a tls
// block with enabled: false has no other keys (a tls block enables TLS
// unless it says enabled: false); an enabled one has both or neither of
// cert_path and key_path; auth.mechanism plain has TLS. what names the
// block for the message about a missing address. It reports every problem
// and returns false if there is one.
func (c *checker) checkConn(n *config.Node, path []string, what string) bool {
	at := func(keys ...string) []string { return append(append([]string(nil), path...), keys...) }
	ok := true
	address := func(item *config.Node, itemPath []string) {
		if item == nil || item.Kind != config.String || item.Bad {
			return
		}
		if _, _, err := net.SplitHostPort(item.Text); err != nil {
			c.errs.Add(item.Pos, source.CodeInvalidValue, config.JoinPath(itemPath), "broker address %s is not host:port", c.shown(item))
			ok = false
		}
	}
	if bs := n.Get("bootstrap_servers"); bs != nil {
		for i, it := range bs.Items {
			address(it, at("bootstrap_servers", fmt.Sprint(i)))
		}
	}
	address(n.Get("address"), at("address"))
	if len(bind.BrokerConn(n).BootstrapServers) == 0 {
		pos := c.posOf(path)
		if n != nil {
			pos = n.Pos
		}
		c.errs.Add(pos, source.CodeMissingKey, config.JoinPath(at("bootstrap_servers")), "%s names no broker: set bootstrap_servers (a list of host:port) or address", what)
		ok = false
	}
	tlsOn := false
	if t := n.Get("tls"); t != nil && t.Kind == config.Map {
		tlsOn = true
		if e := t.Get("enabled"); e != nil && e.Kind == config.Bool && e.Text == "false" {
			tlsOn = false
			for i, k := range t.Keys {
				if k == "enabled" {
					continue
				}
				c.errs.Add(t.Items[i].KeyPos, source.CodeInvalidValue, config.JoinPath(at("tls", k)),
					"tls.enabled is false, so tls.%s has no effect: remove it, or remove enabled: false to connect over TLS", k)
				ok = false
			}
		} else if (t.Get("cert_path") == nil) != (t.Get("key_path") == nil) {
			c.errs.Add(t.Pos, source.CodeMissingKey, config.JoinPath(at("tls")), "tls.cert_path and tls.key_path must be set together")
			ok = false
		}
	}
	if m := n.Lookup("auth", "mechanism"); m != nil && m.Kind == config.String && m.Text == "plain" && !tlsOn {
		why := "there is no tls block"
		if n.Get("tls") != nil {
			why = "its tls block says enabled: false"
		}
		mech := "plain"
		if len(m.Vars) > 0 {
			mech = c.shown(m)
		}
		c.errs.Add(m.KeyPos, source.CodeInvalidValue, config.JoinPath(at("auth", "mechanism")),
			"auth.mechanism %s sends the password in clear text and needs TLS, but this connection has none (%s): add a tls block, or use scram-sha-256 (which never sends the password)", mech, why)
		ok = false
	}
	return ok
}

// shown quotes a value for a message, unless it came from the environment.
func (c *checker) shown(n *config.Node) string { return bind.Shown(n) }

// shownPlain is a value as written, unquoted, unless it came from the
// environment (then "(from ${VAR})").
func (c *checker) shownPlain(n *config.Node) string {
	if len(n.Vars) > 0 {
		return bind.Shown(n)
	}
	return n.Text
}

// topicDefaults is settings.topic: what every rivven sink does with a
// missing topic unless its own topic_config says otherwise, and whether
// the broker-topic sources wait for one.
type topicDefaults struct {
	// autoCreate: sinks create missing topics (auto_create, default true).
	autoCreate bool
	// partitions of created topics (default_partitions); 0 = the broker's.
	partitions int
	// requireExists (require_topic_exists): a missing topic is an error
	// for the broker-topic sources, which otherwise wait for it. Sinks
	// follow autoCreate.
	requireExists bool
}

// topicSettings reads settings.topic (validated by CUE).
func (c *checker) topicSettings() topicDefaults {
	d := topicDefaults{autoCreate: true}
	st := c.file.Root.Lookup("settings", "topic")
	if b, ok := boolSetting(st.Get("auto_create")); ok {
		d.autoCreate = b
	}
	if n, ok := intSetting(st.Get("default_partitions")); ok {
		d.partitions = n
	}
	d.requireExists, _ = boolSetting(st.Get("require_topic_exists"))
	return d
}

// sinkTopics returns whether a rivven sink creates missing topics and
// with how many partitions: its own topic_config (node tc at path; nil
// when absent) over settings.topic. It reports the keys of tc that
// cannot take effect: partitions when the sink creates no topics.
func (c *checker) sinkTopics(tc *config.Node, path []string) (autoCreate bool, partitions int) {
	d := c.topicSettings()
	autoCreate, partitions = d.autoCreate, d.partitions
	at := func(key string) string { return config.JoinPath(append(append([]string(nil), path...), key)) }
	off := "settings.topic.auto_create is false"
	if ac := tc.Get("auto_create"); ac != nil && ac.Kind == config.Bool {
		autoCreate = ac.Text == "true"
		if !autoCreate {
			off = "topic_config.auto_create is false"
		}
	}
	if p := tc.Get("partitions"); p != nil && p.Kind == config.Int {
		partitions, _ = intSetting(p)
		if !autoCreate {
			c.errs.Add(p.KeyPos, source.CodeInvalidValue, at("partitions"),
				"topic_config.partitions is the partition count of topics this sink creates, and it creates none (%s): remove it", off)
		}
		return autoCreate, partitions
	}
	if autoCreate {
		c.defaultPartitionsUsed = true
	}
	return autoCreate, partitions
}

// topicSettingsMisfits refuses default_partitions when no rivven sink
// creates topics with it (settings.topic.auto_create is false and no sink
// turns it back on without its own partitions). Run after every sink is
// resolved.
func (c *checker) topicSettingsMisfits() {
	st := c.file.Root.Lookup("settings", "topic")
	if st == nil || st.Kind != config.Map {
		return
	}
	ac, dp := st.Get("auto_create"), st.Get("default_partitions")
	acOn, acSet := boolSetting(ac)
	if dp == nil || c.defaultPartitionsUsed || !(acSet && !acOn) {
		return
	}
	c.errs.Add(dp.KeyPos, source.CodeInvalidValue, "settings.topic.default_partitions",
		"settings.topic.default_partitions is the partition count of topics the rivven sinks create, and none creates topics with it (settings.topic.auto_create is false, and no rivven sink sets topic_config.auto_create: true without its own partitions): remove it")
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
	if _, connOK := c.brokerConn(); !ok || !connOK || t.Bad {
		return nil
	}
	cfg, ok := c.impliedConfig(bind.Sink, name, []string{"sources", name}, field{"topic", t}, field{"topic_config", decl.Get("topic_config")})
	if !ok {
		return nil
	}
	b, _ := bind.Lookup(bind.Sink, "rivven")
	return &Component{Name: "broker", Connector: "rivven", Bind: b, Config: cfg, Implied: true}
}

// brokerSource is the broker-topic source implied by sink name's `topics`
// (node ts); nil when the config has errors there (reported).
func (c *checker) brokerSource(name string, decl, ts *config.Node) *Component {
	path := []string{"sinks", name}
	ok := true
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
	}
	if len(ts.Items) == 0 {
		c.errs.Add(ts.Pos, source.CodeInvalidValue, config.JoinPath(append(path, "topics")), "topics is empty: name at least one topic to consume")
		ok = false
	}
	if g := decl.Get("consumer_group"); g != nil && g.Kind == config.String && g.Text == "" {
		c.errs.Add(g.Pos, source.CodeInvalidValue, config.JoinPath(append(path, "consumer_group")), "consumer_group must not be empty")
		ok = false
	}
	if ts := decl.Lookup("start_offset", "timestamp"); ts != nil && ts.Kind == config.String && !ts.Bad {
		if _, err := time.Parse(time.RFC3339Nano, ts.Text); err != nil {
			c.errs.Add(ts.Pos, source.CodeInvalidValue, config.JoinPath(append(path, "start_offset", "timestamp")),
				"start_offset timestamp %s is not an RFC 3339 time (e.g. 2026-01-02T03:04:05Z)", c.shown(ts))
			ok = false
		}
	}
	if _, connOK := c.brokerConn(); !ok || !connOK {
		return nil
	}
	cfg, ok := c.impliedConfig(bind.Source, name, path, field{"topics", ts},
		field{"consumer_group", decl.Get("consumer_group")}, field{"start_offset", decl.Get("start_offset")})
	if !ok {
		return nil
	}
	b, _ := bind.Lookup(bind.Source, "rivven")
	return &Component{Name: "broker", Connector: "rivven", Bind: b, Config: cfg, Implied: true}
}

// field is a key of a config block and its node (nil: absent).
type field struct {
	key  string
	node *config.Node
}

// impliedConfig decodes the config of the rivven component of kind that
// the broker-topic shape implies (for the source or sink called name)
// through the path of a declared one: a config block made of the top-level
// broker section's entries and the declaring component's own keys — the
// document's nodes, so that anything reported points at them, base being
// the declaring component's path — is validated against the connector's
// CUE definition (its defaults included), decoded by its bind and given
// the process-wide broker settings (brokerDefaults). false: something is
// wrong there (reported).
func (c *checker) impliedConfig(kind bind.Kind, name string, base []string, fields ...field) (any, bool) {
	b, _ := bind.Lookup(kind, "rivven")
	_, defs := c.schema.Connectors(kind.CUEKind())
	br := c.file.Root.Get("broker")
	block := &config.Node{Kind: config.Map, Pos: br.Pos, KeyPos: br.KeyPos}
	block.Keys = append(block.Keys, br.Keys...)
	block.Items = append(block.Items, br.Items...)
	for _, f := range fields {
		if f.node != nil {
			block.Keys = append(block.Keys, f.key)
			block.Items = append(block.Items, f.node)
		}
	}
	v, ok := c.validate(defs["rivven"], block, base, true)
	if !ok {
		return nil, false
	}
	cfg, err := b.Decode(v, block)
	if err != nil {
		c.errs.Add(c.posOf(base), source.CodeInvalidValue, config.JoinPath(base), "%s", c.redact(err.Error(), block))
		return nil, false
	}
	return c.brokerDefaults(name, cfg, block, base), true
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
		msg := err.Error()
		if len(t.Vars) > 0 {
			msg = fmt.Sprintf("the topic from ${%s} is not a valid topic name", t.Vars[0].Name)
		}
		c.errs.Add(t.Pos, source.CodeInvalidValue, config.JoinPath(path), "%s", msg)
		return nil
	}
	if _, ok := c.brokerConn(); !ok {
		return nil
	}
	name := "dead-letter-topic:" + t.Text
	if s := c.deadLetterSinks[name]; s != nil {
		return s
	}
	cfg, ok := c.impliedConfig(bind.Sink, name, path, field{"topic", t})
	if !ok {
		return nil
	}
	b, _ := bind.Lookup(bind.Sink, "rivven")
	comp := &Component{Name: name, Connector: "rivven", Bind: b, Implied: true, Config: cfg}
	c.out.Sinks = append(c.out.Sinks, comp)
	if c.deadLetterSinks == nil {
		c.deadLetterSinks = map[string]*Component{}
	}
	c.deadLetterSinks[name] = comp
	return comp
}
