//go:build unix

package cdc

import (
	"net"
	"syscall"
)

// socketLowat returns a function that sets the SO_RCVLOWAT of the TCP
// socket under nc (also under TLS), or nil when there is none to set.
func socketLowat(nc net.Conn) func(n int) {
	if t, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = t.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return func(n int) {
		_ = rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
		})
	}
}
