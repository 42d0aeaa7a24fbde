package bind

import (
	"fmt"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

// The datagen source: config datagen.Config, CUE definition #Datagen.
func init() {
	c := &Component{
		Kind:   Source,
		Name:   "datagen",
		Splits: true,
		// custom_fields becomes CustomFields, in the document's key order.
		Aliases: map[string]string{"custom_fields": ""},
		Schema: func(cfg any) (*runtime.Schema, error) {
			return datagen.Schema(cfg.(datagen.Config))
		},
		Streams: func(cfg any) Streams {
			c := cfg.(datagen.Config)
			return Streams{Names: []StreamName{{Name: c.StreamName, Namespace: c.Namespace}}, Namespaced: c.Namespace != ""}
		},
		Go: &GoCtor{Pkg: "github.com/rivven/rivven-connect/stdlib/datagen", Func: "New", Env: "Now"},
		NewSource: func(cfg any, env runtime.Env) (runtime.Source, error) {
			return datagen.New(cfg.(datagen.Config), env.Now)
		},
	}
	c.GoField = func(cfg any, key []string) (string, bool) {
		if len(key) == 2 && key[0] == "custom_fields" {
			for i, f := range cfg.(datagen.Config).CustomFields {
				if f.Name == key[1] {
					return fmt.Sprintf("CustomFields[%d].Value", i), true
				}
			}
			return "", false
		}
		return c.FieldPath(cfg, key)
	}
	connector(c, func(cfg datagen.Config, v cue.Value, n *config.Node) (any, error) {
		cfg.HasSeed = lookup(v, "seed").Exists()
		if cf := n.Get("custom_fields"); cf != nil {
			for i, k := range cf.Keys {
				cfg.CustomFields = append(cfg.CustomFields, datagen.CustomField{Name: k, Value: ValueOf(cf.Items[i])})
			}
		}
		return cfg, nil
	})
}
