package diode

import (
	"errors"
	"net"
	"runtime"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchConn sends or receives several datagrams per system call where the
// platform can (sendmmsg and recvmmsg on Linux, through x/net), one at a
// time elsewhere.
type batchConn struct {
	conn  net.PacketConn
	to    net.Addr // nil on a connected socket
	v4    *ipv4.PacketConn
	v6    *ipv6.PacketConn
	msgs  []ipv4.Message
	batch bool
}

func newBatchConn(conn net.PacketConn, to net.Addr) *batchConn {
	b := &batchConn{conn: conn, to: to}
	if _, ok := conn.(*net.UDPConn); ok && runtime.GOOS == "linux" {
		b.batch = true
		if la, ok := conn.LocalAddr().(*net.UDPAddr); ok && la.IP != nil && la.IP.To4() == nil {
			b.v6 = ipv6.NewPacketConn(conn)
		} else {
			b.v4 = ipv4.NewPacketConn(conn)
		}
	}
	return b
}

// connected reports whether conn has a fixed peer (net.DialUDP).
func connected(conn net.PacketConn) bool {
	c, ok := conn.(interface{ RemoteAddr() net.Addr })
	return ok && c.RemoteAddr() != nil
}

// write sends pkts in order and returns how many went out before the first
// error (which is the error of packet n).
func (b *batchConn) write(pkts [][]byte) (int, error) {
	if !b.batch {
		for i, p := range pkts {
			var err error
			if b.to == nil {
				_, err = b.conn.(interface{ Write([]byte) (int, error) }).Write(p)
			} else {
				_, err = b.conn.WriteTo(p, b.to)
			}
			if err != nil {
				return i, err
			}
		}
		return len(pkts), nil
	}
	b.msgs = b.msgs[:0]
	for _, p := range pkts {
		b.msgs = append(b.msgs, ipv4.Message{Buffers: [][]byte{p}, Addr: b.to})
	}
	sent := 0
	for sent < len(b.msgs) {
		var n int
		var err error
		if b.v6 != nil {
			n, err = b.v6.WriteBatch(b.msgs[sent:], 0)
		} else {
			n, err = b.v4.WriteBatch(b.msgs[sent:], 0)
		}
		sent += max(n, 0)
		if err != nil {
			return sent, err
		}
		if n <= 0 {
			return sent, errors.New("sendmmsg sent nothing")
		}
	}
	return sent, nil
}

// read fills msgs (each with one buffer) and returns how many it filled.
func (b *batchConn) read(msgs []ipv4.Message) (int, error) {
	if !b.batch {
		n, addr, err := b.conn.ReadFrom(msgs[0].Buffers[0])
		if err != nil {
			return 0, err
		}
		msgs[0].N, msgs[0].Addr = n, addr
		return 1, nil
	}
	if b.v6 != nil {
		return b.v6.ReadBatch(msgs, 0)
	}
	return b.v4.ReadBatch(msgs, 0)
}
