//go:build !unix

package cdc

import "net"

// socketLowat: no receive low-water mark here; a pause only waits.
func socketLowat(net.Conn) func(n int) { return nil }
