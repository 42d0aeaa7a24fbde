// Command counter is an example rivven-connect WASM source: stream
// "counter" with records {n, label}, n = start, start+1, ...; each
// record's position is n in decimal, so a restart resumes after the last
// acknowledged n. With limit > 0 the source ends after the record
// n = start+limit-1. Ack stores the last acknowledged n in the plugin's
// state (key "last_acked"), to show sdk.StateSet. It splits (a scalable
// pipeline's tasks: N): task i of N counts the n with n-start ≡ i mod N.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o counter.wasm ./examples/wasm/counter
package main

import (
	"fmt"
	"strconv"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
	"github.com/rivven/rivven-connect/stdlib/wasm/sdk"
)

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "start": {"type": "integer", "default": 0},
    "limit": {"type": "integer", "minimum": 0, "default": 0},
    "label": {"type": "string", "default": "counter"}
  },
  "additionalProperties": false
}`

// counter is the source's state.
type counter struct {
	Start int64  `json:"start"`
	Limit int64  `json:"limit"` // 0: no end
	Label string `json:"label"`

	next      int64 // the next n to return
	step      int64 // 1, or the task count
	stateWarn bool  // a failed StateSet was logged
}

func init() {
	sdk.Source(sdk.Manifest{
		Name:         "counter",
		Version:      "1.0.0",
		Description:  "counts from start, one record per number",
		ConfigSchema: []byte(configSchema),
		Streams: []abi.StreamSpec{{
			Name:   "counter",
			Fields: []abi.FieldSpec{{Name: "n", Type: "int"}, {Name: "label", Type: "string"}},
			Key:    []string{"n"},
		}},
		Splits: true,
	}, &counter{Label: "counter"})
}

func (c *counter) Init(req *sdk.InitRequest) error {
	if err := req.DecodeConfig(c); err != nil {
		return err
	}
	if c.Limit < 0 {
		return fmt.Errorf("config: limit is %d; it must be 0 (no end) or more", c.Limit)
	}
	c.next, c.step = c.Start, 1
	if t := req.Task; t != nil {
		c.next, c.step = c.Start+int64(t.Index), int64(t.Count)
	}
	if req.Resume != nil {
		n, err := strconv.ParseInt(string(req.Resume), 10, 64)
		if err != nil {
			return fmt.Errorf("resume position %q is not a number", req.Resume)
		}
		c.next = n + c.step
	}
	sdk.Logf(sdk.LevelInfo, "counting from %d", c.next)
	return nil
}

func (c *counter) Poll(most int) ([]sdk.SourceRecord, bool, error) {
	n := int64(most)
	if c.Limit > 0 {
		n = min(n, (c.Start+c.Limit-c.next+c.step-1)/c.step)
	}
	recs := make([]sdk.SourceRecord, 0, max(n, 0))
	for range n {
		recs = append(recs, sdk.SourceRecord{
			Stream:   "counter",
			Op:       abi.OpInsert,
			Position: strconv.AppendInt(nil, c.next, 10),
			After:    []sdk.Member{sdk.Field("n", sdk.Int(c.next)), sdk.Field("label", sdk.String(c.Label))},
		})
		c.next += c.step
	}
	return recs, c.Limit > 0 && c.next >= c.Start+c.Limit, nil
}

func (c *counter) Ack(pos []byte) error {
	if err := sdk.StateSet("last_acked", pos); err != nil && !c.stateWarn {
		// State is a demonstration here: the run goes on without it.
		sdk.Logf(sdk.LevelWarn, "cannot keep the last acknowledged n: %v", err)
		c.stateWarn = true
	}
	return nil
}

func main() {}
