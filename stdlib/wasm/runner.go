package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// runner owns a component's instance: it makes one (instantiate, then
// rivven_init) when there is none or the last one died, and drops it
// after a failed call. Used by one goroutine at a time.
type runner struct {
	m      *Module
	kind   string
	log    *slog.Logger
	in     *instance
	resume []byte    // a source's position to go on after
	task   *abi.Task // a split source's task
	// failures counts instances dropped after a failed call.
	failures int
}

// newRunner loads p's module and checks that it is a plugin of kind.
func newRunner(p Plugin, kind string) (*runner, error) {
	m, err := Load(context.Background(), p)
	if err != nil {
		return nil, err
	}
	if m.Manifest.Kind != kind {
		return nil, fmt.Errorf("plugin %q is a %s (its manifest says so); it is used here as a %s", p.Name, m.Manifest.Kind, kind)
	}
	return &runner{m: m, kind: kind, log: slog.New(slog.DiscardHandler)}, nil
}

func (r *runner) setLogger(l *slog.Logger) {
	r.log = l
	if r.in != nil {
		r.in.log = l
	}
}

// instance returns the live instance, making and initialising one when
// needed.
func (r *runner) instance(ctx context.Context) (*instance, error) {
	if r.in != nil && !r.in.dead {
		return r.in, nil
	}
	if r.in != nil {
		r.in.close()
		r.in = nil
	}
	in, err := r.m.instantiate(ctx, r.log)
	if err != nil {
		return nil, err
	}
	p := &r.m.plugin
	req := abi.InitRequest{ABI: abi.Version, Plugin: p.Name, Kind: r.kind, Config: runtime.AppendJSON(nil, configObject(p.Config)), Resume: r.resume, Task: r.task}
	b, _ := json.Marshal(req)
	f, err := in.call(ctx, abi.ExportInit, b)
	if err != nil {
		in.close()
		return nil, err
	}
	if f.Status != abi.StatusOK {
		in.close()
		return nil, &PluginError{Plugin: p.Name, Export: abi.ExportInit, Msg: in.redact(f.Error)}
	}
	r.in = in
	return in, nil
}

// configObject is the config a plugin gets: an object, {} when none.
func configObject(v runtime.Value) runtime.Value {
	if v.Kind() != runtime.KindObject {
		return runtime.ObjectValue(runtime.NewObject(0))
	}
	return v
}

// call calls export on the live instance. After a failed call the
// instance is dropped (and the next call makes another), with a warning
// naming why.
func (r *runner) call(ctx context.Context, export string, input []byte) (abi.Frame, error) {
	in, err := r.instance(ctx)
	if err != nil {
		return abi.Frame{}, err
	}
	f, err := in.call(ctx, export, input)
	if in.dead {
		r.failures++
		r.log.Warn("plugin instance dropped; the next call starts a new one", "plugin", r.m.plugin.Name, "error", errText(err))
		in.close()
		r.in = nil
	}
	return f, err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// close calls rivven_shutdown (when exported) and drops the instance.
func (r *runner) close() {
	if r.in == nil {
		return
	}
	if r.in.mod.ExportedFunction(abi.ExportShutdown) != nil && !r.in.dead {
		if f, err := r.in.call(context.Background(), abi.ExportShutdown, nil); err == nil && f.Status != abi.StatusOK {
			r.log.Warn("plugin shutdown failed", "plugin", r.m.plugin.Name, "error", r.in.redact(f.Error))
		}
	}
	r.in.close()
	r.in = nil
}

// PluginError is a failure a plugin reported (a StatusError frame).
type PluginError struct {
	Plugin, Export, Msg string
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("plugin %q: %s", e.Plugin, e.Msg)
}

// IsCallError reports whether err is a call that did not complete
// (*CallError): a trap, timeout, panic or exit.
func IsCallError(err error) bool {
	var ce *CallError
	return errors.As(err, &ce)
}

// redact masks the plugin's secrets in msg.
func (r *runner) redact(msg string) string {
	if r.in != nil {
		return r.in.redact(msg)
	}
	return runtime.Redactor(r.m.plugin.secrets())(msg)
}
