package bind_test

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/sink"
	"github.com/rivven/rivven-connect/stdlib/rivven/source"
	"github.com/rivven/rivven-connect/stdlib/stdout"
)

// Every registered source and sink has a CUE definition and the other way
// round, and the keys its CUE definition allows under `config` are the
// json tags of its config struct (below a nested struct, that struct's
// tags; at the top also the Inline field's), apart from the keys its
// Aliases list, which Decode reads itself. Adding a key on one side only
// fails here.
func TestConfigKeysMatchStructTags(t *testing.T) {
	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []bind.Kind{bind.Source, bind.Sink} {
		names, defs := s.Connectors(kind.CUEKind())
		if got := bind.Names(kind); !slices.Equal(got, names) {
			t.Errorf("registered %ss %v, CUE definitions %v", kind, got, names)
		}
		for _, name := range names {
			c, ok := bind.Lookup(kind, name)
			if !ok {
				continue
			}
			if c.Config == nil || c.Decode == nil || c.GoField == nil {
				t.Errorf("%s %s: Config, Decode or GoField is missing (register it with connector)", kind, name)
				continue
			}
			for _, d := range keyDrift(defs[name], c) {
				t.Errorf("%s %s: %s", kind, name, d)
			}
		}
	}
	// The top-level broker section holds the connection keys of
	// broker.Conn too (BrokerConn reads it).
	conn := &bind.Component{Config: broker.Conn{}, Aliases: map[string]string{"address": ""}}
	for _, d := range keyDrift(s.Def("#Broker"), conn) {
		t.Errorf("broker section: %s", d)
	}
}

// The comparison finds a key on either side only, at any depth, and
// aliases that name nothing.
func TestKeyDriftFindsEachSideOnly(t *testing.T) {
	def := cuecontext.New().CompileString(`{
		a: int
		b?: {c: string, d?: *"x" | "y"}
		e: *"f" | {g!: string}
		h?: bool
		alias?: string
	}`)
	type nested struct {
		C string `json:"c"`
		Z int    `json:"z"`
	}
	type cfg struct {
		A     int    `json:"a"`
		B     nested `json:"b"`
		E     string `json:"-"`
		Other string `json:"other"`
	}
	c := &bind.Component{Config: cfg{}, Aliases: map[string]string{"alias": "A", "e": "E", "e.g": "Nope", "zz": ""}}
	got := keyDrift(def, c)
	want := []string{
		`CUE key "b.d" has no json-tagged field in bind_test.cfg (add one, or list the key in Aliases)`,
		`CUE key "h" has no json-tagged field in bind_test.cfg (add one, or list the key in Aliases)`,
		`alias "e.g" names no field Nope of bind_test.cfg`,
		`alias "zz" is no key of the CUE definition`,
		`json tag "b.z" of bind_test.cfg is no key of the CUE definition`,
		`json tag "other" of bind_test.cfg is no key of the CUE definition`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("drift:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// keyDrift compares the keys def allows with the json tags of c.Config
// and c.Aliases; it returns the differences, sorted.
func keyDrift(def cue.Value, c *bind.Component) []string {
	typ := reflect.TypeOf(c.Config)
	cueKeys := map[string]bool{}
	cueKeyPaths(def, "", cueKeys)
	tags := map[string]bool{}
	for _, k := range bind.TagKeys(c) {
		tags[k] = true
	}
	var out []string
	for k, goPath := range c.Aliases {
		switch {
		case !cueKeys[k]:
			out = append(out, fmt.Sprintf("alias %q is no key of the CUE definition", k))
		case tags[k]:
			out = append(out, fmt.Sprintf("alias %q is also a json tag of %s", k, typ))
		case goPath != "" && !bind.HasGoPath(c, goPath):
			out = append(out, fmt.Sprintf("alias %q names no field %s of %s", k, goPath, typ))
		}
	}
	for k := range cueKeys {
		if _, alias := c.Aliases[k]; !alias && !tags[k] {
			out = append(out, fmt.Sprintf("CUE key %q has no json-tagged field in %s (add one, or list the key in Aliases)", k, typ))
		}
	}
	for k := range tags {
		if !cueKeys[k] {
			out = append(out, fmt.Sprintf("json tag %q of %s is no key of the CUE definition", k, typ))
		}
	}
	sort.Strings(out)
	return out
}

// cueKeyPaths adds the dotted paths of the keys v allows (required,
// optional and regular), and below each key whose value is a struct, or a
// choice with struct branches, the keys of those structs. Pattern
// constraints ([string]: T) name no keys.
func cueKeyPaths(v cue.Value, prefix string, out map[string]bool) {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	for it.Next() {
		k := prefix + it.Selector().Unquoted()
		out[k] = true
		fv := it.Value()
		switch kind := fv.IncompleteKind(); {
		case kind == cue.StructKind:
			cueKeyPaths(fv, k+".", out)
		case kind&cue.StructKind != 0:
			if op, args := fv.Expr(); op == cue.OrOp {
				for _, a := range args {
					if a.IncompleteKind() == cue.StructKind {
						cueKeyPaths(a, k+".", out)
					}
				}
			}
		}
	}
}

// decode validates a config block (YAML) against the component's CUE
// definition and decodes it as check does.
func decode(t *testing.T, kind bind.Kind, name, block string) any {
	t.Helper()
	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	_, defs := s.Connectors(kind.CUEKind())
	f, errs := config.Parse("block.yaml", []byte(block), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	v := defs[name].Unify(s.Context().Encode(f.Root.Interface()))
	if err := v.Validate(); err != nil {
		t.Fatalf("%s %s: %q: %v", kind, name, block, err)
	}
	c, _ := bind.Lookup(kind, name)
	cfg, err := c.Decode(v, f.Root)
	if err != nil {
		t.Fatalf("%s %s: decode %q: %v", kind, name, block, err)
	}
	return cfg
}

// Decode takes every default from the CUE definitions: a block with only
// its required keys decodes to the defaults `spec` shows.
func TestDecodeTakesDefaultsFromCUE(t *testing.T) {
	tests := []struct {
		kind        bind.Kind
		name, block string
		want        any
	}{
		{bind.Source, "datagen", `{}`, datagen.Config{Pattern: "random", EventsPerSecond: 10, StreamName: "datagen"}},
		{bind.Source, "datagen", `{seed: 0, custom_fields: {b: 1, a: x}}`, datagen.Config{
			Pattern: "random", EventsPerSecond: 10, StreamName: "datagen", HasSeed: true,
			CustomFields: []datagen.CustomField{{Name: "b", Value: bind.ValueOf(&config.Node{Kind: config.Int, Text: "1"})},
				{Name: "a", Value: bind.ValueOf(&config.Node{Kind: config.String, Text: "x"})}}}},
		{bind.Source, "postgres-cdc", `{database: shop, user: cdc}`, cdc.Config{
			Host: "localhost", Port: 5432, Database: "shop", User: "cdc", SlotName: "rivven_slot", Publication: "rivven_pub",
			SnapshotMode: "initial", HeartbeatIntervalSecs: 10, ConnectTimeoutSecs: 10, AutoCreateSlot: true,
			AutoCreatePublication: true, TLS: cdc.TLSConfig{Mode: "prefer"}, SchemaDrift: "fail"}},
		{bind.Source, "postgres-cdc", `{database: shop, user: cdc, publication_name: legacy, tls: {ca_cert_path: /ca.pem}}`, cdc.Config{
			Host: "localhost", Port: 5432, Database: "shop", User: "cdc", SlotName: "rivven_slot", Publication: "legacy",
			SnapshotMode: "initial", HeartbeatIntervalSecs: 10, ConnectTimeoutSecs: 10, AutoCreateSlot: true,
			AutoCreatePublication: true, TLS: cdc.TLSConfig{Mode: "prefer", CACertPath: "/ca.pem"}, SchemaDrift: "fail"}},
		{bind.Sink, "stdout", `{}`, stdout.Config{Format: "pretty", IncludeTimestamp: true}},
		{bind.Sink, "rivven", `{bootstrap_servers: ["a:1"]}`, sink.Config{
			Broker: broker.Conn{BootstrapServers: []string{"a:1"}, ConnectionTimeoutMs: 10000}, Idempotent: true, Format: "source_event"}},
		{bind.Sink, "rivven", `{address: "b:2", bootstrap_servers: ["a:1"], tls: {}, auth: {username: u, password: p}, topic_config: {partitions: 4, auto_create: false}}`,
			sink.Config{Broker: broker.Conn{BootstrapServers: []string{"a:1", "b:2"}, ConnectionTimeoutMs: 10000,
				TLS: broker.TLS{Enabled: true}, Auth: broker.Auth{Mechanism: "scram-sha-256", Username: "u", Password: "p"}},
				Idempotent: true, Format: "source_event", Partitions: 4}},
		{bind.Source, "rivven", `{address: "b:2", topics: [t]}`, source.Config{
			Broker: broker.Conn{BootstrapServers: []string{"b:2"}, ConnectionTimeoutMs: 10000}, Topics: []string{"t"},
			StartOffset: "earliest", MaxWaitMs: 1000, SessionTimeoutMs: 10000, HeartbeatIntervalMs: 3000, RebalanceTimeoutMs: 30000}},
		{bind.Source, "rivven", `{address: "b:2", topics: [t], session_timeout_ms: 6000, start_offset: {timestamp: "2026-01-02T03:04:05Z"}, tls: {enabled: false}}`, source.Config{
			Broker: broker.Conn{BootstrapServers: []string{"b:2"}, ConnectionTimeoutMs: 10000}, Topics: []string{"t"},
			StartOffset: "timestamp", StartTimestamp: "2026-01-02T03:04:05Z", MaxWaitMs: 1000, SessionTimeoutMs: 6000,
			HeartbeatIntervalMs: 2000, RebalanceTimeoutMs: 30000}},
		{bind.Source, "rivven", `{address: "b:2", topics: [t], start_offset: latest, heartbeat_interval_ms: 500}`, source.Config{
			Broker: broker.Conn{BootstrapServers: []string{"b:2"}, ConnectionTimeoutMs: 10000}, Topics: []string{"t"},
			StartOffset: "latest", MaxWaitMs: 1000, SessionTimeoutMs: 10000, HeartbeatIntervalMs: 500, RebalanceTimeoutMs: 30000}},
	}
	for _, tt := range tests {
		got := decode(t, tt.kind, tt.name, tt.block)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s %s:\n got %+v\nwant %+v", tt.kind, tt.name, tt.block, got, tt.want)
		}
	}
}

// The defaults cdc.New gives a hand-built Config's zero fields are those
// of #PostgresCDC.
func TestPostgresGoDefaultsMatchCUE(t *testing.T) {
	fromCUE := reflect.ValueOf(decode(t, bind.Source, "postgres-cdc", `{database: d, user: u}`))
	goDefaults := reflect.ValueOf(cdc.Defaults())
	var walk func(g, c reflect.Value, path string)
	walk = func(g, c reflect.Value, path string) {
		for i := range g.NumField() {
			name := path + g.Type().Field(i).Name
			switch gf, cf := g.Field(i), c.Field(i); {
			case gf.Kind() == reflect.Struct:
				walk(gf, cf, name+".")
			case !gf.IsZero() && !reflect.DeepEqual(gf.Interface(), cf.Interface()):
				t.Errorf("cdc.Defaults().%s = %v, #PostgresCDC's default %v", name, gf, cf)
			}
		}
	}
	walk(goDefaults, fromCUE, "")
	if got := decode(t, bind.Source, "datagen", `{}`).(datagen.Config).StreamName; got != datagen.DefaultStreamName {
		t.Errorf("#Datagen's stream_name default %q, datagen.DefaultStreamName %q", got, datagen.DefaultStreamName)
	}
}

// A rivven config block decodes to the connection BrokerConn reads from
// the same keys (check reads the top-level broker section with it).
func TestBrokerConnMatchesDecode(t *testing.T) {
	for _, block := range []string{
		`{bootstrap_servers: ["a:1", "b:2"], address: "c:3", connection_timeout_ms: 500}`,
		`{address: "c:3", connection_timeout_ms: 500, tls: {}}`,
		`{address: "c:3", connection_timeout_ms: 500, tls: {enabled: false}}`,
		`{address: "c:3", connection_timeout_ms: 500, tls: {server_name: n, ca_path: /ca, cert_path: /c, key_path: /k, insecure: true}}`,
		`{address: "c:3", connection_timeout_ms: 500, tls: {enabled: true}, auth: {mechanism: plain, username: u, password: p}}`,
	} {
		f, errs := config.Parse("block.yaml", []byte(block), nil)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		want := bind.BrokerConn(f.Root)
		if got := decode(t, bind.Sink, "rivven", block).(sink.Config).Broker; !reflect.DeepEqual(got, want) {
			t.Errorf("sink %s: decoded %+v, BrokerConn %+v", block, got, want)
		}
		if got := decode(t, bind.Source, "rivven", block[:len(block)-1]+", topics: [t]}").(source.Config).Broker; !reflect.DeepEqual(got, want) {
			t.Errorf("source %s: decoded %+v, BrokerConn %+v", block, got, want)
		}
	}
}

// GoField maps key paths below `config` (and, for the rivven components,
// paths of the top-level broker section) to Go field paths of the config.
func TestGoField(t *testing.T) {
	dg := datagen.Config{CustomFields: []datagen.CustomField{{Name: "a"}, {Name: "b.c"}}}
	pg := cdc.Config{Tables: []string{"x", "y"}}
	conn := broker.Conn{BootstrapServers: []string{"a:1", "b:2"}}
	tests := []struct {
		kind bind.Kind
		name string
		cfg  any
		key  string // dotted; "|" separates keys that hold dots
		want string // "" = not mapped
	}{
		{bind.Source, "datagen", dg, "max_events", "MaxEvents"},
		{bind.Source, "datagen", dg, "seed", "Seed"},
		{bind.Source, "datagen", dg, "custom_fields|b.c", "CustomFields[1].Value"},
		{bind.Source, "datagen", dg, "custom_fields|z", ""},
		{bind.Source, "datagen", dg, "custom_fields", ""},
		{bind.Source, "datagen", dg, "nosuch", ""},
		{bind.Source, "postgres-cdc", pg, "tls.mode", "TLS.Mode"},
		{bind.Source, "postgres-cdc", pg, "tls.client_key_path", "TLS.ClientKeyPath"},
		{bind.Source, "postgres-cdc", pg, "password", "Password"},
		{bind.Source, "postgres-cdc", pg, "publication_name", "Publication"},
		{bind.Source, "postgres-cdc", pg, "tables.1", "Tables[1]"},
		{bind.Source, "postgres-cdc", pg, "tables.2", ""},
		{bind.Source, "postgres-cdc", pg, "tables.x", ""},
		{bind.Source, "postgres-cdc", pg, "host.x", ""},
		{bind.Sink, "stdout", stdout.Config{}, "include_timestamp", "IncludeTimestamp"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "bootstrap_servers.0", "Broker.BootstrapServers[0]"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "address", "Broker.BootstrapServers[1]"},
		{bind.Sink, "rivven", sink.Config{}, "address", ""},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "tls.server_name", "Broker.TLS.ServerName"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "auth.password", "Broker.Auth.Password"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "connection_timeout_ms", "Broker.ConnectionTimeoutMs"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "topic", "Topic"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "topic_config.partitions", "Partitions"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "topic_config", ""},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "broker.auth.password", "Broker.Auth.Password"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "broker.address", "Broker.BootstrapServers[1]"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "broker.bootstrap_servers.1", "Broker.BootstrapServers[1]"},
		{bind.Sink, "rivven", sink.Config{Broker: conn}, "broker.topic", ""},
		{bind.Source, "rivven", source.Config{Broker: conn, Topics: []string{"t"}}, "topics.0", "Topics[0]"},
		{bind.Source, "rivven", source.Config{Broker: conn}, "consumer_group", "ConsumerGroup"},
		{bind.Source, "rivven", source.Config{Broker: conn}, "start_offset", "StartOffset"},
		{bind.Source, "rivven", source.Config{Broker: conn}, "start_offset.timestamp", "StartTimestamp"},
		{bind.Source, "rivven", source.Config{Broker: conn}, "session_timeout_ms", "SessionTimeoutMs"},
		{bind.Source, "rivven", source.Config{Broker: conn}, "broker.tls.enabled", "Broker.TLS.Enabled"},
	}
	for _, tt := range tests {
		c, _ := bind.Lookup(tt.kind, tt.name)
		sep := "."
		if strings.Contains(tt.key, "|") {
			sep = "|"
		}
		got, ok := c.GoField(tt.cfg, strings.Split(tt.key, sep))
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s %s GoField(%s) = %q, %v; want %q", tt.kind, tt.name, tt.key, got, ok, tt.want)
		}
	}
}

// Every json-tagged scalar field of every connector is what GoField maps
// its key to.
func TestGoFieldCoversEveryTag(t *testing.T) {
	for _, kind := range []bind.Kind{bind.Source, bind.Sink} {
		for _, name := range bind.Names(kind) {
			c, _ := bind.Lookup(kind, name)
			for _, k := range bind.TagKeys(c) {
				p, ok := c.GoField(c.Config, strings.Split(k, "."))
				if !ok || !bind.HasGoPath(c, p) {
					t.Errorf("%s %s: GoField(%s) = %q, %v", kind, name, k, p, ok)
				}
			}
		}
	}
}

// A start_offset timestamp that is not RFC 3339 is refused by Decode; one
// from the environment is named by its variable, never by its value.
func TestStartOffsetTimestampRefused(t *testing.T) {
	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	_, defs := s.Connectors("sources")
	c, _ := bind.Lookup(bind.Source, "rivven")
	for block, want := range map[string]string{
		`{address: "b:2", topics: [t], start_offset: {timestamp: yesterday}}`: `start_offset timestamp "yesterday" is not an RFC 3339 time`,
		`{address: "b:2", topics: [t], start_offset: {timestamp: "${TS}"}}`:   `start_offset timestamp (from ${TS}) is not an RFC 3339 time`,
	} {
		f, errs := config.Parse("block.yaml", []byte(block), func(string) (string, bool) { return "secret-ts", true })
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		_, err := c.Decode(defs["rivven"].Unify(s.Context().Encode(f.Root.Interface())), f.Root)
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "secret-ts") {
			t.Errorf("%s: error %v, want %q…", block, err, want)
		}
	}
}
