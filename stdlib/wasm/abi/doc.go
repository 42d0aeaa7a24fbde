// Package abi is version 1 of the contract between rivven-connect and a
// WebAssembly plugin: the names and signatures of the functions a plugin
// exports and imports, the result frame every call returns, the manifest,
// the init request, and the batch a call carries (a versioned binary
// format, or JSON when the manifest asks for it).
//
// The host (stdlib/wasm) and the Go SDK for plugin authors
// (stdlib/wasm/sdk) both use this package, so it imports nothing but the
// standard library and builds for GOOS=wasip1 GOARCH=wasm. SPEC.md
// ("WASM plugins") is the user-facing text of the same contract.
//
// # Exports (all functions of the plugin module)
//
//	rivven_alloc(size i32) -> ptr i32            a buffer of size bytes the host fills before a call
//	rivven_get_manifest() -> i64                 frame whose payload is the manifest (JSON)
//	rivven_init(ptr, len i32) -> i64             input: InitRequest (JSON); once per instance
//	rivven_transform(ptr, len i32) -> i64        input: a batch; payload: the batch out (transforms)
//	rivven_poll(ptr, len i32) -> i64             input: PollRequest; payload: a batch (sources)
//	rivven_write(ptr, len i32) -> i64            input: a batch; payload empty (sinks)
//	rivven_ack(ptr, len i32) -> i64              input: a record's position bytes (sources)
//	rivven_shutdown() -> i64                     before the instance is dropped
//
// An i64 result packs a pointer into the plugin's memory (high 32 bits)
// and a length (low 32 bits) of a result frame (see Frame). The input
// buffer comes from rivven_alloc; the plugin keeps the input buffer and
// the frame valid until its next export is called. A kind exports the
// functions it needs: every plugin rivven_alloc, rivven_get_manifest and
// rivven_init; a transform rivven_transform; a source rivven_poll and
// rivven_ack; a sink rivven_write; rivven_shutdown is optional.
//
// # Imports (host module "rivven")
//
//	log(level, ptr, len i32)                     level: LogDebug..LogError
//	now_ms() -> i64                              wall clock, Unix milliseconds
//	config_get(kptr, klen i32) -> i32            JSON of config key k into the result buffer; -1: no such key
//	state_get(kptr, klen i32) -> i32             the plugin's stored value of k into the result buffer; -1: none
//	state_set(kptr, klen, vptr, vlen i32) -> i32 0, or -1 (the reason is in the result buffer)
//	http_request(ptr, len i32) -> i32            HTTPRequest (JSON) in, HTTPResponse (JSON) into the result buffer
//	result_read(ptr, len i32) -> i32             copies up to len bytes of the result buffer; returns how many
//
// Functions returning a length leave their data in the instance's result
// buffer, which the next such call replaces; the plugin reads it with
// result_read. No host function calls back into the plugin. Besides
// "rivven", a plugin may import WASI preview 1 (wasi_snapshot_preview1):
// it sees only the directories of its allow_fs mounts and the variables
// of its env list.
package abi

// Version is the ABI version this package implements; a manifest's "abi"
// must equal it.
const Version = 1

// Export and import names.
const (
	ExportAlloc       = "rivven_alloc"
	ExportManifest    = "rivven_get_manifest"
	ExportInit        = "rivven_init"
	ExportTransform   = "rivven_transform"
	ExportPoll        = "rivven_poll"
	ExportWrite       = "rivven_write"
	ExportAck         = "rivven_ack"
	ExportShutdown    = "rivven_shutdown"
	HostModule        = "rivven"
	HostLog           = "log"
	HostNowMs         = "now_ms"
	HostConfigGet     = "config_get"
	HostStateGet      = "state_get"
	HostStateSet      = "state_set"
	HostHTTPRequest   = "http_request"
	HostResultRead    = "result_read"
	LogDebug, LogInfo = 0, 1
	LogWarn, LogError = 2, 3
)

// Kinds of plugin (Manifest.Kind).
const (
	KindTransform = "transform"
	KindSource    = "source"
	KindSink      = "sink"
)

// Batch encodings (Manifest.Encoding).
const (
	EncodingBinary = "binary"
	EncodingJSON   = "json"
)
