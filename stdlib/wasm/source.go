package wasm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Source is a plugin source: Read calls rivven_poll, Ack calls rivven_ack
// with the position of the last acknowledged record, and a restart hands
// the plugin that position in InitRequest.Resume (runtime.Resumable), so
// a plugin source gets the driver's at-least-once guarantee. Read and Ack
// may run on different goroutines; calls into the plugin are serialised.
// A failed poll (the plugin's error, a trap, a timeout) stops the
// pipeline; the next run resumes from the acknowledged position.
type Source struct {
	mu      sync.Mutex
	r       *runner
	now     func() time.Time
	streams map[runtime.StreamRef]*runtime.Schema
	offset  uint64
	idle    time.Duration
	ended   bool
}

var (
	_ runtime.Source    = (*Source)(nil)
	_ runtime.Resumable = (*Source)(nil)
	_ runtime.Logged    = (*Source)(nil)
)

// Idle waits between polls that return no records.
const (
	minIdle = 10 * time.Millisecond
	maxIdle = time.Second
)

// NewSource loads p's module and checks that it is a source; now stamps
// records the plugin gives no time.
func NewSource(p Plugin, now func() time.Time) (*Source, error) {
	r, err := newRunner(p, abi.KindSource)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	s := &Source{r: r, now: now, streams: map[runtime.StreamRef]*runtime.Schema{}}
	for _, st := range r.m.Manifest.Streams {
		sc, err := StreamSchema(st)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: manifest stream %q: %v", p.Name, st.Name, err)
		}
		s.streams[runtime.StreamRef{Name: st.Name, Namespace: st.Namespace}] = sc
	}
	return s, nil
}

// Split implements runtime.Splitter for a plugin whose manifest says
// Splits: every instance is told its task in rivven_init (InitRequest.Task).
func (s *Source) Split(index, count int) error {
	if !s.r.m.Manifest.Splits && count > 1 {
		return fmt.Errorf("plugin %q does not split its work into tasks (its manifest does not say splits)", s.r.m.plugin.Name)
	}
	if count > 1 {
		s.r.task = &abi.Task{Index: index, Count: count}
	}
	return nil
}

// UseLogger sets the logger of the plugin's log calls and restarts.
func (s *Source) UseLogger(l *slog.Logger) { s.r.setLogger(l) }

// Resume implements runtime.Resumable: the next instance starts after pos.
func (s *Source) Resume(pos runtime.Position) error {
	if pos.Token == "" {
		return fmt.Errorf("plugin %q: the state file holds no plugin position (offset %d only); remove it to start the plugin source from its beginning", s.r.m.plugin.Name, pos.Offset)
	}
	b, err := tokenBytes(pos.Token)
	if err != nil {
		return fmt.Errorf("plugin %q: %v", s.r.m.plugin.Name, err)
	}
	s.r.resume = b
	s.offset = pos.Offset
	return nil
}

// Open implements runtime.Source: the instance starts (rivven_init).
func (s *Source) Open(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.r.instance(ctx)
	return err
}

// Read implements runtime.Source.
func (s *Source) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	for {
		n, err := s.poll(ctx, batch)
		if n > 0 || err != nil {
			return n, err
		}
		s.idle = min(max(2*s.idle, minIdle), maxIdle)
		if err := runtime.Sleep(ctx, s.idle); err != nil {
			return 0, err
		}
	}
}

func (s *Source) poll(ctx context.Context, batch []runtime.Record) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return 0, io.EOF
	}
	f, err := s.r.call(ctx, abi.ExportPoll, abi.AppendPollRequest(nil, abi.PollRequest{Max: uint32(len(batch))}))
	if err != nil {
		return 0, err
	}
	if f.Status != abi.StatusOK && f.Status != abi.StatusEnd {
		return 0, &PluginError{Plugin: s.r.m.plugin.Name, Export: abi.ExportPoll, Msg: s.r.redact(f.Error)}
	}
	var b *abi.Batch
	if s.r.m.Manifest.Encoding == abi.EncodingJSON {
		b, err = abi.ParseBatchJSON(f.Payload)
	} else {
		b, err = abi.ParseBatch(f.Payload)
	}
	if err != nil {
		return 0, fmt.Errorf("plugin %q broke ABI v1 in rivven_poll: %v", s.r.m.plugin.Name, err)
	}
	if len(b.Records) > len(batch) {
		return 0, fmt.Errorf("plugin %q broke ABI v1 in rivven_poll: it returned %d records when asked for at most %d", s.r.m.plugin.Name, len(b.Records), len(batch))
	}
	for i := range b.Records {
		if err := s.fill(&batch[i], b, &b.Records[i]); err != nil {
			return 0, fmt.Errorf("plugin %q: rivven_poll record %d: %v", s.r.m.plugin.Name, i, err)
		}
	}
	if len(b.Records) > 0 {
		s.idle = 0
	}
	if f.Status == abi.StatusEnd {
		s.ended = true
		return len(b.Records), io.EOF
	}
	return len(b.Records), nil
}

// fill makes r of a plugin's record, checking it against its stream's
// declared schema.
func (s *Source) fill(r *runtime.Record, b *abi.Batch, ar *abi.Record) error {
	ref := runtime.StreamRef{Name: ar.Stream, Namespace: ar.Namespace}
	sc := s.streams[ref]
	if sc == nil {
		var names []string
		for k := range s.streams {
			names = append(names, bindName(k))
		}
		return fmt.Errorf("stream %q is not one the manifest declares (%s)", bindName(ref), strings.Join(names, ", "))
	}
	if len(ar.Position) == 0 {
		return errors.New("it has no position (a source gives every record the position to resume after it)")
	}
	as := &b.Schemas[ar.Schema]
	if !sameNames(sc, as) {
		var got []string
		for _, f := range as.Fields {
			got = append(got, f.Name)
		}
		return fmt.Errorf("stream %q: its fields are [%s]; the manifest declares [%s]", bindName(ref), strings.Join(got, ", "), names(sc))
	}
	after, err := typedRow(sc, ar.After)
	if err != nil {
		return err
	}
	before, err := typedRow(sc, ar.Before)
	if err != nil {
		return err
	}
	s.offset++
	*r = runtime.Record{Stream: ar.Stream, Namespace: ar.Namespace, Op: runtime.Op(ar.Op), Schema: sc,
		After: after, Before: before, Meta: fromABIMeta(ar.Meta),
		Position: runtime.Position{Offset: s.offset, Token: tokenOf(ar.Position)}}
	if ar.HasTime {
		r.Time = nanosTime(ar.TimeNanos)
	} else {
		r.Time = s.now()
	}
	return nil
}

// typedRow converts a row, checking each value against its field's type:
// the same kind, null when nullable, an int for a float field.
func typedRow(sc *runtime.Schema, vs []abi.Value) ([]runtime.Value, error) {
	if vs == nil {
		return nil, nil
	}
	out := make([]runtime.Value, len(vs))
	for i := range vs {
		f := sc.Fields[i]
		v := fromABIValue(&vs[i])
		switch {
		case f.Type.Kind == runtime.KindNull || v.Kind() == f.Type.Kind:
		case v.IsNull() && f.Nullable:
		case v.Kind() == runtime.KindInt && f.Type.Kind == runtime.KindFloat:
			v = runtime.Float(float64(v.AsInt()))
		default:
			return nil, fmt.Errorf("field %q is declared %s%s; the plugin gave a %s", f.Name, nullable(f), f.Type, v.Kind())
		}
		out[i] = v
	}
	return out, nil
}

func nullable(f runtime.Field) string {
	if f.Nullable {
		return "?"
	}
	return ""
}

func bindName(r runtime.StreamRef) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "." + r.Name
}

// Ack implements runtime.Source: rivven_ack with the plugin's position of
// the last acknowledged record.
func (s *Source) Ack(ctx context.Context, pos runtime.Position) error {
	b, err := tokenBytes(pos.Token)
	if err != nil {
		return fmt.Errorf("plugin %q: %v", s.r.m.plugin.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.resume = b // a new instance goes on after it
	f, err := s.r.call(ctx, abi.ExportAck, b)
	if err != nil {
		return err
	}
	if f.Status != abi.StatusOK {
		return &PluginError{Plugin: s.r.m.plugin.Name, Export: abi.ExportAck, Msg: s.r.redact(f.Error)}
	}
	return nil
}

// Close implements runtime.Source.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.close()
	return nil
}

// tokenOf turns a plugin's position into a runtime.Position token: the
// bytes themselves when they are UTF-8 text, else "b64:" and their
// base64.
func tokenOf(b []byte) string {
	if utf8.Valid(b) && !strings.HasPrefix(string(b), "b64:") {
		return string(b)
	}
	return "b64:" + base64.StdEncoding.EncodeToString(b)
}

// tokenBytes inverts tokenOf.
func tokenBytes(t string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(t, "b64:"); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("position %q is not valid base64 after its b64: prefix", t)
		}
		return b, nil
	}
	return []byte(t), nil
}
