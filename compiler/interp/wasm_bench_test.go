package interp_test

import (
	"io"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/wasmtest"
)

// pluginProgram compiles a users pipeline whose transforms section is
// transforms (with plugins declared in plugins) and returns its program.
func pluginProgram(tb testing.TB, plugins, transforms string, names string) runtime.Program {
	tb.Helper()
	cfg := `version: "1.0"
` + plugins + `
sources:
  users: {connector: datagen, config: {pattern: users, events_per_second: 0, max_events: 1, seed: 42}}
sinks:
  out: {connector: stdout}
` + transforms + `
pipelines:
  p: {source: users, sink: out` + names + `}
`
	p, errs := compiler.Compile("bench.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	pipes, err := compiler.Interpret(p, runtime.Env{Now: now, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if c, ok := pipes[0].Program.(io.Closer); ok {
			c.Close()
		}
	})
	return pipes[0].Program
}

// runBatches runs the program over batches of 256 users; one op is one
// record. Each batch is a fresh copy of the rows (the transforms change
// them), in every variant alike.
func runBatches(b *testing.B, prog runtime.Program) {
	const batch = 256
	src := generated(b, "users", batch)
	recs := make([]runtime.Record, batch)
	rows := make([]runtime.Value, batch*len(src[0].After))
	bp, _ := prog.(runtime.BatchProgram)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		for i := range recs {
			recs[i] = src[i]
			w := len(src[i].After)
			recs[i].After = rows[i*w : (i+1)*w : (i+1)*w]
			copy(recs[i].After, src[i].After)
		}
		if bp != nil {
			for _, o := range bp.ProcessBatch(recs) {
				if o.Err != nil {
					b.Fatal(o.Err)
				}
			}
			continue
		}
		for i := range recs {
			if _, err := prog.Process(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPluginNoop: a no-op plugin transform (examples/wasm/echo.wat,
// one call per batch of 256) against no transform; the difference is what
// a plugin stage adds per record (target ≤ 1 µs).
func BenchmarkPluginNoop(b *testing.B) {
	echo := wasmtest.WAT(b, "examples/wasm/echo.wat")
	b.Run("baseline", func(b *testing.B) {
		runBatches(b, pluginProgram(b, "", "", ""))
	})
	b.Run("echo-plugin", func(b *testing.B) {
		runBatches(b, pluginProgram(b, "plugins:\n  echo: {path: "+echo+"}", "transforms:\n  e: {type: echo}", ", transforms: [e]"))
	})
}

// BenchmarkPluginMask: the Go SDK's mask plugin (examples/wasm/mask,
// keep_last 4) against the native fused mask (strategy partial, which
// also keeps the last 4 characters) on the email field (target ≤ 10×):
// bounded by a deadline (the default), and trusted (timeout_ms 0,
// compiled without wazero's deadline checks).
func BenchmarkPluginMask(b *testing.B) {
	mask := wasmtest.Go(b, "examples/wasm/mask")
	plugin := func(limits string) string {
		return "plugins:\n  mask: {path: " + mask + ", config: {fields: [email], keep_last: 4}" + limits + "}"
	}
	for _, v := range []struct{ name, plugins, transforms string }{
		{"baseline", "", "transforms:\n  m: {type: field-mask, config: {fields: [email], strategy: partial}}"},
		{"go-sdk-plugin", plugin(""), "transforms:\n  m: {type: mask}"},
		{"go-sdk-plugin-unbounded", plugin(", limits: {timeout_ms: 0}"), "transforms:\n  m: {type: mask}"},
	} {
		b.Run(v.name, func(b *testing.B) {
			runBatches(b, pluginProgram(b, v.plugins, v.transforms, ", transforms: [m]"))
		})
	}
}
