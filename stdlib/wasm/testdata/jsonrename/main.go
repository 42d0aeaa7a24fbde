// Command jsonrename is examples/wasm/rename exchanging JSON batches
// (manifest encoding json), for the host's test that both encodings give
// the same records. It renames the top-level field from to to in every
// record that has it (a field already named to is replaced).
package main

import (
	"fmt"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
	"github.com/rivven/rivven-connect/stdlib/wasm/sdk"
)

type config struct {
	From string `json:"from"`
	To   string `json:"to"`
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "from": {"type": "string", "minLength": 1},
    "to": {"type": "string", "minLength": 1}
  },
  "required": ["from", "to"],
  "additionalProperties": false
}`

var cfg config

func init() {
	sdk.Transform(sdk.Manifest{
		Name:         "jsonrename",
		Encoding:     abi.EncodingJSON,
		Version:      "1.0.0",
		Description:  "renames a top-level field",
		ConfigSchema: []byte(configSchema),
	}, func(b *sdk.Batch) error {
		for _, r := range b.All() {
			r.Rename(cfg.From, cfg.To)
		}
		return nil
	})
	sdk.OnInit(func(req *sdk.InitRequest) error {
		if err := req.DecodeConfig(&cfg); err != nil {
			return err
		}
		if cfg.From == "" || cfg.To == "" {
			return fmt.Errorf("config: from and to must both name a field")
		}
		return nil
	})
}

func main() {}
