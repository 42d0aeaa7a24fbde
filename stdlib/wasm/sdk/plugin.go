package sdk

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// plugin is the instance's registration and buffers. The exports (a
// wasip1-only file) call its methods; each method takes the call's input
// bytes and returns the result frame, which stays valid until the next
// call, so native tests drive the same code.
type plugin struct {
	manifest abi.Manifest
	regErr   error // a registration mistake, reported by every call

	transform  TransformFunc
	sink       SinkFunc
	source     SourcePlugin
	onInit     func(*InitRequest) error
	onShutdown func() error
	streams    map[streamKey]*declared // a source's declared streams

	inited bool
	in     []byte // rivven_alloc's buffer
	out    []byte // the last result frame

	// A call's batch, reused by the next call: the decoder keeps the
	// value slab, schemas and records the arrays the decoder fills (kept
	// apart from raw, which the plugin may change), batch the wrapper.
	dec     abi.Decoder
	schemas []abi.Schema
	records []abi.Record
	raw     abi.Batch
	batch   Batch
}

// global is the instance's plugin; the exports and registrations use it.
var global plugin

func (p *plugin) register(kind string, m Manifest) bool {
	if p.manifest.Kind != "" {
		if p.regErr == nil {
			p.regErr = fmt.Errorf("the plugin registered a %s after a %s; register exactly one of sdk.Transform, sdk.Source or sdk.Sink", kind, p.manifest.Kind)
		}
		return false
	}
	if err := checkManifest(&m, kind); err != nil && p.regErr == nil {
		p.regErr = err
	}
	m.ABI, m.Kind = abi.Version, kind
	p.manifest = m
	return true
}

func (p *plugin) registerTransform(m Manifest, fn TransformFunc) {
	if p.register(abi.KindTransform, m) {
		p.transform = fn
		if fn == nil && p.regErr == nil {
			p.regErr = fmt.Errorf("sdk.Transform: the function is nil")
		}
	}
}

func (p *plugin) registerSink(m Manifest, fn SinkFunc) {
	if p.register(abi.KindSink, m) {
		p.sink = fn
		if fn == nil && p.regErr == nil {
			p.regErr = fmt.Errorf("sdk.Sink: the function is nil")
		}
	}
}

func (p *plugin) registerSource(m Manifest, src SourcePlugin) {
	if p.register(abi.KindSource, m) {
		p.source = src
		p.streams = declareStreams(m.Streams)
		if src == nil && p.regErr == nil {
			p.regErr = fmt.Errorf("sdk.Source: the source is nil")
		}
	}
}

// alloc returns a buffer of n bytes (at least one byte of capacity, so it
// has an address), valid until the call after the next.
func (p *plugin) alloc(n int) []byte {
	if cap(p.in) < n || cap(p.in) == 0 {
		p.in = make([]byte, max(n, 2*cap(p.in), 64))
	}
	p.in = p.in[:n]
	return p.in
}

// body appends a call's payload to out (which already holds the frame's
// 8-byte header) and returns it with the call's status; an error becomes
// the frame's error text with status StatusError, or the status body
// returned when that is not StatusOK.
type body func(out []byte) ([]byte, abi.Status, error)

// run makes the frame of one call, recovering a panic into a StatusPanic
// frame.
func (p *plugin) run(fn body) (frame []byte) {
	defer func() {
		if v := recover(); v != nil {
			p.out = abi.AppendFrame(p.out[:0], abi.Frame{Status: abi.StatusPanic, Error: panicText(v, debug.Stack())})
			frame = p.out
		}
	}()
	out := append(p.out[:0], 0, 0, 0, 0, 0, 0, 0, 0)
	out, st, err := fn(out)
	if err != nil {
		if st == abi.StatusOK {
			st = abi.StatusError
		}
		p.out = abi.AppendFrame(out[:0], abi.Frame{Status: st, Error: errorText(err.Error())})
		return p.out
	}
	binary.LittleEndian.PutUint32(out, uint32(st))
	binary.LittleEndian.PutUint32(out[4:], 0)
	p.out = out
	return out
}

// ready checks that the plugin is registered as kind and initialised.
func (p *plugin) ready(kind, export string) error {
	if p.regErr != nil {
		return p.regErr
	}
	if p.manifest.Kind != kind {
		return fmt.Errorf("%s called, but the plugin is a %s, not a %s", export, p.manifestKind(), kind)
	}
	if !p.inited {
		return fmt.Errorf("%s called before rivven_init succeeded", export)
	}
	return nil
}

func (p *plugin) manifestKind() string {
	if p.manifest.Kind == "" {
		return "plugin that registered nothing"
	}
	return p.manifest.Kind
}

// getManifest is rivven_get_manifest: the manifest's JSON.
func (p *plugin) getManifest() []byte {
	return p.run(func(out []byte) ([]byte, abi.Status, error) {
		if p.regErr != nil {
			return out, abi.StatusError, p.regErr
		}
		if p.manifest.Kind == "" {
			return out, abi.StatusError, errNothingRegistered
		}
		j, err := json.Marshal(&p.manifest)
		if err != nil {
			return out, abi.StatusError, fmt.Errorf("manifest: %w", err)
		}
		return append(out, j...), abi.StatusOK, nil
	})
}

var errNothingRegistered = fmt.Errorf("the plugin registered nothing: call sdk.Transform, sdk.Source or sdk.Sink from an init function")

// init is rivven_init: decode the request, check it, run the init hooks.
func (p *plugin) init(in []byte) []byte {
	return p.run(func(out []byte) ([]byte, abi.Status, error) {
		if p.regErr != nil {
			return out, abi.StatusError, p.regErr
		}
		if p.manifest.Kind == "" {
			return out, abi.StatusError, errNothingRegistered
		}
		if p.inited {
			return out, abi.StatusError, fmt.Errorf("rivven_init called twice")
		}
		var req InitRequest
		if err := json.Unmarshal(in, &req.InitRequest); err != nil {
			return out, abi.StatusError, fmt.Errorf("rivven_init: the init request is not valid JSON: %w", err)
		}
		if req.ABI != abi.Version {
			return out, abi.StatusError, fmt.Errorf("the host speaks plugin ABI %d; this plugin was built for ABI %d", req.ABI, abi.Version)
		}
		if req.Kind != "" && req.Kind != p.manifest.Kind {
			return out, abi.StatusError, fmt.Errorf("the pipeline uses the plugin as a %s, but it is a %s", req.Kind, p.manifest.Kind)
		}
		if p.onInit != nil {
			if err := p.onInit(&req); err != nil {
				return out, abi.StatusError, err
			}
		}
		if p.source != nil {
			if err := p.source.Init(&req); err != nil {
				return out, abi.StatusError, err
			}
		}
		p.inited = true
		return out, abi.StatusOK, nil
	})
}

// transformCall is rivven_transform.
func (p *plugin) transformCall(in []byte) []byte {
	return p.run(func(out []byte) ([]byte, abi.Status, error) {
		if err := p.ready(abi.KindTransform, abi.ExportTransform); err != nil {
			return out, abi.StatusError, err
		}
		b, err := p.decode(in)
		if err != nil {
			return out, abi.StatusError, err
		}
		if err := p.transform(b); err != nil {
			return out, abi.StatusError, err
		}
		return p.encode(out, b), abi.StatusOK, nil
	})
}

// write is rivven_write.
func (p *plugin) write(in []byte) []byte {
	return p.run(func(out []byte) ([]byte, abi.Status, error) {
		if err := p.ready(abi.KindSink, abi.ExportWrite); err != nil {
			return out, abi.StatusError, err
		}
		b, err := p.decode(in)
		if err != nil {
			return out, abi.StatusError, err
		}
		if err := p.sink(b); err != nil {
			if IsRetry(err) {
				return out, abi.StatusRetry, err
			}
			return out, abi.StatusError, err
		}
		return out, abi.StatusOK, nil
	})
}

// poll is rivven_poll.
func (p *plugin) poll(in []byte) []byte {
	return p.run(func(out []byte) ([]byte, abi.Status, error) {
		if err := p.ready(abi.KindSource, abi.ExportPoll); err != nil {
			return out, abi.StatusError, err
		}
		req, err := abi.ParsePollRequest(in)
		if err != nil {
			return out, abi.StatusError, fmt.Errorf("rivven_poll: %w", err)
		}
		most := int(min(req.Max, 1<<30))
		recs, end, err := p.source.Poll(most)
		if err != nil {
			return out, abi.StatusError, err
		}
		if len(recs) > most {
			return out, abi.StatusError, fmt.Errorf("the source's Poll returned %d records; the host asked for at most %d", len(recs), most)
		}
		b, err := p.sourceBatch(recs)
		if err != nil {
			return out, abi.StatusError, err
		}
		st := abi.StatusOK
		if end {
			st = abi.StatusEnd
		}
		return p.encode(out, b), st, nil
	})
}

// ack is rivven_ack.
func (p *plugin) ack(in []byte) []byte {
	return p.run(func(out []byte) ([]byte, abi.Status, error) {
		if err := p.ready(abi.KindSource, abi.ExportAck); err != nil {
			return out, abi.StatusError, err
		}
		return out, abi.StatusOK, p.source.Ack(append([]byte(nil), in...))
	})
}

// shutdown is rivven_shutdown.
func (p *plugin) shutdown() []byte {
	return p.run(func(out []byte) ([]byte, abi.Status, error) {
		if p.onShutdown == nil || !p.inited {
			return out, abi.StatusOK, nil
		}
		p.inited = false
		return out, abi.StatusOK, p.onShutdown()
	})
}

// decode reads a call's input batch in the manifest's encoding. A binary
// batch reuses the memory of the call before (its rows, records and
// wrapper), which is why a batch is valid during its call only.
func (p *plugin) decode(in []byte) (*Batch, error) {
	if p.manifest.Encoding == abi.EncodingJSON {
		raw, err := abi.ParseBatchJSON(in)
		if err != nil {
			return nil, fmt.Errorf("the host's batch: %w", err)
		}
		return NewBatch(raw), nil
	}
	p.raw = abi.Batch{Schemas: p.schemas[:0], Records: p.records[:0]}
	p.dec.Reset(in)
	err := p.dec.ReadBatch(&p.raw)
	p.schemas, p.records = p.raw.Schemas, p.raw.Records
	if err != nil {
		return nil, fmt.Errorf("the host's batch: %w", err)
	}
	p.batch.reset(&p.raw)
	return &p.batch, nil
}

// encode appends b to out in the manifest's encoding.
func (p *plugin) encode(out []byte, b *Batch) []byte {
	b.compact()
	if p.manifest.Encoding == abi.EncodingJSON {
		return abi.AppendBatchJSON(out, b.raw)
	}
	return abi.AppendBatch(out, b.raw)
}

// maxErrorText bounds a frame's error text.
const maxErrorText = 8 << 10

// errorText makes s valid UTF-8 of at most maxErrorText bytes.
func errorText(s string) string {
	if len(s) > maxErrorText {
		s = s[:maxErrorText] + "…"
	}
	return toValidUTF8(s)
}
