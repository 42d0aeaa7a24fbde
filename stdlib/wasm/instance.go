package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// instance is one instantiation of a module, with the host state its
// imports use. It is used by one goroutine at a time. After a failed call
// (trap, timeout, panic) it is dead: its owner closes it and makes another.
type instance struct {
	m      *Module
	p      *Plugin
	mod    api.Module
	alloc  api.Function
	log    *slog.Logger
	redact func(string) string
	// result is the buffer of the host functions that return data.
	result []byte
	stderr *tail
	client *http.Client
	dead   bool
}

type instanceKey struct{}

// instantiate makes a new instance of m, logging to log.
func (m *Module) instantiate(ctx context.Context, log *slog.Logger) (*instance, error) {
	p := &m.plugin
	in := &instance{m: m, p: p, log: log, redact: runtime.Redactor(p.secrets()), stderr: &tail{max: 4096}}
	fs := wazero.NewFSConfig()
	for _, mt := range p.Mounts {
		if st, err := os.Stat(mt.Host); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("plugin %q: allow_fs host directory %s: not a readable directory", p.Name, mt.Host)
		}
		if mt.ReadOnly {
			fs = fs.WithReadOnlyDirMount(mt.Host, mt.Guest)
		} else {
			fs = fs.WithDirMount(mt.Host, mt.Guest)
		}
	}
	cfg := wazero.NewModuleConfig().WithName("").
		WithStartFunctions("_initialize").
		WithFSConfig(fs).
		WithStdout(&logWriter{in: in, level: slog.LevelInfo}).
		WithStderr(in.stderr).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, name := range p.Env {
		if v, ok := os.LookupEnv(name); ok {
			cfg = cfg.WithEnv(name, v)
		}
	}
	cctx, cancel := in.callContext(ctx)
	defer cancel()
	mod, err := m.engine.rt.InstantiateModule(experimental.WithMemoryAllocator(cctx, memoryAllocator), m.compiled, cfg)
	if err != nil {
		return nil, in.failure(cctx, "instantiate", err)
	}
	in.mod = mod
	in.alloc = mod.ExportedFunction(abi.ExportAlloc)
	return in, nil
}

// callContext bounds a call by the plugin's timeout and carries the
// instance to the host functions.
func (in *instance) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	cancel := context.CancelFunc(func() {})
	if !in.p.Unbounded {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(in.p.timeoutMs())*time.Millisecond)
	}
	return context.WithValue(ctx, instanceKey{}, in), cancel
}

// call calls export with input (nil: an export without parameters) and
// returns its frame. The frame's payload aliases the instance's memory:
// the caller decodes it before the next call. A trap, a timeout, an exit
// and a StatusPanic frame kill the instance and return a *CallError.
func (in *instance) call(ctx context.Context, export string, input []byte) (abi.Frame, error) {
	fn := in.mod.ExportedFunction(export)
	if fn == nil {
		return abi.Frame{}, &CallError{Plugin: in.p.Name, Export: export, Reason: ReasonABI, Msg: "the module does not export it"}
	}
	ctx, cancel := in.callContext(ctx)
	defer cancel()
	in.stderr.reset()
	var res []uint64
	var err error
	if input == nil && (export == abi.ExportManifest || export == abi.ExportShutdown) {
		res, err = fn.Call(ctx)
	} else {
		var ptr uint32
		if ptr, err = in.write(ctx, input); err == nil {
			res, err = fn.Call(ctx, uint64(ptr), uint64(len(input)))
		}
	}
	if err != nil {
		return abi.Frame{}, in.failure(ctx, export, err)
	}
	ptr, n := abi.Unpack(res[0])
	b, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		in.dead = true
		return abi.Frame{}, &CallError{Plugin: in.p.Name, Export: export, Reason: ReasonABI, Msg: fmt.Sprintf("it returned a result at %d+%d, outside its memory of %d bytes", ptr, n, in.mod.Memory().Size())}
	}
	f, err := abi.ParseFrame(b)
	if err != nil {
		in.dead = true
		return abi.Frame{}, &CallError{Plugin: in.p.Name, Export: export, Reason: ReasonABI, Msg: err.Error()}
	}
	if f.Status == abi.StatusPanic {
		in.dead = true
		return f, &CallError{Plugin: in.p.Name, Export: export, Reason: ReasonPanic, Msg: in.redact(f.Error)}
	}
	return f, nil
}

// write copies input into a buffer the plugin allocates.
func (in *instance) write(ctx context.Context, input []byte) (uint32, error) {
	res, err := in.alloc.Call(ctx, uint64(len(input)))
	if err != nil {
		return 0, err
	}
	ptr := uint32(res[0])
	if !in.mod.Memory().Write(ptr, input) {
		return 0, fmt.Errorf("rivven_alloc(%d) returned %d, outside its memory of %d bytes", len(input), ptr, in.mod.Memory().Size())
	}
	return ptr, nil
}

// failure turns a failed call into a *CallError (or ctx's error when the
// caller's context ended) and marks the instance dead.
func (in *instance) failure(ctx context.Context, export string, err error) error {
	in.dead = true
	ce := &CallError{Plugin: in.p.Name, Export: export}
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		ce.Reason = ReasonTimeout
		ce.Msg = fmt.Sprintf("did not return within timeout_ms %d; the call was stopped", in.p.timeoutMs())
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		return context.Canceled
	case errors.As(err, &exit):
		ce.Reason = ReasonExit
		ce.Msg = fmt.Sprintf("the plugin exited with code %d", exit.ExitCode())
	case ctx.Err() == context.DeadlineExceeded:
		ce.Reason = ReasonTimeout
		ce.Msg = fmt.Sprintf("did not return within timeout_ms %d; the call was stopped", in.p.timeoutMs())
	default:
		ce.Reason = ReasonTrap
		msg := err.Error()
		if i := strings.Index(msg, "\nwasm stack trace:"); i >= 0 {
			msg = msg[:i]
		}
		ce.Msg = "trapped: " + msg
		if in.mod != nil {
			// Within 4 MiB of the cap: a memory.grow past it failed (Go
			// plugins grow their heap a few MiB at a time).
			if mem := in.mod.Memory(); mem != nil && uint64(mem.Size())+(4<<20) > uint64(in.m.engine.limitMB)<<20 {
				ce.Reason = ReasonMemory
				ce.Msg += fmt.Sprintf(" (its memory is at the limit of memory_mb %d: it could not grow)", in.m.engine.limitMB)
			}
		}
	}
	if t := strings.TrimSpace(in.stderr.String()); t != "" {
		ce.Msg += "; it wrote to stderr: " + t
	}
	ce.Msg = in.redact(ce.Msg)
	return ce
}

// close releases the instance.
func (in *instance) close() {
	if in.mod != nil {
		_ = in.mod.Close(context.Background())
	}
}

// Reasons a call failed (CallError.Reason).
const (
	ReasonTimeout = "timeout"
	ReasonTrap    = "trap"
	ReasonMemory  = "memory"
	ReasonPanic   = "panic"
	ReasonExit    = "exit"
	ReasonABI     = "abi"
)

// CallError is a call into a plugin that did not complete: it trapped,
// ran past its deadline or its memory, panicked, exited, or broke the
// ABI. The instance that failed is dropped; the next call gets a new one.
type CallError struct {
	Plugin, Export string
	Reason         string
	Msg            string
}

func (e *CallError) Error() string {
	switch e.Reason {
	case ReasonPanic:
		return fmt.Sprintf("plugin %q panicked in %s: %s", e.Plugin, e.Export, e.Msg)
	case ReasonABI:
		return fmt.Sprintf("plugin %q broke ABI v1 in %s: %s", e.Plugin, e.Export, e.Msg)
	}
	return fmt.Sprintf("plugin %q: %s %s", e.Plugin, e.Export, e.Msg)
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func (t *tail) reset() {
	t.mu.Lock()
	t.b = t.b[:0]
	t.mu.Unlock()
}

// logWriter logs each line a plugin writes to stdout.
type logWriter struct {
	in    *instance
	level slog.Level
	buf   []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		w.in.log.Log(context.Background(), w.level, w.in.redact(string(w.buf[:i])), "plugin", w.in.p.Name)
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 4096 {
		w.in.log.Log(context.Background(), w.level, w.in.redact(string(w.buf)), "plugin", w.in.p.Name)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}
