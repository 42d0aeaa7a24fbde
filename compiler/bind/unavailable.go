package bind

import (
	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
)

// Connectors whose config is validated today but that this build cannot
// run yet. Each moves to its own file when it is implemented.
func init() {
	keep := func(v cue.Value, n *config.Node) (any, error) { return RawConfig{Keys: n.Keys}, nil }
	register(&Component{Kind: Source, Name: "postgres-cdc", Def: "#PostgresCDC", Decode: keep,
		Unavailable: "the postgres-cdc source is not available in this build yet"})
	register(&Component{Kind: Sink, Name: "rivven", Def: "#Rivven", Decode: keep,
		Unavailable: "the rivven (broker) sink is not available in this build yet"})
}

// BrokerSourceUnavailable explains why a sink that consumes broker topics
// (topics/consumer_group) cannot run yet.
const BrokerSourceUnavailable = "the rivven broker-topic source is not available in this build yet"

// RawConfig is the config of a component that is validated but not yet
// runnable: only the keys it sets are kept (for explain).
type RawConfig struct {
	Keys []string
}
