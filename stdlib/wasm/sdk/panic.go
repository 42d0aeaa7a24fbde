package sdk

import (
	"fmt"
	"runtime"
	"strings"
)

// maxPanicFrames bounds the frames a panic's text shows.
const maxPanicFrames = 16

// dispatchFile is this package's plugin.go, whose functions call the
// plugin's: in a stack, frames from the first of that file on are the
// SDK's dispatch, not the plugin's. (Function names do not tell: the
// compiler names an inlined closure after its caller.)
var dispatchFile = func() string {
	_, file, _, _ := runtime.Caller(0)
	return file[:strings.LastIndexByte(file, '/')+1] + "plugin.go:"
}()

// panicText is a StatusPanic frame's text: the panic's message, then the
// frames from where it happened up to the SDK's dispatch, one
// "function\n\tfile:line" per frame, without argument words and offsets.
func panicText(v any, stack []byte) string {
	var b strings.Builder
	if err, ok := v.(error); ok {
		b.WriteString(err.Error())
	} else {
		fmt.Fprint(&b, v)
	}
	lines := strings.Split(string(stack), "\n")
	// The frames after the last panic( are the panicking code's; the
	// runtime's own (goPanicIndex, sigpanic, ...) come first.
	start := 1
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			start = i + 2
		}
	}
	for start+1 < len(lines) && strings.HasPrefix(lines[start], "runtime.") {
		start += 2
	}
	n := 0
	for i := start; i+1 < len(lines); i += 2 {
		fn, file := lines[i], lines[i+1]
		if fn == "" || strings.HasPrefix(strings.TrimSpace(file), dispatchFile) || strings.HasPrefix(fn, "created by ") {
			break
		}
		if n == maxPanicFrames {
			b.WriteString("\n…")
			break
		}
		if j := strings.LastIndexByte(fn, '('); j > 0 {
			fn = fn[:j]
		}
		if j := strings.LastIndex(file, " +0x"); j > 0 {
			file = file[:j]
		}
		b.WriteString("\n")
		b.WriteString(fn)
		b.WriteString("\n")
		b.WriteString(file)
		n++
	}
	return errorText(b.String())
}

func toValidUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
