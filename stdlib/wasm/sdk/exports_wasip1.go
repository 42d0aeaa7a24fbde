//go:build wasip1

//lint:file-ignore U1000 the host calls these functions (go:wasmexport); staticcheck sees no caller

package sdk

import (
	"fmt"
	"unsafe"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// The ABI's exports (package abi). Each passes its input, found in the
// buffer rivven_alloc returned, to the plugin's method of the same name
// and returns its frame, packed.

//go:wasmexport rivven_alloc
func rivvenAlloc(size uint32) uint32 {
	b := global.alloc(int(size))
	return addr(b[:cap(b)])
}

//go:wasmexport rivven_get_manifest
func rivvenGetManifest() uint64 { return pack(global.getManifest()) }

//go:wasmexport rivven_init
func rivvenInit(ptr, n uint32) uint64 { return call(ptr, n, global.init) }

//go:wasmexport rivven_transform
func rivvenTransform(ptr, n uint32) uint64 { return call(ptr, n, global.transformCall) }

//go:wasmexport rivven_poll
func rivvenPoll(ptr, n uint32) uint64 { return call(ptr, n, global.poll) }

//go:wasmexport rivven_write
func rivvenWrite(ptr, n uint32) uint64 { return call(ptr, n, global.write) }

//go:wasmexport rivven_ack
func rivvenAck(ptr, n uint32) uint64 { return call(ptr, n, global.ack) }

//go:wasmexport rivven_shutdown
func rivvenShutdown() uint64 { return pack(global.shutdown()) }

// call runs fn on the n bytes at ptr, which must lie in the buffer
// rivven_alloc returned.
func call(ptr, n uint32, fn func([]byte) []byte) uint64 {
	in, err := input(ptr, n)
	if err != nil {
		return pack(abi.AppendFrame(global.out[:0], abi.Frame{Status: abi.StatusError, Error: err.Error()}))
	}
	return pack(fn(in))
}

func input(ptr, n uint32) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	buf := global.in[:cap(global.in)]
	base := addr(buf)
	if len(buf) == 0 || ptr < base || uint64(ptr)+uint64(n) > uint64(base)+uint64(len(buf)) {
		return nil, fmt.Errorf("the input (%d bytes at %#x) is not in the buffer rivven_alloc returned", n, ptr)
	}
	off := ptr - base
	return buf[off : off+n], nil
}

// pack keeps the frame alive (it is global.out, or the result the next
// call replaces) and packs its address and length.
func pack(frame []byte) uint64 {
	global.out = frame
	return abi.Pack(addr(frame), uint32(len(frame)))
}

// addr is the linear-memory address of b's first byte (0 for none); the
// Go heap on wasm does not move.
func addr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
