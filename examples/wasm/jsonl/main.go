// Command jsonl is an example rivven-connect WASM sink: it appends each
// record's after row as one JSON line to the file config.path, which lies
// in a directory the host mounts with allow_fs (for example /out).
// Records without an after row (deletes) are skipped. A failed write
// fails the batch for good.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o jsonl.wasm ./examples/wasm/jsonl
package main

import (
	"fmt"
	"os"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
	"github.com/rivven/rivven-connect/stdlib/wasm/sdk"
)

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {"path": {"type": "string", "minLength": 1}},
  "required": ["path"],
  "additionalProperties": false
}`

var (
	cfg struct {
		Path string `json:"path"`
	}
	file *os.File
	line []byte // the batch's lines, reused
)

func init() {
	sdk.Sink(sdk.Manifest{
		Name:         "jsonl",
		Version:      "1.0.0",
		Description:  "appends records as JSON lines to a file",
		ConfigSchema: []byte(configSchema),
	}, write)
	sdk.OnInit(func(req *sdk.InitRequest) error {
		if err := req.DecodeConfig(&cfg); err != nil {
			return err
		}
		if cfg.Path == "" {
			return fmt.Errorf("config: path names no file")
		}
		f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("open %s (is its directory mounted with allow_fs?): %w", cfg.Path, err)
		}
		file = f
		return nil
	})
	sdk.OnShutdown(func() error { return file.Close() })
}

func write(b *sdk.Batch) error {
	line = line[:0]
	for _, r := range b.All() {
		after := r.After()
		if after == nil {
			continue
		}
		row := sdk.Object(after...)
		line = abi.AppendValueJSON(line, &row)
		line = append(line, '\n')
	}
	if _, err := file.Write(line); err != nil {
		return fmt.Errorf("write %s: %w", cfg.Path, err)
	}
	return nil
}

func main() {}
