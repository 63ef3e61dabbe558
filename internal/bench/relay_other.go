//go:build !linux

package main

import "net"

// forceBufferOS: only Linux lets a buffer be forced past its maximum.
func forceBufferOS(c *net.UDPConn, size int, receive bool) {}
