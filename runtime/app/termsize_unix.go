//go:build linux || darwin

package app

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// termWidth returns the columns of the terminal w writes to; ok is false
// when w is not a terminal or its size is unknown.
func termWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, false
	}
	var ws struct{ Row, Col, X, Y uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 || ws.Col == 0 {
		return 80, true // a terminal of unknown size: assume the classic width
	}
	return int(ws.Col), true
}
