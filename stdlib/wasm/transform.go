package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Transform is a plugin transform in one pipeline: a runtime.BatchStep
// that calls rivven_transform once per batch. A batch whose call fails
// (the plugin's error, a trap, a timeout, a panic) fails each of its
// records with that error, under the pipeline's on_error; the next batch
// runs on a new instance when the old one died. Used by one goroutine at
// a time, as runtime.BatchStep says.
type Transform struct {
	r     *runner
	codec *codec
	json  bool
	keeps bool

	recs     []*runtime.Record
	verdicts []verdict
	next     int
	batchErr error
}

var (
	_ runtime.BatchStep = (*Transform)(nil)
	_ runtime.Logged    = (*Transform)(nil)
)

// NewTransform loads p's module (refusing one whose digest is not
// p.SHA256) and checks that it is a transform. The instance starts at the
// first batch.
func NewTransform(p Plugin) (*Transform, error) {
	r, err := newRunner(p, abi.KindTransform)
	if err != nil {
		return nil, err
	}
	return &Transform{r: r, codec: newCodec(), json: r.m.Manifest.Encoding == abi.EncodingJSON, keeps: r.m.Manifest.KeepsSchema}, nil
}

// UseLogger sets the logger of the plugin's log calls and restarts.
func (t *Transform) UseLogger(l *slog.Logger) { t.r.setLogger(l) }

// Prepare implements runtime.BatchStep: one rivven_transform call for
// recs.
func (t *Transform) Prepare(recs []*runtime.Record) {
	t.recs, t.next, t.batchErr = recs, 0, nil
	if len(recs) == 0 {
		return
	}
	if cap(t.verdicts) < len(recs) {
		t.verdicts = make([]verdict, len(recs))
	}
	t.verdicts = t.verdicts[:len(recs)]
	var input []byte
	if t.json {
		input = abi.AppendBatchJSON(nil, toABIBatch(recs, nil))
	} else {
		input = t.codec.encode(recs, nil)
	}
	f, err := t.r.call(context.Background(), abi.ExportTransform, input)
	switch {
	case err != nil:
		t.batchErr = err
		return
	case f.Status != abi.StatusOK:
		t.batchErr = &PluginError{Plugin: t.r.m.plugin.Name, Export: abi.ExportTransform, Msg: t.r.redact(f.Error)}
		return
	}
	if t.json {
		err = t.codec.decodeTransformJSON(f.Payload, recs, t.keeps, t.verdicts)
	} else {
		err = t.codec.decodeTransform(f.Payload, recs, t.keeps, t.verdicts)
	}
	if err != nil {
		t.batchErr = fmt.Errorf("plugin %q broke ABI v1 in rivven_transform: %v", t.r.m.plugin.Name, err)
		if t.r.in != nil {
			t.r.in.dead = true // a plugin that returns garbage starts afresh
		}
	}
}

// Apply implements runtime.BatchStep: the plugin's verdict on r, which
// Prepare got.
func (t *Transform) Apply(r *runtime.Record) (bool, error) {
	if t.next >= len(t.recs) || t.recs[t.next] != r {
		return t.Process(r) // not the prepared batch's next record
	}
	i := t.next
	t.next++
	if t.batchErr != nil {
		return false, t.batchErr
	}
	switch v := t.verdicts[i]; v.status {
	case abi.RecordKeep:
		return true, nil
	case abi.RecordDrop:
		return false, nil
	default:
		msg := v.err
		if t.r.in != nil {
			msg = t.r.redact(msg)
		}
		if msg == "" {
			msg = "the plugin failed the record without saying why"
		}
		return false, errors.New(msg)
	}
}

// Process implements runtime.BatchStep: r as a batch of one.
func (t *Transform) Process(r *runtime.Record) (bool, error) {
	t.Prepare([]*runtime.Record{r})
	return t.Apply(r)
}

// Close implements runtime.BatchStep: rivven_shutdown, then the instance
// is dropped.
func (t *Transform) Close() { t.r.close() }

// Failures reports how many instances were dropped after a failed call.
func (t *Transform) Failures() int { return t.r.failures }
