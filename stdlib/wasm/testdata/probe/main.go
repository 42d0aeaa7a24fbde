// Command probe is a test-only WASM transform for the host's sandbox
// tests. Per batch it performs config.action once and appends the string
// field "result" to every record: "ok:<detail>" or "err:<error>".
//
//	readfile   os.ReadFile(path)            ok:<content>
//	writefile  os.WriteFile(path, "x")      ok:
//	http       sdk.HTTP GET url             ok:<status>:<body>
//	panic      panic("probe: boom")
//	state      StateGet "n", +1, StateSet   ok:<n>
//	env        os.Getenv(name)              ok:<value>
//	alloc      allocate and touch mb MiB    ok:<mb>
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o probe.wasm ./stdlib/wasm/testdata/probe
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
	"github.com/rivven/rivven-connect/stdlib/wasm/sdk"
)

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "action": {"enum": ["readfile", "writefile", "http", "panic", "state", "env", "alloc"]},
    "path": {"type": "string"},
    "url": {"type": "string"},
    "name": {"type": "string"},
    "mb": {"type": "integer", "minimum": 0}
  },
  "required": ["action"],
  "additionalProperties": false
}`

var cfg struct {
	Action string `json:"action"`
	Path   string `json:"path"`
	URL    string `json:"url"`
	Name   string `json:"name"`
	MB     int    `json:"mb"`
}

// hold keeps the alloc action's memory reachable.
var hold []byte

func init() {
	sdk.Transform(sdk.Manifest{
		Name:         "probe",
		Version:      "1.0.0",
		Description:  "test plugin: probes the sandbox, one action per batch",
		ConfigSchema: []byte(configSchema),
	}, func(b *sdk.Batch) error {
		res := sdk.String(act())
		for _, r := range b.All() {
			r.Set("result", res)
		}
		return nil
	})
	sdk.OnInit(func(req *sdk.InitRequest) error { return req.DecodeConfig(&cfg) })
}

func act() string {
	switch cfg.Action {
	case "readfile":
		b, err := os.ReadFile(cfg.Path)
		return result(string(b), err)
	case "writefile":
		return result("", os.WriteFile(cfg.Path, []byte("x"), 0o644))
	case "http":
		resp, err := sdk.HTTP(abi.HTTPRequest{Method: "GET", URL: cfg.URL})
		return result(strconv.Itoa(resp.Status)+":"+string(resp.Body), err)
	case "panic":
		panic("probe: boom")
	case "state":
		n := 0
		if v, ok := sdk.StateGet("n"); ok {
			n, _ = strconv.Atoi(string(v))
		}
		n++
		return result(strconv.Itoa(n), sdk.StateSet("n", []byte(strconv.Itoa(n))))
	case "env":
		return result(os.Getenv(cfg.Name), nil)
	case "alloc":
		b := make([]byte, cfg.MB<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hold = b
		return result(strconv.Itoa(len(hold)>>20), nil)
	}
	return result("", fmt.Errorf("unknown action %q", cfg.Action))
}

func result(detail string, err error) string {
	if err != nil {
		return "err:" + err.Error()
	}
	return "ok:" + detail
}

func main() {}
