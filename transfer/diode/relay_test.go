package diode

import (
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// relay forwards datagrams from its own loopback socket to a receiver's,
// misbehaving as a link can: random and burst drops, reordering,
// duplicates and corrupted bytes. Decisions come from a seeded generator,
// by packet number, so a run's damage is reproducible.
type relay struct {
	in   *net.UDPConn // the sender sends here
	out  *net.UDPConn // forwards from here
	to   *net.UDPAddr
	rule relayRule
	rng  *rand.Rand

	seen, forwarded, dropped, corrupted, duplicated, reordered atomic.Int64
	done                                                       chan struct{}
	held                                                       []byte // a packet held back to be sent after the next
}

// relayRule says what a relay does. Rates are fractions of packets.
type relayRule struct {
	Loss      float64
	Bursts    []burst // packet numbers (0-based, as seen) dropped in a row
	Reorder   float64
	Duplicate float64
	Corrupt   float64
	// DropIf, if set, drops packet number i when it returns true.
	DropIf func(i int64) bool
}

type burst struct{ From, Len int64 }

func newRelay(t testing.TB, to *net.UDPAddr, rule relayRule, seed uint64) *relay {
	t.Helper()
	in, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := net.DialUDP("udp4", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	in.SetReadBuffer(32 << 20)
	setBuffer(in, 32<<20, true)
	setBuffer(out, 32<<20, false)
	r := &relay{in: in, out: out, to: to, rule: rule, rng: rand.New(rand.NewPCG(seed, 1)), done: make(chan struct{})}
	go r.run()
	t.Cleanup(func() {
		in.Close()
		<-r.done
		out.Close()
	})
	return r
}

func (r *relay) addr() *net.UDPAddr { return r.in.LocalAddr().(*net.UDPAddr) }

func (r *relay) run() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := r.in.ReadFromUDP(buf)
		if err != nil {
			return
		}
		i := r.seen.Add(1) - 1
		p := buf[:n]
		if r.drop(i) {
			r.dropped.Add(1)
			continue
		}
		if r.rule.Corrupt > 0 && r.rng.Float64() < r.rule.Corrupt {
			p = append([]byte(nil), p...)
			k := r.rng.IntN(len(p))
			p[k] ^= byte(1 + r.rng.IntN(255))
			r.corrupted.Add(1)
		}
		if r.rule.Reorder > 0 && r.held == nil && r.rng.Float64() < r.rule.Reorder {
			r.held = append([]byte(nil), p...)
			r.reordered.Add(1)
			continue
		}
		r.send(p)
		if r.rule.Duplicate > 0 && r.rng.Float64() < r.rule.Duplicate {
			r.send(p)
			r.duplicated.Add(1)
			if len(p) > 0 && &p[0] != &buf[0] {
				r.corrupted.Add(1) // a damaged packet sent twice
			}
		}
		if r.held != nil {
			r.send(r.held)
			r.held = nil
		}
	}
}

func (r *relay) send(p []byte) {
	r.out.Write(p)
	r.forwarded.Add(1)
}

func (r *relay) drop(i int64) bool {
	for _, b := range r.rule.Bursts {
		if i >= b.From && i < b.From+b.Len {
			return true
		}
	}
	if r.rule.DropIf != nil && r.rule.DropIf(i) {
		return true
	}
	return r.rule.Loss > 0 && r.rng.Float64() < r.rule.Loss
}

// waitIdle waits until the relay has seen no packet for d.
func (r *relay) waitIdle(d time.Duration) {
	last := r.seen.Load()
	for {
		time.Sleep(d)
		now := r.seen.Load()
		if now == last {
			return
		}
		last = now
	}
}
