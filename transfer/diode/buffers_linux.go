package diode

import (
	"net"

	"golang.org/x/sys/unix"
)

// setBuffer asks for a socket buffer of size bytes (receive or send): first
// within net.core.rmem_max/wmem_max, then, for a process with
// CAP_NET_ADMIN, beyond it (SO_RCVBUFFORCE, SO_SNDBUFFORCE). It returns
// the size the kernel granted (Linux reports twice what it reserves for
// data, and so does this).
func setBuffer(conn net.PacketConn, size int, receive bool) int {
	sc, ok := conn.(interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	})
	if !ok {
		return 0
	}
	opt, force := unix.SO_SNDBUF, unix.SO_SNDBUFFORCE
	if receive {
		opt, force = unix.SO_RCVBUF, unix.SO_RCVBUFFORCE
		sc.SetReadBuffer(size)
	} else {
		sc.SetWriteBuffer(size)
	}
	got := 0
	if u, ok := conn.(*net.UDPConn); ok {
		if rc, err := u.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) {
				if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt); err == nil && v < 2*size {
					unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, force, size)
				}
				got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt)
			})
		}
	}
	return got
}
