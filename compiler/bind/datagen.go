package bind

import (
	"fmt"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

func init() {
	register(&Component{
		Kind: Source,
		Name: "datagen",
		Def:  "#Datagen",
		Decode: func(v cue.Value, n *config.Node) (any, error) {
			var j struct {
				Pattern          string `json:"pattern"`
				EventsPerSecond  int    `json:"events_per_second"`
				MaxEvents        int64  `json:"max_events"`
				StreamName       string `json:"stream_name"`
				Namespace        string `json:"namespace"`
				IncludeSequence  bool   `json:"include_sequence"`
				IncludeTimestamp bool   `json:"include_timestamp"`
				Seed             *int64 `json:"seed"`
				CDCMode          bool   `json:"cdc_mode"`
			}
			if err := decodeInto(v, &j); err != nil {
				return nil, err
			}
			cfg := datagen.Config{
				Pattern:          j.Pattern,
				EventsPerSecond:  j.EventsPerSecond,
				MaxEvents:        j.MaxEvents,
				StreamName:       j.StreamName,
				Namespace:        j.Namespace,
				IncludeSequence:  j.IncludeSequence,
				IncludeTimestamp: j.IncludeTimestamp,
				CDCMode:          j.CDCMode,
			}
			if j.Seed != nil {
				cfg.Seed, cfg.HasSeed = *j.Seed, true
			}
			if cf := n.Get("custom_fields"); cf != nil {
				for i, k := range cf.Keys {
					cfg.CustomFields = append(cfg.CustomFields, datagen.CustomField{Name: k, Value: ValueOf(cf.Items[i])})
				}
			}
			return cfg, nil
		},
		Schema: func(cfg any) (*runtime.Schema, error) {
			return datagen.Schema(cfg.(datagen.Config))
		},
		Streams: func(cfg any) Streams {
			c := cfg.(datagen.Config)
			return Streams{Names: []StreamName{{Name: c.StreamName, Namespace: c.Namespace}}, Namespaced: c.Namespace != ""}
		},
		Go: &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/datagen", Func: "New", Env: "Now"},
		GoField: func(cfg any, key []string) (string, bool) {
			if len(key) == 2 && key[0] == "custom_fields" {
				for i, f := range cfg.(datagen.Config).CustomFields {
					if f.Name == key[1] {
						return fmt.Sprintf("CustomFields[%d].Value", i), true
					}
				}
			}
			return fieldsByKey(map[string]string{
				"pattern": "Pattern", "events_per_second": "EventsPerSecond", "max_events": "MaxEvents",
				"stream_name": "StreamName", "namespace": "Namespace", "include_sequence": "IncludeSequence",
				"include_timestamp": "IncludeTimestamp", "seed": "Seed", "cdc_mode": "CDCMode",
			})(cfg, key)
		},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return datagen.New(cfg.(datagen.Config), env.Now)
		},
	})
}
