package bind

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
	"github.com/rivven/rivven-connect/stdlib/rivven/source"
)

// The rivven sink (declared under `sinks`, or implied by a source's
// `topic`; config sink.Config, CUE definition #Rivven) and the
// broker-topic source (declared under `sources` with connector rivven, or
// implied by a sink's `topics`; config source.Config, CUE definition
// #RivvenSource). Their configs hold a broker.Conn as Broker, whose keys
// sit at the top of the config block (Inline). The implied components go
// through the same Decode: check hands it a block made of the top-level
// `broker` section's entries and the declaring component's topic keys.
// GoField also maps paths of that section ("broker", …), so that a
// compiled binary reads `${VAR}`s there at start-up.
func init() {
	snk := &Component{
		Kind:   Sink,
		Name:   "rivven",
		Inline: "Broker",
		Aliases: map[string]string{
			"address": "", // appended to Broker.BootstrapServers; rivvenGoField maps it
			// Check sets AutoCreate and Partitions from topic_config and
			// settings.topic, whose defaults this block cannot see.
			"topic_config": "", "topic_config.partitions": "Partitions", "topic_config.auto_create": "AutoCreate",
		},
		Wire: wireRivvenSink,
		Conn: true,
		Go:   &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/rivven/sink", Func: "New", Env: "Stderr", Formats: true},
		NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
			s, err := sink.New(cfg.(sink.Config), env.Stderr)
			if err != nil {
				return nil, err
			}
			s.UseFormats(env.Formats)
			return s, nil
		},
	}
	snk.GoField = rivvenGoField(snk)
	connector(snk, func(cfg sink.Config, v cue.Value, _ *config.Node) (any, error) {
		if err := appendAddress(&cfg.Broker, v); err != nil {
			return nil, err
		}
		if p := lookup(v, "topic_config.partitions"); p.Exists() {
			n, err := p.Int64()
			if err != nil {
				return nil, fmt.Errorf("decode config: %w", err)
			}
			cfg.Partitions = int(n)
		}
		if a := lookup(v, "topic_config.auto_create"); a.Exists() {
			b, err := a.Bool()
			if err != nil {
				return nil, fmt.Errorf("decode config: %w", err)
			}
			cfg.AutoCreate = b
		}
		if err := cfg.Broker.Validate(); err != nil {
			return nil, err
		}
		if cfg.Topic != "" { // absent: Wire sets the default per pipeline
			if _, err := broker.ParseTemplate(cfg.Topic); err != nil {
				return nil, err
			}
		}
		return cfg, nil
	})

	src := &Component{
		Kind:    Source,
		Name:    "rivven",
		Inline:  "Broker",
		Grouped: true,
		Aliases: map[string]string{
			"address":                "", // appended to Broker.BootstrapServers; rivvenGoField maps it
			"start_offset":           "StartOffset",
			"start_offset.timestamp": "StartTimestamp",
		},
		Conn: true,
		Go:   &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/rivven/source", Func: "New", Env: "Stderr"},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return source.New(cfg.(source.Config), env.Stderr)
		},
	}
	src.GoField = rivvenGoField(src)
	connector(src, func(cfg source.Config, v cue.Value, n *config.Node) (any, error) {
		if err := appendAddress(&cfg.Broker, v); err != nil {
			return nil, err
		}
		switch so, _ := lookup(v, "start_offset").Default(); so.Kind() {
		case cue.StringKind:
			cfg.StartOffset, _ = so.String()
		case cue.StructKind:
			ts, _ := lookup(so, "timestamp").String()
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				return nil, fmt.Errorf("start_offset timestamp %s is not an RFC 3339 time (e.g. 2026-01-02T03:04:05Z)", Shown(n.Lookup("start_offset", "timestamp")))
			}
			cfg.StartOffset, cfg.StartTimestamp = "timestamp", ts
		}
		for _, t := range cfg.Topics {
			if err := broker.ValidateTopic(t); err != nil {
				return nil, err
			}
		}
		if err := cfg.Broker.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	})
}

// appendAddress appends a rivven config block's `address` (v, the block's
// CUE value), the seed's single broker address, after bootstrap_servers.
func appendAddress(c *broker.Conn, v cue.Value) error {
	a := lookup(v, "address")
	if !a.Exists() {
		return nil
	}
	s, err := a.String()
	if err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	c.BootstrapServers = append(c.BootstrapServers, s)
	return nil
}

// rivvenGoField is the GoField of the rivven sink and source c: the
// connection keys below their config block or, for the implied
// components, below the top-level section (a path starting with
// "broker"), and `address`, the last of Broker.BootstrapServers.
func rivvenGoField(c *Component) func(cfg any, key []string) (string, bool) {
	return func(cfg any, key []string) (string, bool) {
		top := len(key) > 0 && key[0] == "broker"
		if top {
			key = key[1:]
		}
		if len(key) == 1 && key[0] == "address" {
			if n := len(brokerOf(cfg).BootstrapServers); n > 0 {
				return fmt.Sprintf("Broker.BootstrapServers[%d]", n-1), true
			}
			return "", false
		}
		p, ok := c.FieldPath(cfg, key)
		if !ok || top && !strings.HasPrefix(p, c.Inline+".") {
			return "", false
		}
		return p, true
	}
}

// brokerOf returns the connection of a rivven sink's or source's config.
func brokerOf(cfg any) broker.Conn {
	switch c := cfg.(type) {
	case sink.Config:
		return c.Broker
	case source.Config:
		return c.Broker
	}
	return broker.Conn{}
}

// BrokerConn reads the connection keys of n: the top-level `broker`
// section, or a rivven sink's or source's config block (both validated
// already). bootstrap_servers come first, then address. A `tls` block
// enables TLS unless it says enabled: false. Check reads the top-level
// section with it, whose CUE definition (#Broker in cue/config.cue) has
// no defaults to decode; a rivven config block is decoded from its CUE
// value instead (the two agree: TestBrokerConnMatchesDecode).
func BrokerConn(n *config.Node) broker.Conn {
	var c broker.Conn
	if bs := n.Get("bootstrap_servers"); bs != nil {
		for _, it := range bs.Items {
			c.BootstrapServers = append(c.BootstrapServers, it.Text)
		}
	}
	if a := n.Get("address"); a != nil && a.Kind == config.String {
		c.BootstrapServers = append(c.BootstrapServers, a.Text)
	}
	if t := n.Get("connection_timeout_ms"); t != nil && t.Kind == config.Int {
		ms, _ := strconv.ParseInt(strings.ReplaceAll(t.Text, "_", ""), 0, 64)
		c.ConnectionTimeoutMs = int(ms)
	}
	if t := n.Get("tls"); t != nil {
		str := func(k string) string {
			if v := t.Get(k); v != nil && v.Kind == config.String {
				return v.Text
			}
			return ""
		}
		boolean := func(k string) bool {
			v := t.Get(k)
			return v != nil && v.Kind == config.Bool && v.Text == "true"
		}
		// A tls block turns TLS on unless it says enabled: false.
		enabled := true
		if e := t.Get("enabled"); e != nil && e.Kind == config.Bool {
			enabled = e.Text == "true"
		}
		c.TLS = broker.TLS{
			Enabled: enabled, CAPath: str("ca_path"), CertPath: str("cert_path"),
			KeyPath: str("key_path"), ServerName: str("server_name"), Insecure: boolean("insecure"),
		}
	}
	if a := n.Get("auth"); a != nil {
		get := func(k string) string {
			if v := a.Get(k); v != nil && v.Kind == config.String {
				return v.Text
			}
			return ""
		}
		c.Auth = broker.Auth{Mechanism: get("mechanism"), Username: get("username"), Password: get("password")}
	}
	return c
}

// Default topic templates of the rivven sink: one topic per table
// (Debezium's <prefix>.<schema>.<table> without the prefix), or per stream
// for sources whose records carry no namespace.
const (
	DefaultTopic            = "{namespace}.{stream}"
	DefaultTopicUnqualified = "{stream}"
)

// wireRivvenSink gives a rivven sink without `topic` the default topic of
// its pipeline's source, checks that the topics of the source's known
// streams are valid names, and says in explain which topics and which key
// the records get.
func wireRivvenSink(cfg any, in WireInput) (any, []string, error) {
	c := cfg.(sink.Config)
	var notes []string
	topic := fmt.Sprintf("topic: %q", c.Topic)
	if c.Topic == "" && in.DeadLetter {
		return nil, nil, fmt.Errorf("a rivven sink that receives dead letters needs config.topic (the default, one topic per stream, would mix dead letters into the data topics)")
	}
	if c.Topic == "" {
		c.Topic = DefaultTopicUnqualified
		if in.Streams.Namespaced {
			c.Topic = DefaultTopic
		}
		topic = fmt.Sprintf("topic: %s (the default: config.topic is not set)", c.Topic)
	}
	t, err := broker.ParseTemplate(c.Topic)
	if err != nil {
		return nil, nil, err
	}
	if !t.Fixed() {
		var names []string
		for _, st := range in.Streams.Names {
			r := runtime.Record{Stream: st.Name, Namespace: st.Namespace}
			name, err := t.Render(&r)
			if err == nil {
				err = broker.ValidateTopic(name)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("topic %q for stream %q: %w", c.Topic, qualified(st), err)
			}
			names = append(names, name)
		}
		switch {
		case len(names) > 0:
			topic += " → " + strings.Join(names, ", ")
		case in.Streams.Namespaced:
			topic += " → one topic per table"
		default:
			topic += " → one topic per stream"
		}
	}
	notes = append(notes, topic)
	switch {
	case c.KeyField != "":
		notes = append(notes, fmt.Sprintf("key: field %q of every record", c.KeyField))
	case in.Schema != nil && removedKey(in.Schema) != "":
		notes = append(notes, fmt.Sprintf("key: none (the row key field %q is removed by a transform)", removedKey(in.Schema)))
	case in.Schema != nil && len(in.Schema.Key) > 0:
		notes = append(notes, fmt.Sprintf("key: %s (the row key of change events; other records are unkeyed)", strings.Join(in.Schema.KeyNames(), ", ")))
	case in.Schema == nil && in.Streams.RowKey != "":
		notes = append(notes, "key: "+in.Streams.RowKey+" (change events)")
	default:
		notes = append(notes, "key: none (the source's records have no row key; set config.key_field to key them)")
	}
	return c, notes, nil
}

func qualified(s StreamName) string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "." + s.Name
}

// removedKey returns the first row key field of s that a transform removed.
func removedKey(s *runtime.Schema) string {
	for _, i := range s.Key {
		if i < len(s.Fields) && s.Fields[i].Type.Kind == runtime.KindAbsent {
			return s.Fields[i].Name
		}
	}
	return ""
}
