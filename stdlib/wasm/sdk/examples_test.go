package sdk_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// The Go plugins of the repository, built as a plugin author builds them.
var plugins = []struct{ name, pkg, kind string }{
	{"mask", "./examples/wasm/mask", abi.KindTransform},
	{"rename", "./examples/wasm/rename", abi.KindTransform},
	{"counter", "./examples/wasm/counter", abi.KindSource},
	{"jsonl", "./examples/wasm/jsonl", abi.KindSink},
	{"probe", "./stdlib/wasm/testdata/probe", abi.KindTransform},
}

// The signatures of the ABI's exports and of the host's imports (abi's
// package comment), as wasm types.
var (
	i32, i64    = api.ValueTypeI32, api.ValueTypeI64
	exportTypes = map[string][2][]api.ValueType{
		abi.ExportAlloc:     {{i32}, {i32}},
		abi.ExportManifest:  {nil, {i64}},
		abi.ExportInit:      {{i32, i32}, {i64}},
		abi.ExportTransform: {{i32, i32}, {i64}},
		abi.ExportPoll:      {{i32, i32}, {i64}},
		abi.ExportWrite:     {{i32, i32}, {i64}},
		abi.ExportAck:       {{i32, i32}, {i64}},
		abi.ExportShutdown:  {nil, {i64}},
	}
	importTypes = map[string][2][]api.ValueType{
		abi.HostLog:         {{i32, i32, i32}, nil},
		abi.HostNowMs:       {nil, {i64}},
		abi.HostConfigGet:   {{i32, i32}, {i32}},
		abi.HostStateGet:    {{i32, i32}, {i32}},
		abi.HostStateSet:    {{i32, i32, i32, i32}, {i32}},
		abi.HostHTTPRequest: {{i32, i32}, {i32}},
		abi.HostResultRead:  {{i32, i32}, {i32}},
	}
	kindExports = map[string][]string{
		abi.KindTransform: {abi.ExportTransform},
		abi.KindSource:    {abi.ExportPoll, abi.ExportAck},
		abi.KindSink:      {abi.ExportWrite},
	}
)

// buildPlugins builds every plugin for wasip1 into a temporary directory
// and returns the modules by name.
func buildPlugins(t *testing.T) map[string][]byte {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("this test needs the Go toolchain on PATH")
	}
	dir := t.TempDir()
	out := map[string][]byte{}
	for _, p := range plugins {
		file := filepath.Join(dir, p.name+".wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", file, p.pkg)
		cmd.Dir = filepath.Join("..", "..", "..")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", p.pkg, err, b)
		}
		bin, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out[p.name] = bin
	}
	return out
}

// stubHost is the state of the host's "rivven" module, in memory.
type stubHost struct {
	config map[string]string
	state  map[string]string
	logs   []string
	result []byte
}

// runner is a runtime as the host sets it up (WASI and the "rivven"
// module) with the plugins compiled; its "rivven" functions use the
// stubHost of the instance started last (the subtests run one by one).
type runner struct {
	t        *testing.T
	ctx      context.Context
	rt       wazero.Runtime
	compiled map[string]wazero.CompiledModule
	host     *stubHost
}

// It runs the interpreter: this tests the SDK, not wazero's compiler (the
// host's tests run that), and compiling 4 MB Go modules takes seconds,
// tens of seconds under the race detector.
func newRunner(t *testing.T) *runner {
	ctx := context.Background()
	r := &runner{t: t, ctx: ctx, rt: wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter()), compiled: map[string]wazero.CompiledModule{}}
	t.Cleanup(func() { r.rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r.rt)
	str := func(m api.Module, ptr, n uint32) string {
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			t.Errorf("host call: %d bytes at %#x are outside the plugin's memory", n, ptr)
		}
		return string(b)
	}
	setResult := func(v string, ok bool) int32 {
		if !ok {
			return -1
		}
		r.host.result = []byte(v)
		return int32(len(v))
	}
	_, err := r.rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, level, ptr, n uint32) {
		r.host.logs = append(r.host.logs, str(m, ptr, n))
	}).Export(abi.HostLog).
		NewFunctionBuilder().WithFunc(func(context.Context) int64 { return 1234 }).Export(abi.HostNowMs).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, ptr, n uint32) int32 {
		v, ok := r.host.config[str(m, ptr, n)]
		return setResult(v, ok)
	}).Export(abi.HostConfigGet).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, ptr, n uint32) int32 {
		v, ok := r.host.state[str(m, ptr, n)]
		return setResult(v, ok)
	}).Export(abi.HostStateGet).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, kp, kn, vp, vn uint32) int32 {
		r.host.state[str(m, kp, kn)] = str(m, vp, vn)
		return 0
	}).Export(abi.HostStateSet).
		NewFunctionBuilder().WithFunc(func(context.Context, api.Module, uint32, uint32) int32 {
		return setResult(`{"error":"no network in this test"}`, true)
	}).Export(abi.HostHTTPRequest).
		NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, ptr, n uint32) int32 {
		c := min(int(n), len(r.host.result))
		if !m.Memory().Write(ptr, r.host.result[:c]) {
			t.Errorf("result_read: %d bytes at %#x are outside the plugin's memory", n, ptr)
		}
		return int32(c)
	}).Export(abi.HostResultRead).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// instance is one running plugin.
type instance struct {
	t   *testing.T
	ctx context.Context
	mod api.Module
}

// start instantiates plugin name as the host does: _initialize as the
// start function, fs mounted at /out when not "", h as the host's state.
func (r *runner) start(t *testing.T, name string, h *stubHost, fs string) *instance {
	t.Helper()
	r.host = h
	cfg := wazero.NewModuleConfig().WithStartFunctions("_initialize").WithName("")
	if fs != "" {
		cfg = cfg.WithFSConfig(wazero.NewFSConfig().WithDirMount(fs, "/out"))
	}
	mod, err := r.rt.InstantiateModule(r.ctx, r.compiled[name], cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(r.ctx) })
	return &instance{t, r.ctx, mod}
}

// call calls an export with input (nil: an export without parameters)
// and returns its frame, copied out of the plugin's memory.
func (in *instance) call(name string, input []byte) abi.Frame {
	in.t.Helper()
	var args []uint64
	if input != nil {
		res, err := in.mod.ExportedFunction(abi.ExportAlloc).Call(in.ctx, uint64(len(input)))
		if err != nil {
			in.t.Fatalf("rivven_alloc: %v", err)
		}
		ptr := uint32(res[0])
		if !in.mod.Memory().Write(ptr, input) {
			in.t.Fatalf("rivven_alloc returned %#x, outside the memory", ptr)
		}
		args = []uint64{uint64(ptr), uint64(len(input))}
	}
	res, err := in.mod.ExportedFunction(name).Call(in.ctx, args...)
	if err != nil {
		in.t.Fatalf("%s: %v", name, err)
	}
	ptr, n := abi.Unpack(res[0])
	b, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		in.t.Fatalf("%s returned a frame of %d bytes at %#x, outside the memory", name, n, ptr)
	}
	f, err := abi.ParseFrame(slices.Clone(b))
	if err != nil {
		in.t.Fatalf("%s: %v", name, err)
	}
	return f
}

func (in *instance) ok(name string, input []byte) abi.Frame {
	in.t.Helper()
	f := in.call(name, input)
	if f.Status != abi.StatusOK {
		in.t.Fatalf("%s: %s %q", name, f.Status, f.Error)
	}
	return f
}

func (in *instance) manifest() abi.Manifest {
	in.t.Helper()
	var m abi.Manifest
	if err := json.Unmarshal(in.ok(abi.ExportManifest, nil).Payload, &m); err != nil {
		in.t.Fatal(err)
	}
	return m
}

func (in *instance) init(kind, config string, resume []byte) {
	in.t.Helper()
	req, _ := json.Marshal(abi.InitRequest{ABI: abi.Version, Plugin: "p", Kind: kind, Config: json.RawMessage(config), Resume: resume})
	in.ok(abi.ExportInit, req)
}

func customers() *abi.Batch {
	return &abi.Batch{
		Schemas: []abi.Schema{{Fields: []abi.Field{
			{Name: "id", Kind: abi.KindInt}, {Name: "email", Kind: abi.KindString}, {Name: "card", Kind: abi.KindString, Nullable: true},
		}, Key: []int{0}}},
		Records: []abi.Record{
			{Stream: "customers", Op: abi.OpInsert, After: []abi.Value{
				{Kind: abi.KindInt, Int: 1}, {Kind: abi.KindString, Str: "ada@example.com"}, {Kind: abi.KindString, Str: "4111111111111111"}}},
			{Stream: "customers", Op: abi.OpUpdate,
				After:  []abi.Value{{Kind: abi.KindInt, Int: 2}, {Kind: abi.KindString, Str: "bö@x"}, {}},
				Before: []abi.Value{{Kind: abi.KindInt, Int: 2}, {Kind: abi.KindString, Str: "b@x"}, {Kind: abi.KindString, Str: "5500000000000004"}}},
		},
	}
}

// TestPlugins builds the example plugins and the probe for wasip1, checks
// their exports and imports against the ABI, and runs them on wazero the
// way the host does: the SDK end to end.
func TestPlugins(t *testing.T) {
	bins := buildPlugins(t)
	r := newRunner(t)
	for _, p := range plugins {
		m, err := r.rt.CompileModule(r.ctx, bins[p.name])
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		r.compiled[p.name] = m
		exp := m.ExportedFunctions()
		for _, name := range append([]string{"_initialize", abi.ExportAlloc, abi.ExportManifest, abi.ExportInit, abi.ExportShutdown}, kindExports[p.kind]...) {
			d := exp[name]
			if d == nil {
				t.Errorf("%s does not export %s", p.name, name)
				continue
			}
			if want, ok := exportTypes[name]; ok && (!slices.Equal(d.ParamTypes(), want[0]) || !slices.Equal(d.ResultTypes(), want[1])) {
				t.Errorf("%s: export %s has type %v -> %v; want %v -> %v", p.name, name, d.ParamTypes(), d.ResultTypes(), want[0], want[1])
			}
		}
		if _, ok := m.ExportedMemories()["memory"]; !ok {
			t.Errorf("%s exports no memory", p.name)
		}
		for _, d := range m.ImportedFunctions() {
			mod, name, _ := d.Import()
			switch mod {
			case "wasi_snapshot_preview1":
			case abi.HostModule:
				want, ok := importTypes[name]
				if !ok || !slices.Equal(d.ParamTypes(), want[0]) || !slices.Equal(d.ResultTypes(), want[1]) {
					t.Errorf("%s imports rivven.%s %v -> %v; the ABI has %v -> %v", p.name, name, d.ParamTypes(), d.ResultTypes(), want[0], want[1])
				}
			default:
				t.Errorf("%s imports %s.%s", p.name, mod, name)
			}
		}
	}

	t.Run("mask", func(t *testing.T) {
		in := r.start(t, "mask", &stubHost{}, "")
		m := in.manifest()
		if m.ABI != 1 || m.Kind != abi.KindTransform || m.Name != "mask" || !m.KeepsSchema || !json.Valid(m.ConfigSchema) {
			t.Fatalf("manifest %+v", m)
		}
		in.init(abi.KindTransform, `{"fields":["email","card","missing"],"keep_last":4}`, nil)
		f := in.ok(abi.ExportTransform, abi.AppendBatch(nil, customers()))
		out, err := abi.ParseBatch(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		want := customers()
		want.Records[0].After[1].Str = "***********.com"
		want.Records[0].After[2].Str = "************1111"
		want.Records[1].After[1].Str = "bö@x" // 4 characters, kept
		want.Records[1].Before[2].Str = "************0004"
		if got, w := abi.AppendBatch(nil, out), abi.AppendBatch(nil, want); string(got) != string(w) {
			t.Fatalf("masked batch\n%+v\nwant\n%+v", out, want)
		}
		// A second batch reuses the SDK's buffers.
		f = in.ok(abi.ExportTransform, abi.AppendBatch(nil, customers()))
		if out, err := abi.ParseBatch(f.Payload); err != nil || out.Records[0].After[2].Str != "************1111" {
			t.Fatalf("second batch %+v %v", out, err)
		}
	})

	t.Run("mask config error", func(t *testing.T) {
		in := r.start(t, "mask", &stubHost{}, "")
		req, _ := json.Marshal(abi.InitRequest{ABI: 1, Kind: abi.KindTransform, Config: json.RawMessage(`{"fields":["a"],"keep":2}`)})
		if f := in.call(abi.ExportInit, req); f.Status != abi.StatusError || !strings.Contains(f.Error, `unknown field "keep"`) {
			t.Fatalf("init: %s %q", f.Status, f.Error)
		}
		if f := in.call(abi.ExportTransform, abi.AppendBatch(nil, customers())); f.Status != abi.StatusError || !strings.Contains(f.Error, "before rivven_init succeeded") {
			t.Fatalf("transform: %s %q", f.Status, f.Error)
		}
	})

	t.Run("rename", func(t *testing.T) {
		in := r.start(t, "rename", &stubHost{}, "")
		in.init(abi.KindTransform, `{"from":"email","to":"mail"}`, nil)
		out, err := abi.ParseBatch(in.ok(abi.ExportTransform, abi.AppendBatch(nil, customers())).Payload)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Schemas) != 1 || out.Schemas[0].Fields[1].Name != "mail" || out.Records[1].Before[1].Str != "b@x" {
			t.Fatalf("renamed %+v", out)
		}
	})

	t.Run("probe", func(t *testing.T) {
		h := &stubHost{state: map[string]string{"n": "41"}}
		in := r.start(t, "probe", h, "")
		in.init(abi.KindTransform, `{"action":"state"}`, nil)
		out, err := abi.ParseBatch(in.ok(abi.ExportTransform, abi.AppendBatch(nil, customers())).Payload)
		if err != nil {
			t.Fatal(err)
		}
		if s := out.Schemas[out.Records[0].Schema]; len(s.Fields) != 4 || s.Fields[3].Name != "result" || out.Records[1].After[3].Str != "ok:42" || h.state["n"] != "42" {
			t.Fatalf("state: %+v, state %q", out, h.state)
		}

		in = r.start(t, "probe", h, "")
		in.init(abi.KindTransform, `{"action":"http","url":"http://example.com/"}`, nil)
		out, _ = abi.ParseBatch(in.ok(abi.ExportTransform, abi.AppendBatch(nil, customers())).Payload)
		if got := out.Records[0].After[3].Str; got != "err:GET http://example.com/: no network in this test" {
			t.Fatalf("http: %q", got)
		}

		in = r.start(t, "probe", h, "")
		in.init(abi.KindTransform, `{"action":"panic"}`, nil)
		f := in.call(abi.ExportTransform, abi.AppendBatch(nil, customers()))
		lines := strings.Split(f.Error, "\n")
		if f.Status != abi.StatusPanic || lines[0] != "probe: boom" || len(lines) < 3 || lines[1] != "main.act" || !strings.Contains(lines[2], "probe/main.go:") {
			t.Fatalf("panic: %s %q", f.Status, f.Error)
		}
	})

	t.Run("counter", func(t *testing.T) {
		h := &stubHost{state: map[string]string{}}
		in := r.start(t, "counter", h, "")
		if m := in.manifest(); len(m.Streams) != 1 || m.Streams[0].Name != "counter" || m.Kind != abi.KindSource {
			t.Fatalf("manifest %+v", m)
		}
		in.init(abi.KindSource, `{"start":10,"limit":5,"label":"c"}`, []byte("11"))
		f := in.ok(abi.ExportPoll, abi.AppendPollRequest(nil, abi.PollRequest{Max: 2}))
		b, err := abi.ParseBatch(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Records) != 2 || b.Records[0].After[0].Int != 12 || b.Records[1].After[1].Str != "c" || string(b.Records[1].Position) != "13" {
			t.Fatalf("poll %+v", b)
		}
		if s := b.Schemas[0]; s.Fields[0].Kind != abi.KindInt || s.Fields[1].Kind != abi.KindString || !slices.Equal(s.Key, []int{0}) {
			t.Fatalf("schema %+v; want the declared one", s)
		}
		f = in.call(abi.ExportPoll, abi.AppendPollRequest(nil, abi.PollRequest{Max: 100}))
		if b, _ := abi.ParseBatch(f.Payload); f.Status != abi.StatusEnd || len(b.Records) != 1 || b.Records[0].After[0].Int != 14 {
			t.Fatalf("last poll: %s %+v", f.Status, b)
		}
		in.ok(abi.ExportAck, []byte("13"))
		if h.state["last_acked"] != "13" || len(h.logs) != 1 || h.logs[0] != "counting from 12" {
			t.Fatalf("state %q logs %q", h.state, h.logs)
		}
		in.ok(abi.ExportShutdown, nil)
	})

	t.Run("jsonl", func(t *testing.T) {
		dir := t.TempDir()
		in := r.start(t, "jsonl", &stubHost{}, dir)
		in.init(abi.KindSink, `{"path":"/out/records.jsonl"}`, nil)
		b := customers()
		b.Records = append(b.Records, abi.Record{Stream: "customers", Op: abi.OpDelete, Before: b.Records[0].After})
		for range 2 {
			if f := in.ok(abi.ExportWrite, abi.AppendBatch(nil, b)); len(f.Payload) != 0 {
				t.Fatalf("payload %q", f.Payload)
			}
		}
		in.ok(abi.ExportShutdown, nil)
		got, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		line := `{"id":1,"email":"ada@example.com","card":"4111111111111111"}` + "\n" + `{"id":2,"email":"bö@x","card":null}` + "\n"
		if string(got) != line+line {
			t.Fatalf("file:\n%s", got)
		}
	})
}
