//go:build wasip1

package sdk

import "unsafe"

func init() { host = wasmHost{} }

// wasmHost calls the host's "rivven" module (abi's import names).
type wasmHost struct{}

//go:wasmimport rivven log
func wasmLog(level int32, msg string)

//go:wasmimport rivven now_ms
func wasmNowMs() int64

//go:wasmimport rivven config_get
func wasmConfigGet(key string) int32

//go:wasmimport rivven state_get
func wasmStateGet(key string) int32

//go:wasmimport rivven state_set
func wasmStateSet(key string, vptr *byte, vlen uint32) int32

//go:wasmimport rivven http_request
func wasmHTTPRequest(ptr *byte, n uint32) int32

//go:wasmimport rivven result_read
func wasmResultRead(ptr *byte, n uint32) int32

func (wasmHost) log(level int32, msg string) { wasmLog(level, msg) }
func (wasmHost) nowMs() int64                { return wasmNowMs() }
func (wasmHost) configGet(key string) int32  { return wasmConfigGet(key) }
func (wasmHost) stateGet(key string) int32   { return wasmStateGet(key) }
func (wasmHost) httpRequest(req []byte) int32 {
	return wasmHTTPRequest(unsafe.SliceData(req), uint32(len(req)))
}
func (wasmHost) resultRead(dst []byte) int32 {
	return wasmResultRead(unsafe.SliceData(dst), uint32(len(dst)))
}
func (wasmHost) stateSet(key string, value []byte) int32 {
	return wasmStateSet(key, unsafe.SliceData(value), uint32(len(value)))
}
