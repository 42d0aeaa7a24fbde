//go:build unix

package wasm

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapAllocator backs each instance's linear memory with its own
// anonymous mapping of the memory's maximum (the plugin's memory_mb):
// growing it never copies, the pages a plugin never touches take no room
// and need no zeroing, and closing the instance returns every page to the
// system at once. wazero frees the memory only once no code of the
// instance runs (a call stopped at its deadline frees it when it
// unwinds).
var memoryAllocator experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil || max == 0 {
		return &sliceMemory{max: max, buf: make([]byte, 0, capacity)}
	}
	return &mmapMemory{buf: b}
})

type mmapMemory struct{ buf []byte }

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

func (m *mmapMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}
