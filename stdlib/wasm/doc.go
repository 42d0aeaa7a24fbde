// Package wasm runs WebAssembly plugins (ABI v1, package abi) on wazero:
// transforms (Transform, a batch step), sources (Source) and sinks
// (Sink), each in a sandbox with a memory cap, a deadline on every call,
// no filesystem but its allow_fs mounts, no environment but its env list
// and no network but http_request to the hosts of its allow_network list.
//
// Both back ends build the same plain-data Plugin and call the same
// constructors; check calls Load to read a plugin's manifest.
//
// Lifecycle: a Module is compiled once per process (per memory limit),
// optionally cached on disk under Plugin.CacheDir; every component owns
// one instance, used by one goroutine at a time (a source serialises its
// Read and Ack calls). A call that traps, times out or runs out of memory
// fails, and the component starts a new instance for its next call.
package wasm
