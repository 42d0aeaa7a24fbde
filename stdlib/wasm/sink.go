package wasm

import (
	"context"
	"log/slog"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Sink is a plugin sink: Write calls rivven_write with the records, each
// carrying its position's text (for idempotency keys). StatusRetry and a
// call that ran out of time are retriable (the driver retries with
// backoff); StatusError, a trap and a panic fail the write under the
// pipeline's on_error. Used from one goroutine, as runtime.Sink says.
type Sink struct {
	r     *runner
	codec *codec
	ptrs  []*runtime.Record
}

var (
	_ runtime.Sink   = (*Sink)(nil)
	_ runtime.Logged = (*Sink)(nil)
)

// NewSink loads p's module and checks that it is a sink.
func NewSink(p Plugin) (*Sink, error) {
	r, err := newRunner(p, abi.KindSink)
	if err != nil {
		return nil, err
	}
	return &Sink{r: r, codec: newCodec()}, nil
}

// UseLogger sets the logger of the plugin's log calls and restarts.
func (s *Sink) UseLogger(l *slog.Logger) { s.r.setLogger(l) }

// Open implements runtime.Sink: the instance starts (rivven_init).
func (s *Sink) Open(ctx context.Context) error {
	_, err := s.r.instance(ctx)
	return err
}

func positionText(r *runtime.Record) []byte { return []byte(r.Position.String()) }

// Write implements runtime.Sink.
func (s *Sink) Write(ctx context.Context, recs []runtime.Record) error {
	s.ptrs = s.ptrs[:0]
	for i := range recs {
		s.ptrs = append(s.ptrs, &recs[i])
	}
	var input []byte
	if s.r.m.Manifest.Encoding == abi.EncodingJSON {
		input = abi.AppendBatchJSON(nil, toABIBatch(s.ptrs, positionText))
	} else {
		input = s.codec.encode(s.ptrs, positionText)
	}
	f, err := s.r.call(ctx, abi.ExportWrite, input)
	if err != nil {
		if ce, ok := err.(*CallError); ok && ce.Reason == ReasonTimeout {
			return runtime.Retriable(err)
		}
		return err
	}
	switch f.Status {
	case abi.StatusOK:
		return nil
	case abi.StatusRetry:
		return runtime.Retriable(&PluginError{Plugin: s.r.m.plugin.Name, Export: abi.ExportWrite, Msg: s.r.redact(f.Error)})
	}
	return &PluginError{Plugin: s.r.m.plugin.Name, Export: abi.ExportWrite, Msg: s.r.redact(f.Error)}
}

// Close implements runtime.Sink.
func (s *Sink) Close() error {
	s.r.close()
	return nil
}
