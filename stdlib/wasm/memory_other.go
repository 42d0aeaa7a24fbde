//go:build !unix

package wasm

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator backs linear memories with Go slices where anonymous
// mappings are not available.
var memoryAllocator experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
	return &sliceMemory{max: max, buf: make([]byte, 0, capacity)}
})
