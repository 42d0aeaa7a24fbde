// Package sdk is the Go SDK for rivven-connect WebAssembly plugins (ABI
// v1, package abi). A plugin is a main package built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// whose init function registers exactly one of Transform, Source or Sink
// (in c-shared mode main never runs; keep an empty func main). The SDK
// exports the ABI's functions, owns the buffers the host writes into and
// reads from, decodes and encodes batches (binary, or JSON when the
// manifest's Encoding is abi.EncodingJSON), and turns a panic into a
// StatusPanic frame whose text is the panic's message and the stack of
// the plugin code that panicked:
//
//	func init() {
//		sdk.Transform(sdk.Manifest{Name: "upper", Version: "1.0.0", KeepsSchema: true},
//			func(b *sdk.Batch) error {
//				for _, r := range b.All() {
//					if v, ok := r.Get("name"); ok && v.Kind == abi.KindString {
//						r.Set("name", sdk.String(strings.ToUpper(v.Str)))
//					}
//				}
//				return nil
//			})
//		sdk.OnInit(func(req *sdk.InitRequest) error { return req.DecodeConfig(&cfg) })
//	}
//
//	func main() {}
//
// A plugin instance is single-threaded: the host calls one export at a
// time, so registered functions need no locks.
//
// # What outlives a call
//
// The SDK reuses a call's memory for the next call (so a batch costs no
// garbage but for its strings). A Batch, its Records, their rows (the
// Values of After and Before, Raw().Records, Raw().Schemas) and their
// position bytes are valid only during the call that passes them: the
// next call overwrites them. Strings stay valid: a string of a value,
// key, field name, stream or error text may be kept, and so may a
// schema's fields, an object's members, an array's elements and Meta.
// The strings of a batch's values and keys share one block of memory,
// so keeping one keeps that block (the size of the batch's strings);
// clone with strings.Clone a string kept for long, in a cache across
// many calls.
//
// Host functions (Log, NowMs, Config, StateGet, StateSet, HTTP) call the
// host's "rivven" module. Built for another GOOS (unit tests of a
// plugin's functions), Log writes to standard error, NowMs reads the
// clock, Config and StateGet find nothing, and StateSet and HTTP return
// ErrNotInPlugin.
package sdk
