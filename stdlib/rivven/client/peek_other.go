//go:build !unix

package client

import "net"

// peekSocket cannot look at the socket on this platform; stale connections
// are then detected when a request fails.
func peekSocket(net.Conn) (closed, data bool) { return false, false }
