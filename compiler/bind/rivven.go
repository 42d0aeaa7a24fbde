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
// `topic`) and the broker-topic source (declared under `sources` with
// connector rivven, or implied by a sink's `topics`). Their configs embed broker.Conn; for
// the implied components check fills it from the top-level `broker`
// section (BrokerConn), and GoField also maps paths of that section
// ("broker", …), so that a compiled binary reads `${VAR}`s there at
// start-up.
func init() {
	register(&Component{
		Kind: Sink,
		Name: "rivven",
		Def:  "#Rivven",
		Decode: func(v cue.Value, n *config.Node) (any, error) {
			var j struct {
				Topic       string `json:"topic"`
				Idempotent  bool   `json:"idempotent"`
				KeyField    string `json:"key_field"`
				Format      string `json:"format"`
				TopicConfig struct {
					Partitions int   `json:"partitions"`
					AutoCreate *bool `json:"auto_create"`
				} `json:"topic_config"`
			}
			if err := decodeInto(v, &j); err != nil {
				return nil, err
			}
			cfg := sink.Config{
				Broker:     BrokerConn(n),
				Topic:      j.Topic,
				Idempotent: j.Idempotent,
				KeyField:   j.KeyField,
				Format:     j.Format,
				AutoCreate: j.TopicConfig.AutoCreate == nil || *j.TopicConfig.AutoCreate,
				Partitions: j.TopicConfig.Partitions,
			}
			if err := cfg.Broker.Validate(); err != nil {
				return nil, err
			}
			if cfg.Topic != "" { // "" is the default, which Wire sets per pipeline
				if _, err := broker.ParseTemplate(cfg.Topic); err != nil {
					return nil, err
				}
			}
			return cfg, nil
		},
		Wire: wireRivvenSink,
		Conn: true,
		Go:   &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/rivven/sink", Func: "New", Env: "Stderr", Formats: true},
		GoField: func(cfg any, key []string) (string, bool) {
			c := cfg.(sink.Config)
			if f, ok := brokerGoField(c.Broker, key); ok {
				return f, true
			}
			if len(key) == 2 && key[0] == "topic_config" && key[1] == "partitions" {
				return "Partitions", true
			}
			return fieldsByKey(map[string]string{
				"topic": "Topic", "idempotent": "Idempotent", "key_field": "KeyField", "format": "Format",
			})(cfg, key)
		},
		NewSink: func(cfg any, env runtime.Env) (runtime.Sink, error) {
			s, err := sink.New(cfg.(sink.Config), env.Stderr)
			if err != nil {
				return nil, err
			}
			s.UseFormats(env.Formats)
			return s, nil
		},
	})
	register(&Component{
		Kind: Source,
		Name: "rivven",
		Def:  "#RivvenSource",
		Decode: func(v cue.Value, n *config.Node) (any, error) {
			var j struct {
				Topics             []string `json:"topics"`
				ConsumerGroup      string   `json:"consumer_group"`
				StartOffset        any      `json:"start_offset"`
				RequireTopicExists bool     `json:"require_topic_exists"`
				MaxWaitMs          int      `json:"max_wait_ms"`
				SessionTimeoutMs   int      `json:"session_timeout_ms"`
				HeartbeatMs        int      `json:"heartbeat_interval_ms"`
				RebalanceTimeoutMs int      `json:"rebalance_timeout_ms"`
			}
			if err := decodeInto(v, &j); err != nil {
				return nil, err
			}
			cfg := source.Config{Broker: BrokerConn(n), Topics: j.Topics, ConsumerGroup: j.ConsumerGroup,
				StartOffset: "earliest", RequireTopicExists: j.RequireTopicExists, MaxWaitMs: j.MaxWaitMs,
				SessionTimeoutMs: j.SessionTimeoutMs, HeartbeatIntervalMs: j.HeartbeatMs, RebalanceTimeoutMs: j.RebalanceTimeoutMs}
			switch so := j.StartOffset.(type) {
			case string:
				cfg.StartOffset = so
			case map[string]any:
				ts, _ := so["timestamp"].(string)
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
					return nil, fmt.Errorf("start_offset timestamp %q is not an RFC 3339 time (e.g. 2026-01-02T03:04:05Z)", ts)
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
		},
		Conn: true,
		Go:   &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/rivven/source", Func: "New", Env: "Stderr"},
		GoField: func(cfg any, key []string) (string, bool) {
			return brokerGoField(cfg.(source.Config).Broker, key)
		},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return source.New(cfg.(source.Config), env.Stderr)
		},
	})
}

// BrokerConn reads the connection keys of n: the top-level `broker`
// section, or a rivven sink's or source's config block (both validated
// already). bootstrap_servers come first, then address. A `tls` block
// enables TLS unless it says enabled: false.
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
		if c.Auth.Mechanism == "" {
			c.Auth.Mechanism = "scram-sha-256"
		}
	}
	return c
}

// brokerGoField maps a connection key — below a rivven sink's `config`,
// or a path of the top-level section starting with "broker" — to its Go
// field path in a config that embeds c as Broker.
func brokerGoField(c broker.Conn, key []string) (string, bool) {
	if len(key) > 0 && key[0] == "broker" {
		key = key[1:]
	}
	if len(key) == 0 {
		return "", false
	}
	switch key[0] {
	case "bootstrap_servers":
		if len(key) == 2 {
			if i, err := strconv.Atoi(key[1]); err == nil && i < len(c.BootstrapServers) {
				return fmt.Sprintf("Broker.BootstrapServers[%d]", i), true
			}
		}
	case "address":
		if len(key) == 1 && len(c.BootstrapServers) > 0 {
			return fmt.Sprintf("Broker.BootstrapServers[%d]", len(c.BootstrapServers)-1), true
		}
	case "connection_timeout_ms":
		if len(key) == 1 {
			return "Broker.ConnectionTimeoutMs", true
		}
	case "tls":
		f := map[string]string{"enabled": "Enabled", "ca_path": "CAPath", "cert_path": "CertPath",
			"key_path": "KeyPath", "server_name": "ServerName", "insecure": "Insecure"}
		if len(key) == 2 && f[key[1]] != "" {
			return "Broker.TLS." + f[key[1]], true
		}
	case "auth":
		f := map[string]string{"mechanism": "Mechanism", "username": "Username", "password": "Password"}
		if len(key) == 2 && f[key[1]] != "" {
			return "Broker.Auth." + f[key[1]], true
		}
	}
	return "", false
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
