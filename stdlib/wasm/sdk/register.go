package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Manifest describes the plugin (abi.Manifest). The SDK fills ABI and
// Kind; set Name, Version and what the kind needs (ConfigSchema,
// KeepsSchema for a transform that keeps every field's name, order and
// type, Streams for a source, Encoding: abi.EncodingJSON to exchange
// JSON batches).
type Manifest = abi.Manifest

// Value and Member are the batch's field values (abi.Value, abi.Member).
type (
	Value  = abi.Value
	Member = abi.Member
)

// InitRequest is what the host sends once per instance, before any batch
// (abi.InitRequest): the plugin's config and, for a source, the position
// to resume after.
type InitRequest struct {
	abi.InitRequest
}

// DecodeConfig unmarshals the plugin's config into v (a pointer, as
// json.Unmarshal takes). A key v has no field for is an error naming the
// key; an absent or null config leaves v as it is, so set defaults in v
// before the call. Errors never quote a value of the config.
func (r *InitRequest) DecodeConfig(v any) error {
	c := bytes.TrimSpace(r.Config)
	if len(c) == 0 || string(c) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fmt.Errorf("config is not valid JSON (byte %d)", syn.Offset)
		}
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// TransformFunc edits a batch in place: set, rename or delete fields,
// Drop or Fail records. A non-nil error fails the whole batch
// (StatusError), handled by the pipeline's on_error.
type TransformFunc func(b *Batch) error

// SinkFunc writes a batch. A non-nil error fails it for good
// (StatusError) unless it is a Retry error (StatusRetry): then the host
// writes the same batch again later, with backoff. A sink should be
// idempotent by record position (Record.Position) where it can, since a
// retried or replayed batch comes again.
type SinkFunc func(b *Batch) error

// SourcePlugin is a source's behaviour. The host calls Init once, then
// Poll until it reports the end, and Ack for records the pipeline has
// delivered, in the order Poll returned them.
type SourcePlugin interface {
	// Init reads the config; req.Resume, when not nil, is the position
	// of the last record acknowledged in an earlier run, and the source
	// goes on after it.
	Init(req *InitRequest) error
	// Poll returns at most max records (never more: that is an error)
	// and whether the source has ended after them. An empty result
	// without end means "nothing now"; the host polls again later.
	// Records returned with a non-nil error are discarded, and the error
	// stops the source.
	Poll(max int) (records []SourceRecord, end bool, err error)
	// Ack acknowledges a record and every record before it, by the
	// Position Poll gave it. position is the SDK's copy; keep it. An
	// error stops the source.
	Ack(position []byte) error
}

// Transform registers a transform. Call it once, from an init function.
func Transform(m Manifest, fn TransformFunc) { global.registerTransform(m, fn) }

// Source registers a source. Call it once, from an init function.
func Source(m Manifest, src SourcePlugin) { global.registerSource(m, src) }

// Sink registers a sink. Call it once, from an init function.
func Sink(m Manifest, fn SinkFunc) { global.registerSink(m, fn) }

// OnInit registers a function the SDK calls in rivven_init, before a
// source's Init: the place for a transform or sink to read its config. An
// error fails the instance's start.
func OnInit(fn func(req *InitRequest) error) { global.onInit = fn }

// OnShutdown registers a function the SDK calls in rivven_shutdown, when
// the host drops the instance (close files, flush buffers). The host may
// also drop an instance without calling it (after a trap or timeout).
func OnShutdown(fn func() error) { global.onShutdown = fn }

// Retry marks err as temporary: a sink returning it gets its batch
// written again later (StatusRetry). Retry(nil) is nil.
func Retry(err error) error {
	if err == nil {
		return nil
	}
	return &retryError{err}
}

// IsRetry reports whether err, or an error it wraps, came from Retry.
func IsRetry(err error) bool {
	var r *retryError
	return errors.As(err, &r)
}

type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }
