package main

import (
	"net"

	"golang.org/x/sys/unix"
)

// forceBufferOS asks past net.core.rmem_max/wmem_max (root only).
func forceBufferOS(c *net.UDPConn, size int, receive bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	opt := unix.SO_SNDBUFFORCE
	if receive {
		opt = unix.SO_RCVBUFFORCE
	}
	rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, size) })
}
