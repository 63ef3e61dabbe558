//go:build !linux

package diode

import "net"

// setBuffer asks for a socket buffer of size bytes and returns 0: the
// granted size is not known on this platform.
func setBuffer(conn net.PacketConn, size int, receive bool) int {
	if sc, ok := conn.(interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}); ok {
		if receive {
			sc.SetReadBuffer(size)
		} else {
			sc.SetWriteBuffer(size)
		}
	}
	return 0
}
