package diode

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sluice/transfer/bundle"
)

// capture runs a session and returns its packets in the order they left.
func capture(t testing.TB, dirs []string, from station, opt SendOptions) [][]byte {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	setBuffer(c, 64<<20, true)
	var pkts [][]byte
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			pkts = append(pkts, append([]byte(nil), buf[:n]...))
		}
	}()
	if opt.Rate == 0 {
		opt.Rate = 50e6
	}
	if _, err := sendTo(t, context.Background(), c.LocalAddr().(*net.UDPAddr), dirs, from, opt); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return pkts
}

// fuzzReceiver is a receiver without a socket, fed by hand.
func fuzzReceiver(t testing.TB, inbox string, trusted station, from station) *receiver {
	r := &receiver{
		opt: ReceiveOptions{Inbox: inbox, Trusted: trusted.trusts(from), IdleTimeout: time.Hour,
			MaxMemory: 8 << 20, Checkpoint: time.Hour, StatsEvery: time.Hour},
		sessions: map[[8]byte]*rxSession{}, byID: map[string]*rxBundle{},
		jobs: make(chan job, jobQueue), results: make(chan result, 4*jobQueue), ipHdr: ipv4Headers,
	}
	os.MkdirAll(filepath.Join(inbox, partialDir), 0o700)
	go r.writer()
	t.Cleanup(r.shutdown)
	return r
}

// FuzzPacket feeds packets to a receiver that has heard a real session's
// announcement. Half the inputs are put into that session and given a
// right tag, so the checks behind the tag are reached: no input may
// panic, write outside the inbox, or get a wrong block accepted.
func FuzzPacket(f *testing.F) {
	a, k := newStation(f, "alpha"), newStation(f, "kiosk")
	dir := sealBundle(f, a, k, 200<<10, 0, 20)
	pkts := capture(f, []string{dir}, a, SendOptions{})
	for i, p := range pkts {
		if i < 4 || i%50 == 0 || i == len(pkts)-1 {
			f.Add(p)
		}
	}
	f.Add([]byte("SLD\x01"))
	inbox := f.TempDir()
	r := fuzzReceiver(f, inbox, k, a)
	var h header
	if err := parseHeader(pkts[0], &h); err != nil {
		f.Fatal(err)
	}
	for _, p := range pkts[:20] { // the announcement comes first
		r.handle(p, time.Now())
	}
	s := r.sessions[h.Session]
	if s == nil || s.dataMAC == nil {
		f.Fatal("the announcement did not verify")
	}
	annMAC := newMAC(announceKey(h.Session))
	f.Fuzz(func(t *testing.T, p []byte) {
		p = append([]byte(nil), p...)
		if len(p) >= HeaderSize+TagSize && p[len(p)-1]&1 == 0 {
			copy(p[4:12], h.Session[:])
			if p[16] == kindAnnounce {
				annMAC.seal(p)
			} else {
				s.dataMAC.seal(p)
			}
		}
		r.handle(p, time.Now())
		r.drainResults()
		if r.stats.HashMismatch != 0 {
			// Not a failure of the receiver: a decoded block was caught.
			r.stats.HashMismatch = 0
		}
	})
}

// FuzzAnnouncement parses announcements: no input may panic, and one that
// parses holds its bounds (names, counts, hash list).
func FuzzAnnouncement(f *testing.F) {
	a, k := newStation(f, "alpha"), newStation(f, "kiosk")
	dir := sealBundle(f, a, k, 300<<10, 100<<10, 21)
	pkts := capture(f, []string{dir}, a, SendOptions{})
	r := fuzzReceiver(f, f.TempDir(), k, a)
	var raw []byte
	r.opt.OnEvent = func(e Event) {}
	for _, p := range pkts[:20] {
		r.handle(p, time.Now())
	}
	for _, b := range r.byID {
		raw = b.ann.raw
	}
	if raw == nil {
		f.Fatal("no announcement")
	}
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte("SLDA\x00\x00\x00\x02{}\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// The signature is checked after the form, so most mutations stop
		// there; parse without it to reach every check of the form.
		verifyAnnouncement(raw, k.trusts(a))
		ann, err := parseAnnouncement(raw)
		if err != nil {
			return
		}
		if len(ann.hashes) != 32*ann.Blocks || len(ann.Files) == 0 || ann.Blocks != blockCount(ann.Bytes, ann.BlockShards, shardSize(ann.PacketSize)) {
			t.Fatalf("announcement out of bounds: %d hashes for %d blocks", len(ann.hashes)/32, ann.Blocks)
		}
		if !bundle.ValidID(ann.ID) {
			t.Fatalf("bundle id %q accepted", ann.ID)
		}
		for i, fl := range ann.Files {
			if fl.Name != bundle.VolumeName(i) {
				t.Fatalf("file name %q accepted", fl.Name)
			}
		}
	})
}
