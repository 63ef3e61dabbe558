package diode

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePort returns a loopback UDP address nobody listens on.
func freePort(t testing.TB) *net.UDPAddr {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := c.LocalAddr().(*net.UDPAddr)
	c.Close()
	return a
}

// A sender with nobody listening gets ECONNREFUSED from ICMP port
// unreachable on its connected socket; it counts the errors, keeps its
// rate to the end and returns nil.
func TestNobodyListening(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 2<<20, 0, 5)
	rate := 50e6
	rep, err := sendTo(t, context.Background(), freePort(t), []string{dir}, a, SendOptions{Rate: int64(rate)})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	t.Logf("%d packets sent, %d refused (%s), %.1f Mbit/s", rep.Packets, rep.SendErrors, rep.FirstError, rep.Rate()/1e6)
	if rep.SendErrors == 0 || !strings.Contains(rep.FirstError, "refused") {
		t.Errorf("no refused sends counted: %+v", rep)
	}
	// Every packet was attempted at the rate: the session lasted as long
	// as its packets take at 50 Mbit/s.
	total := packetsOf(t, []string{dir}, a, SendOptions{})
	if rep.Packets+rep.SendErrors != total {
		t.Errorf("%d packets sent and %d refused, want %d in all", rep.Packets, rep.SendErrors, total)
	}
	want := time.Duration(float64(total*int64(rep.PacketSize+28)*8) / rate * float64(time.Second))
	if got := rep.Finished.Sub(rep.Started); got < want*9/10 || got > want*15/10 {
		t.Errorf("session took %s, want about %s", got, want)
	}
}

// A receiver that starts 10 s after a carousel began (the sender meanwhile
// refused by ICMP) still completes the bundle; the carousel ends when its
// context does, without an error.
func TestCarouselLateReceiver(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 3<<20, 1<<20, 6)
	to := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type out struct {
		rep *SendReport
		err error
	}
	done := make(chan out, 1)
	go func() {
		rep, err := sendTo(t, ctx, to, []string{dir}, a, SendOptions{Rate: 60e6, Carousel: true})
		done <- out{rep, err}
	}()
	time.Sleep(10 * time.Second) // issue 13: a receiver started 10 s after the sender
	conn, err := net.ListenUDP("udp4", to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := startReceiver(t, conn, "", k.trusts(a), 3*time.Second)
	if !r.wait(20*time.Second, countKind(EventComplete, 1)) {
		t.Fatalf("late receiver did not complete; stats %+v", r.stats())
	}
	cancel()
	o := <-done
	if o.err != nil {
		t.Fatalf("carousel Send: %v", o.err)
	}
	t.Logf("carousel: %d passes, %d packets, %d refused before the receiver started; receiver %+v", o.rep.Passes, o.rep.Packets, o.rep.SendErrors, r.stats())
	sameBundle(t, dir, filepath.Join(r.inbox, filepath.Base(dir)))
}

// A receiver stopped in the middle of a transfer and started again
// resumes from its checkpoint: it announces the blocks it already has
// and completes without them being sent again.
func TestReceiverRestartResumes(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 6<<20, 2<<20, 7)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	inbox := t.TempDir()
	r1 := startReceiver(t, conn, inbox, k.trusts(a), 5*time.Second)
	errc := make(chan error, 1)
	go func() {
		_, err := sendTo(t, context.Background(), conn.LocalAddr().(*net.UDPAddr), []string{dir}, a,
			SendOptions{Rate: 40e6, Passes: 2, Interleave: 4})
		errc <- err
	}()
	// Stop the first receiver once some blocks are written.
	deadline := time.Now().Add(10 * time.Second)
	for r1.stats().BlocksDone < 8 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r1.stop(t)
	had := r1.stats().BlocksDone
	st, _ := Status(inbox)
	if len(st) != 1 || st[0].Complete || st[0].Have < had {
		t.Fatalf("after the first receiver (%d blocks written): Status %+v", had, st)
	}
	t.Logf("first receiver stopped with %d of %d blocks", st[0].Have, st[0].Blocks)
	r2 := startReceiver(t, conn, inbox, k.trusts(a), 5*time.Second)
	if !r2.wait(20*time.Second, countKind(EventComplete, 1)) {
		t.Fatalf("restarted receiver did not complete; stats %+v", r2.stats())
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ann := r2.eventsOf(EventAnnounced)
	if len(ann) == 0 || ann[0].Have < st[0].Have {
		t.Errorf("restarted receiver resumed with %+v, want ≥ %d blocks", ann, st[0].Have)
	}
	sameBundle(t, dir, filepath.Join(inbox, filepath.Base(dir)))
	if _, err := os.Stat(filepath.Join(inbox, partialDir, st[0].ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial folder left: %v", err)
	}
}

// Several bundles travel in one session; a session signed by a station
// the receiver does not trust is ignored and reported, and nothing of it
// is written.
func TestSeveralBundlesAndUntrusted(t *testing.T) {
	a, m, k := newStation(t, "alpha"), newStation(t, "mallory"), newStation(t, "kiosk")
	dirs := []string{sealBundle(t, a, k, 1<<20, 0, 8), sealBundle(t, a, k, 2<<20, 512<<10, 9), sealBundle(t, a, k, 100, 0, 10)}
	evil := sealBundle(t, m, k, 1<<20, 0, 11)
	r := startReceiver(t, nil, "", k.trusts(a), 3*time.Second)
	if _, err := sendTo(t, context.Background(), r.addr(), []string{evil}, m, SendOptions{Rate: 100e6}); err != nil {
		t.Fatal(err)
	}
	rep, err := sendTo(t, context.Background(), r.addr(), dirs, a, SendOptions{Rate: 100e6})
	if err != nil {
		t.Fatal(err)
	}
	if !r.wait(10*time.Second, countKind(EventComplete, len(dirs))) {
		t.Fatalf("events %+v, stats %+v", r.events, r.stats())
	}
	for _, d := range dirs {
		sameBundle(t, d, filepath.Join(r.inbox, filepath.Base(d)))
	}
	ign := r.eventsOf(EventIgnored)
	if len(ign) != 1 || !strings.Contains(ign[0].Reason, "untrusted") || ign[0].Station != "mallory" {
		t.Fatalf("ignored events %+v", ign)
	}
	if _, err := os.Stat(filepath.Join(r.inbox, filepath.Base(evil))); !errors.Is(err, os.ErrNotExist) {
		t.Error("the untrusted bundle was written")
	}
	if _, err := os.Stat(filepath.Join(r.inbox, partialDir, strings.TrimSuffix(filepath.Base(evil), ".sluice"))); !errors.Is(err, os.ErrNotExist) {
		t.Error("the untrusted bundle has a partial folder")
	}
	if st := r.stats(); st.Untrusted == 0 {
		t.Errorf("no untrusted packets counted: %+v", st)
	}
	if len(rep.Bundles) != 3 {
		t.Errorf("report %+v", rep)
	}
	// Sending the same bundles again: the receiver says it has them.
	if _, err := sendTo(t, context.Background(), r.addr(), dirs[:1], a, SendOptions{Rate: 100e6}); err != nil {
		t.Fatal(err)
	}
	if !r.wait(5*time.Second, countKind(EventDuplicate, 1)) {
		t.Errorf("no duplicate event: %+v", r.events)
	}
}

// Over IPv6 packets are 20 bytes shorter (a 40-byte IP header), and the
// bundle arrives the same.
func TestIPv6(t *testing.T) {
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 1<<20, 0, 12)
	r := startReceiver(t, conn, "", k.trusts(a), 3*time.Second)
	c, err := net.DialUDP("udp6", nil, r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := Send(context.Background(), c, []string{dir}, SendOptions{Rate: 100e6, Station: a.name, Signer: a.keys.Signer})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PacketSize != 1452 {
		t.Errorf("packet size %d over IPv6, want 1452", rep.PacketSize)
	}
	if !r.wait(10*time.Second, countKind(EventComplete, 1)) {
		t.Fatalf("no bundle; stats %+v", r.stats())
	}
	sameBundle(t, dir, filepath.Join(r.inbox, filepath.Base(dir)))
}

// Send refuses what cannot work before sending anything.
func TestSendRefuses(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 1000, 0, 60)
	to := freePort(t)
	conn, err := net.DialUDP("udp4", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	unconnected, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer unconnected.Close()
	ok := SendOptions{Station: "alpha", Signer: a.keys.Signer}
	for _, c := range []struct {
		name string
		conn net.PacketConn
		dirs []string
		mod  func(*SendOptions)
		want string
	}{
		{"no signer", conn, []string{dir}, func(o *SendOptions) { o.Signer = nil }, "no signing key"},
		{"bad station", conn, []string{dir}, func(o *SendOptions) { o.Station = "-x" }, "station name"},
		{"twice", conn, []string{dir, dir}, nil, "given twice"},
		{"small MTU", conn, []string{dir}, func(o *SendOptions) { o.MTU = 500 }, "MTU 500"},
		{"overhead", conn, []string{dir}, func(o *SendOptions) { o.Overhead = 1.5 }, "overhead"},
		{"slow", conn, []string{dir}, func(o *SendOptions) { o.Rate = 100 }, "below"},
		{"nowhere", unconnected, []string{dir}, nil, "no destination"},
		{"not a bundle", conn, []string{t.TempDir()}, nil, "envelope.json"},
	} {
		o := ok
		if c.mod != nil {
			c.mod(&o)
		}
		_, err := Send(context.Background(), c.conn, c.dirs, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
