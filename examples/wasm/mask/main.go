// Command mask is an example rivven-connect WASM transform: it masks the
// listed string fields of every record (after and before rows), keeping
// the last keep_last characters and replacing the others with '*'.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mask.wasm ./examples/wasm/mask
package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
	"github.com/rivven/rivven-connect/stdlib/wasm/sdk"
)

// config is the plugin's config (configSchema below is its JSON Schema).
type config struct {
	Fields   []string `json:"fields"`
	KeepLast int      `json:"keep_last"`
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "fields": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "keep_last": {"type": "integer", "minimum": 0, "default": 0}
  },
  "required": ["fields"],
  "additionalProperties": false
}`

var cfg config

func init() {
	sdk.Transform(sdk.Manifest{
		Name:         "mask",
		Version:      "1.0.0",
		Description:  "masks string fields but for their last keep_last characters",
		KeepsSchema:  true,
		ConfigSchema: []byte(configSchema),
	}, transform)
	sdk.OnInit(func(req *sdk.InitRequest) error {
		if err := req.DecodeConfig(&cfg); err != nil {
			return err
		}
		if len(cfg.Fields) == 0 {
			return fmt.Errorf("config: fields lists no field to mask")
		}
		if cfg.KeepLast < 0 {
			return fmt.Errorf("config: keep_last is %d; it must be 0 or more", cfg.KeepLast)
		}
		return nil
	})
}

func transform(b *sdk.Batch) error {
	for _, r := range b.All() {
		for _, name := range cfg.Fields {
			if v, ok := r.Get(name); ok && v.Kind == abi.KindString {
				r.Set(name, sdk.String(mask(v.Str, cfg.KeepLast)))
			}
			if v, ok := r.GetBefore(name); ok && v.Kind == abi.KindString {
				r.SetBefore(name, sdk.String(mask(v.Str, cfg.KeepLast)))
			}
		}
	}
	return nil
}

// mask replaces all but the last keep characters of s with '*'.
func mask(s string, keep int) string {
	n := utf8.RuneCountInString(s)
	if n <= keep {
		return s
	}
	// The last keep runes start at byte cut; everything before becomes
	// one star per rune. Two copies and one allocation: calls and
	// allocations are what cost most inside a time-limited plugin.
	cut := len(s)
	for range keep {
		_, size := utf8.DecodeLastRuneInString(s[:cut])
		cut -= size
	}
	var b strings.Builder
	b.Grow(n - keep + len(s) - cut)
	for stars := n - keep; stars > 0; {
		k := min(stars, len(starRun))
		b.WriteString(starRun[:k])
		stars -= k
	}
	b.WriteString(s[cut:])
	return b.String()
}

// starRun is copied from to mask many runes at once.
const starRun = "****************************************************************"

func main() {}
