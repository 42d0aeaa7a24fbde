//go:build unix

package client

import (
	"errors"
	"net"
	"syscall"
)

// peekSocket looks at a socket without blocking or consuming: closed when
// the peer closed it (or it failed), data when bytes are waiting.
func peekSocket(nc net.Conn) (closed, data bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case rerr == nil && n == 0:
			closed = true
		case rerr == nil:
			data = true
		case !errors.Is(rerr, syscall.EAGAIN) && !errors.Is(rerr, syscall.EINTR):
			closed = true
		}
		return true // never wait
	})
	if err != nil {
		closed = true
	}
	return closed, data
}
