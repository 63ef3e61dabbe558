package diode

import (
	"context"
	"math"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// sink reads and discards datagrams, counting them.
func sink(t testing.TB) (*net.UDPAddr, *atomic.Int64) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	setBuffer(c, 32<<20, true)
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			if _, _, err := c.ReadFromUDP(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr), &n
}

// The token bucket holds the configured wire rate: over two seconds of a
// carousel, the rate achieved is within 5 % of 200 Mbit/s.
func TestRateHeld(t *testing.T) {
	rate := 200e6
	if raceEnabled {
		rate = 30e6 // the race detector slows the coder several-fold
	}
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 2<<20, 0, 4)
	to, _ := sink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rep, err := sendTo(t, ctx, to, []string{dir}, a, SendOptions{Rate: int64(rate), Carousel: true})
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Rate()
	t.Logf("%.1f Mbit/s held for %s (%d packets, %d passes, behind by %s)", got/1e6, rep.Finished.Sub(rep.Started).Round(time.Millisecond), rep.Packets, rep.Passes, rep.Behind)
	switch d := rep.Finished.Sub(rep.Started); {
	case got > rate*1.05:
		t.Errorf("rate %.1f Mbit/s, want %.0f ± 5 %%: the bucket let too much through", got/1e6, rate/1e6)
	case got < rate*0.95:
		// A machine too busy to make packets in time is not the pacer's
		// fault, and Behind says so: without that time the rate must
		// still be right.
		busy := float64(rep.WireBytes) * 8 / (d - rep.Behind).Seconds()
		if math.Abs(busy-rate)/rate > 0.05 {
			t.Errorf("rate %.1f Mbit/s (%.1f without the %s the sender was behind), want %.0f ± 5 %%", got/1e6, busy/1e6, rep.Behind, rate/1e6)
		} else {
			t.Logf("the machine was too busy for the sender to keep up for %s; the rest held %.1f Mbit/s", rep.Behind, busy/1e6)
		}
	}
}

// The pacer itself, on a fake clock: a steady rate, bursts bounded.
func TestPacer(t *testing.T) {
	now := time.Unix(0, 0)
	p := newPacer(1e6, 2*time.Millisecond)
	p.now = func() time.Time { return now }
	p.sleep = func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil }
	start := now
	for range 1000 {
		p.wait(context.Background(), 1500)
	}
	if d := now.Sub(start); d < 1490*time.Millisecond || d > 1510*time.Millisecond {
		t.Errorf("1.5 MB at 1 MB/s took %s", d)
	}
	// After an idle second, at most 2 ms of credit: 2,000 bytes.
	now = now.Add(time.Second)
	before := now
	p.wait(context.Background(), 2000)
	p.wait(context.Background(), 1000)
	if d := now.Sub(before); d < 900*time.Microsecond {
		t.Errorf("credit after idle let 3,000 bytes through in %s", d)
	}
}

// At 1 Gbit/s on loopback the sender holds ≥ 95 % of the rate and the
// receiver keeps up. Long: go test -long.
func TestGigabit(t *testing.T) {
	if !*long {
		t.Skip("long test: go test -long")
	}
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 256<<20, 64<<20, 5)
	r := startReceiver(t, nil, "", k.trusts(a), 5*time.Second)
	rep, err := sendTo(t, context.Background(), r.addr(), []string{dir}, a, SendOptions{Rate: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	if !r.wait(30*time.Second, ended(1)) {
		t.Fatal("no outcome")
	}
	st := r.stats()
	t.Logf("sent %d packets at %.1f Mbit/s; receiver %+v", rep.Packets, rep.Rate()/1e6, st)
	if rep.Rate() < 0.95e9 {
		t.Errorf("rate %.1f Mbit/s, want ≥ 950", rep.Rate()/1e6)
	}
	if inc := r.eventsOf(EventIncomplete); len(inc) > 0 {
		t.Fatalf("incomplete: %v", inc[0].Missing)
	}
}

// At 1 Gbit/s through 5 % random loss and 100-packet bursts (made by the
// sender after pacing, as a relay could not keep up), the receiver
// decodes as fast as blocks come. Long: go test -long.
func TestGigabitLossy(t *testing.T) {
	if !*long {
		t.Skip("long test: go test -long")
	}
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 256<<20, 64<<20, 5)
	r := startReceiver(t, nil, "", k.trusts(a), 5*time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	var dropped atomic.Int64
	opt := SendOptions{Rate: 1e9, Overhead: 0.25, testDrop: func(seq uint32) bool {
		if seq%50000 < 100 || rng.Float64() < 0.05 {
			dropped.Add(1)
			return true
		}
		return false
	}}
	rep, err := sendTo(t, context.Background(), r.addr(), []string{dir}, a, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !r.wait(30*time.Second, ended(1)) {
		t.Fatal("no outcome")
	}
	st := r.stats()
	t.Logf("sent %d packets at %.1f Mbit/s (behind by %s), %d dropped on purpose; receiver %+v", rep.Packets, rep.Rate()/1e6, rep.Behind, dropped.Load(), st)
	if inc := r.eventsOf(EventIncomplete); len(inc) > 0 {
		t.Fatalf("incomplete: %v", inc[0].Missing)
	}
	sameBundle(t, dir, filepath.Join(r.inbox, filepath.Base(dir)))
}
