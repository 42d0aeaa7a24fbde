package check

import (
	"testing"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
	rsource "github.com/rivven/rivven-connect/stdlib/rivven/source"
)

// misfitHead declares a source and a sink for the cases below.
const misfitHead = `sources:
  gen: {connector: datagen, config: {pattern: orders}}
sinks:
  console: {connector: stdout}
`

// checkOK parses and checks src, which must be valid.
func checkOK(t *testing.T, src string) *Config {
	t.Helper()
	f, errs := config.Parse("c.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	cfg, errs := Check(f, nil)
	if len(errs) > 0 {
		t.Fatalf("Check:\n%v", errs)
	}
	return cfg
}

func sinkNamed(t *testing.T, cfg *Config, name string) sink.Config {
	t.Helper()
	for _, s := range cfg.Sinks {
		if s.Name == name {
			return s.Config.(sink.Config)
		}
	}
	t.Fatalf("no sink %q", name)
	return sink.Config{}
}

func sourceNamed(t *testing.T, cfg *Config, name string) rsource.Config {
	t.Helper()
	for _, s := range cfg.Sources {
		if s.Name == name {
			return s.Config.(rsource.Config)
		}
	}
	t.Fatalf("no source %q", name)
	return rsource.Config{}
}

// A tls block turns TLS on unless it says enabled: false, in the
// top-level broker section and in a rivven sink's or source's config.
func TestTLSBlockEnablesTLS(t *testing.T) {
	cfg := checkOK(t, `broker:
  bootstrap_servers: [localhost:9092]
  tls: {ca_path: /ca.pem}
sources:
  gen: {connector: datagen, topic: events, config: {pattern: users}}
  in:
    connector: rivven
    config: {address: localhost:9092, topics: [events], tls: {}}
sinks:
  out: {connector: stdout}
  plain:
    connector: rivven
    config: {address: localhost:9092, topic: copies, tls: {enabled: false}}
  secure:
    connector: rivven
    config: {address: localhost:9092, topic: copies, tls: {server_name: rivven.internal}, auth: {mechanism: plain, username: u, password: p}}
pipelines:
  a: {source: in, sink: plain}
  b: {source: in, sink: secure}
`)
	if cfg.Broker == nil || !cfg.Broker.TLS.Enabled || cfg.Broker.TLS.CAPath != "/ca.pem" {
		t.Errorf("broker section: %+v, want TLS enabled with its ca_path", cfg.Broker)
	}
	for _, p := range cfg.Pipelines {
		if p.Name == "gen-to-topic" && !p.Sink.Config.(sink.Config).Broker.TLS.Enabled {
			t.Errorf("the sink implied by gen's topic connects without TLS")
		}
	}
	if !sourceNamed(t, cfg, "in").Broker.TLS.Enabled {
		t.Errorf("source in: tls: {} does not enable TLS")
	}
	if sinkNamed(t, cfg, "plain").Broker.TLS.Enabled {
		t.Errorf("sink plain: tls: {enabled: false} enables TLS")
	}
	if s := sinkNamed(t, cfg, "secure").Broker.TLS; !s.Enabled || s.ServerName != "rivven.internal" {
		t.Errorf("sink secure: TLS %+v, want enabled with its server_name", s)
	}
}

// settings.topic holds the defaults of every rivven sink, declared or
// implied; a sink's own topic_config overrides them.
func TestTopicSettingsApplyToEveryRivvenSink(t *testing.T) {
	cfg := checkOK(t, `broker: {bootstrap_servers: [localhost:9092]}
settings:
  topic: {auto_create: false, default_partitions: 6}
sources:
  gen: {connector: datagen, topic: events, config: {pattern: users}}
sinks:
  inherits:
    connector: rivven
    config: {address: localhost:9092, topic: a}
  creates:
    connector: rivven
    config: {address: localhost:9092, topic: b, topic_config: {auto_create: true}}
  own:
    connector: rivven
    config: {address: localhost:9092, topic: c, topic_config: {auto_create: true, partitions: 2}}
pipelines:
  a: {source: gen, sink: inherits}
  b: {source: gen, sink: creates}
  c: {source: gen, sink: own}
`)
	for _, tt := range []struct {
		name       string
		autoCreate bool
		partitions int
	}{{"inherits", false, 6}, {"creates", true, 6}, {"own", true, 2}} {
		s := sinkNamed(t, cfg, tt.name)
		if s.AutoCreate != tt.autoCreate || s.Partitions != tt.partitions {
			t.Errorf("sink %s: AutoCreate %v Partitions %d, want %v %d", tt.name, s.AutoCreate, s.Partitions, tt.autoCreate, tt.partitions)
		}
	}
	for _, p := range cfg.Pipelines {
		if p.Name == "gen-to-topic" {
			if s := p.Sink.Config.(sink.Config); s.AutoCreate {
				t.Errorf("the sink implied by gen's topic creates topics despite settings.topic.auto_create: false")
			}
		}
	}

	cfg = checkOK(t, `settings:
  topic: {default_partitions: 4}
sources:
  gen: {connector: datagen, config: {pattern: users}}
sinks:
  bus: {connector: rivven, config: {address: localhost:9092, topic: a}}
pipelines:
  p: {source: gen, sink: bus}
`)
	if s := sinkNamed(t, cfg, "bus"); !s.AutoCreate || s.Partitions != 4 {
		t.Errorf("sink bus: AutoCreate %v Partitions %d, want true 4 (settings.topic.default_partitions)", s.AutoCreate, s.Partitions)
	}
}

// settings.topic.require_topic_exists is the default of declared rivven
// sources (their own key overrides); sinks follow auto_create.
func TestRequireTopicExists(t *testing.T) {
	cfg := checkOK(t, `broker: {bootstrap_servers: [localhost:9092]}
settings:
  topic: {require_topic_exists: true}
sources:
  gen: {connector: datagen, topic: events, config: {pattern: users}}
  strict: {connector: rivven, config: {address: localhost:9092, topics: [events]}}
  patient: {connector: rivven, config: {address: localhost:9092, topics: [events], require_topic_exists: false}}
sinks:
  out: {connector: stdout}
  bus: {connector: rivven, config: {address: localhost:9092, topic: a}}
pipelines:
  a: {source: strict, sink: out}
  b: {source: patient, sink: bus}
`)
	if !sourceNamed(t, cfg, "strict").RequireTopicExists {
		t.Errorf("source strict does not take settings.topic.require_topic_exists")
	}
	if sourceNamed(t, cfg, "patient").RequireTopicExists {
		t.Errorf("source patient: its own require_topic_exists: false is overridden")
	}
	// Sinks follow settings.topic.auto_create (default true): requiring a
	// topic to exist is the consumers' setting.
	if !sinkNamed(t, cfg, "bus").AutoCreate {
		t.Errorf("sink bus stopped creating topics because of settings.topic.require_topic_exists")
	}
}

// settings.retry reaches a rivven source declared under sources as it
// reaches the broker-topic source a sink's topics imply.
func TestRetryReachesDeclaredRivvenSource(t *testing.T) {
	cfg := checkOK(t, `broker: {bootstrap_servers: [localhost:9092]}
settings:
  retry: {max_retries: 0, initial_backoff_ms: 5, max_backoff_ms: 50, backoff_multiplier: 1.5}
sources:
  in: {connector: rivven, config: {address: localhost:9092, topics: [events]}}
sinks:
  out: {connector: stdout}
  tail: {connector: stdout, topics: [events]}
pipelines:
  p: {source: in, sink: out}
`)
	want := runtime.Retry{MaxRetries: 0, InitialBackoffMs: 5, MaxBackoffMs: 50, BackoffMultiplier: 1.5}
	if got := sourceNamed(t, cfg, "in").Retry; got != want {
		t.Errorf("declared source: Retry %+v, want %+v", got, want)
	}
	for _, p := range cfg.Pipelines {
		if p.Name == "topic-to-tail" {
			if got := p.Source.Config.(rsource.Config).Retry; got != want {
				t.Errorf("implied source: Retry %+v, want %+v", got, want)
			}
		}
	}
}

// Every refusal of a key that does not apply is at the key, with code
// invalid-value; a value from the environment is never shown.
func TestMisfitsAtTheKey(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string
	}{
		{"tls enabled false", "broker:\n  address: localhost:9092\n  tls: {enabled: false, cert_path: /c.pem, key_path: /k.pem}\n" + misfitHead + "pipelines:\n  p: {source: gen, sink: console}\n",
			"c.yaml:3:25: invalid-value: broker.tls.cert_path: tls.enabled is false, so tls.cert_path has no effect: remove it, or remove enabled: false to connect over TLS\n" +
				"c.yaml:3:44: invalid-value: broker.tls.key_path: tls.enabled is false, so tls.key_path has no effect: remove it, or remove enabled: false to connect over TLS"},
		{"plain without tls", "broker:\n  address: localhost:9092\n  auth:\n    mechanism: plain\n    username: u\n    password: p\n" + misfitHead + "pipelines:\n  p: {source: gen, sink: console}\n",
			"c.yaml:4:5: invalid-value: broker.auth.mechanism: auth.mechanism plain sends the password in clear text and needs TLS, but this connection has none (there is no tls block): add a tls block, or use scram-sha-256 (which never sends the password)"},
		{"unused broker without address", "broker: {connection_timeout_ms: 5}\n" + misfitHead + "pipelines:\n  p: {source: gen, sink: console}\n",
			"c.yaml:1:9: missing-key: broker.bootstrap_servers: the broker section names no broker: set bootstrap_servers (a list of host:port) or address"},
		{"dead letter sink without on_error", misfitHead + "pipelines:\n  p:\n    source: gen\n    sink: console\n    settings:\n      dead_letter_sink: console\n",
			"c.yaml:10:7: invalid-value: pipelines.p.settings.dead_letter_sink: dead_letter_sink has no effect unless on_error is dead_letter (on_error is stop, the default): set on_error: dead_letter, or remove dead_letter_sink"},
		{"health without enabled", "settings:\n  health:\n    enabled: false\n    path: /h\n" + misfitHead + "pipelines:\n  p: {source: gen, sink: console}\n",
			"c.yaml:4:5: invalid-value: settings.health.path: settings.health.path is set but settings.health.enabled is not true: no health server would start; set enabled: true, or remove path"},
		{"keep_last with fixed", misfitHead + "transforms:\n  m: {type: field-mask, config: {fields: [status], strategy: fixed, value: x, keep_last: 2}}\npipelines:\n  p: {source: gen, sink: console, transforms: [m]}\n",
			"c.yaml:6:79: invalid-value: transforms.m.config.keep_last: keep_last applies only to strategy partial (this transform uses fixed): remove keep_last, or set strategy: partial"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkErrs(t, tt.src).Error(); got != tt.want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// The values of ${VAR}s never appear in the messages about misfits.
func TestMisfitsHideEnvironmentValues(t *testing.T) {
	env := map[string]string{"MODE": "external", "STRATEGY": "redact", "FMT": "text", "ON_ERR": "skip", "MECH": "plain"}
	src := `broker:
  address: localhost:9092
  auth: {mechanism: "${MECH}", username: u, password: p}
schema_registry:
  mode: "${MODE}"
  url: http://registry:8081
  compatibility: full
sources:
  gen: {connector: datagen, config: {pattern: orders}}
transforms:
  m: {type: field-mask, config: {fields: [status], strategy: "${STRATEGY}", salt: s}}
sinks:
  console: {connector: stdout, config: {format: "${FMT}", include_timestamp: true}}
pipelines:
  p: {source: gen, sink: console, transforms: [m], settings: {on_error: "${ON_ERR}", dead_letter_sink: console}}
`
	f, errs := config.Parse("c.yaml", []byte(src), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	_, errs = Check(f, nil)
	want := `c.yaml:3:10: invalid-value: broker.auth.mechanism: auth.mechanism (from ${MECH}) sends the password in clear text and needs TLS, but this connection has none (there is no tls block): add a tls block, or use scram-sha-256 (which never sends the password)
c.yaml:7:3: invalid-value: schema_registry.compatibility: schema_registry.compatibility sets the level of the embedded registry; an external registry (mode from ${MODE}) keeps its own level (check --connect reports it): remove compatibility
c.yaml:11:77: invalid-value: transforms.m.config.salt: salt applies only to strategy hash (this transform's strategy, from ${STRATEGY}, is another): remove salt, or set strategy: hash
c.yaml:13:59: invalid-value: sinks.console.config.include_timestamp: include_timestamp applies to formats pretty, json and tsv; the format from ${FMT} ignores it: remove it
c.yaml:15:86: invalid-value: pipelines.p.settings.dead_letter_sink: dead_letter_sink has no effect unless on_error is dead_letter (on_error from ${ON_ERR} is another): set on_error: dead_letter, or remove dead_letter_sink`
	if got := errs.Error(); got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}
