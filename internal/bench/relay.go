package main

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// relay is the lossy link of the diode bench: a UDP forwarder between two
// loopback ports that drops packets at random and in bursts at given
// positions, by packet number from a seeded generator, so Sluice and
// udpcast meet the same damage. It reads and writes up to 64 datagrams
// per system call (recvmmsg, sendmmsg) so that it is not the bottleneck at
// the rates measured; it runs in the bench's own process, which is idle
// meanwhile. It forwards one way only: nothing from the receiver's side
// reaches the sender.
type relay struct {
	in, out *net.UDPConn
	rule    lossRule
	rng     *rand.Rand
	done    chan struct{}
	// backDone closes when drain returns.
	backDone chan struct{}

	mu                        sync.Mutex
	seen, dropped, sendErrors int64
	backward                  int64     // packets from the receiver's side, never forwarded
	first, last               time.Time // first and last packet seen
	bytes                     int64     // UDP payload bytes seen
}

// lossRule is the damage a relay does: Loss is the fraction of packets
// dropped at random; each burst drops Len packets in a row from packet
// number From (counted from 0 as they arrive).
type lossRule struct {
	Loss   float64
	Bursts []burst
}

type burst struct{ From, Len int64 }

// newRelay listens on a loopback port (0: a free one) and forwards to to
// from a loopback port (0: a free one). Whatever the receiver sends back
// to that port is read, counted (backward) and dropped.
func newRelay(port, from int, to *net.UDPAddr, rule lossRule, seed uint64) (*relay, error) {
	in, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return nil, err
	}
	out, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: from}, to)
	if err != nil {
		in.Close()
		return nil, err
	}
	forceBuffer(in, 64<<20, true)
	forceBuffer(out, 8<<20, false)
	r := &relay{in: in, out: out, rule: rule, rng: rand.New(rand.NewPCG(seed, 0x5eed)), done: make(chan struct{}), backDone: make(chan struct{})}
	go r.run()
	go r.drain()
	return r, nil
}

// drain counts and drops what comes back from the receiver's side.
func (r *relay) drain() {
	defer close(r.backDone)
	buf := make([]byte, 65536)
	for {
		if _, err := r.out.Read(buf); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ECONNREFUSED from an ICMP error: not a packet
		}
		r.mu.Lock()
		r.backward++
		r.mu.Unlock()
	}
}

func (r *relay) addr() *net.UDPAddr { return r.in.LocalAddr().(*net.UDPAddr) }

// close stops the relay and returns once it has.
func (r *relay) close() {
	r.in.Close()
	<-r.done
	r.out.Close()
	<-r.backDone
}

func (r *relay) run() {
	defer close(r.done)
	const batch = 64
	in, out := ipv4.NewPacketConn(r.in), ipv4.NewPacketConn(r.out)
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	fwd := make([]ipv4.Message, 0, batch)
	for {
		n, err := in.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		now := time.Now()
		fwd = fwd[:0]
		r.mu.Lock()
		if r.seen == 0 {
			r.first = now
		}
		r.last = now
		for _, m := range msgs[:n] {
			i := r.seen
			r.seen++
			r.bytes += int64(m.N)
			if r.drop(i) {
				r.dropped++
				continue
			}
			fwd = append(fwd, ipv4.Message{Buffers: [][]byte{m.Buffers[0][:m.N]}})
		}
		r.mu.Unlock()
		for len(fwd) > 0 {
			k, err := out.WriteBatch(fwd, 0)
			if err != nil {
				// ECONNREFUSED before the receiver listens, ENOBUFS:
				// the packet is lost, as on a link.
				r.mu.Lock()
				r.sendErrors++
				r.mu.Unlock()
				k++
			}
			fwd = fwd[min(k, len(fwd)):]
		}
	}
}

func (r *relay) drop(i int64) bool {
	for _, b := range r.rule.Bursts {
		if i >= b.From && i < b.From+b.Len {
			return true
		}
	}
	return r.rule.Loss > 0 && r.rng.Float64() < r.rule.Loss
}

// relayStats is what a relay saw.
type relayStats struct {
	seen, dropped, sendErrors, bytes int64
	backward                         int64
	first, last                      time.Time
}

// wire is the rate the relay saw, first packet to last, counting IPv4 and
// UDP headers (28 bytes a packet) as the senders' rates do.
func (s relayStats) wire() float64 {
	d := s.last.Sub(s.first).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.bytes+28*s.seen) * 8 / d
}

func (r *relay) stats() relayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return relayStats{r.seen, r.dropped, r.sendErrors, r.bytes, r.backward, r.first, r.last}
}

// forceBuffer asks for a socket buffer beyond net.core.rmem_max/wmem_max
// (the bench runs as root, with CAP_NET_ADMIN), falling back to the capped
// request.
func forceBuffer(c *net.UDPConn, size int, receive bool) {
	if receive {
		c.SetReadBuffer(size)
	} else {
		c.SetWriteBuffer(size)
	}
	forceBufferOS(c, size, receive)
}
