package diode

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/transfer/bundle"
)

var long = flag.Bool("long", false, "run the long diode tests (1 Gbit/s, large bundles, 20 runs in a row)")

type station struct {
	name string
	keys *crypto.StationKeys
}

func newStation(t testing.TB, name string) station {
	t.Helper()
	k, err := crypto.GenerateStationKeys(false)
	if err != nil {
		t.Fatal(err)
	}
	return station{name, k}
}

func (s station) trusts(others ...station) func(ssh.PublicKey) (string, bool) {
	return func(k ssh.PublicKey) (string, bool) {
		for _, o := range append([]station{s}, others...) {
			if bytes.Equal(k.Marshal(), o.keys.Signer.PublicKey().Marshal()) {
				return o.name, true
			}
		}
		return "", false
	}
}

// sealBundle seals size random bytes from one station to another with
// bundle.Seal, in volumes of volSize (0: one volume), and returns the
// bundle folder.
func sealBundle(t testing.TB, from, to station, size int, volSize int64, seed uint64) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "data.bin")
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(src, b, 0o644); err != nil {
		t.Fatal(err)
	}
	srcs, err := bundle.Collect([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	s, err := bundle.Seal(context.Background(), t.TempDir(), srcs, bundle.SealOptions{
		SenderName: from.name, Signer: from.keys.Signer, Recipients: []crypto.Card{to.keys.Card(to.name)}, VolumeSize: volSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.Dir
}

// sameBundle checks that got holds exactly want's files, byte for byte.
func sameBundle(t testing.TB, want, got string) {
	t.Helper()
	we, _ := os.ReadDir(want)
	ge, err := os.ReadDir(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(we) != len(ge) {
		t.Fatalf("%s has %d files, want %d", got, len(ge), len(we))
	}
	for _, e := range we {
		a, _ := os.ReadFile(filepath.Join(want, e.Name()))
		b, err := os.ReadFile(filepath.Join(got, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs from what was sent", e.Name())
		}
	}
	// And the bundle package accepts it.
	if _, err := bundle.Open(got); err != nil {
		t.Fatalf("bundle.Open: %v", err)
	}
}

// rx is a running receiver and what it reported.
type rx struct {
	conn   *net.UDPConn
	inbox  string
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	events []Event
	last   Stats
	signal chan struct{}
	once   sync.Once
}

func startReceiver(t testing.TB, conn *net.UDPConn, inbox string, trusted func(ssh.PublicKey) (string, bool), idle time.Duration) *rx {
	t.Helper()
	if conn == nil {
		var err error
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
	if inbox == "" {
		inbox = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rx{conn: conn, inbox: inbox, cancel: cancel, done: make(chan error, 1), signal: make(chan struct{}, 1)}
	go func() {
		r.done <- Receive(ctx, conn, ReceiveOptions{
			Inbox: inbox, Trusted: trusted, IdleTimeout: idle, StatsEvery: 100 * time.Millisecond,
			OnEvent: func(e Event) {
				r.mu.Lock()
				if e.Kind == EventStats {
					r.last = *e.Stats
				} else {
					r.events = append(r.events, e)
				}
				r.mu.Unlock()
				select {
				case r.signal <- struct{}{}:
				default:
				}
			},
		})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *rx) addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

func (r *rx) stop(t testing.TB) {
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Receive: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Receive did not return within 10 s of its context ending")
		}
	})
}

// wait waits until cond holds over the events, or timeout.
func (r *rx) wait(timeout time.Duration, cond func([]Event) bool) bool {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond(r.events)
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-r.signal:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			return false
		}
	}
}

func (r *rx) stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *rx) eventsOf(k EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func countKind(k EventKind, n int) func([]Event) bool {
	return func(es []Event) bool {
		c := 0
		for _, e := range es {
			if e.Kind == k {
				c++
			}
		}
		return c >= n
	}
}

// ended holds once every bundle is complete or reported incomplete.
func ended(n int) func([]Event) bool {
	return func(es []Event) bool {
		c := 0
		for _, e := range es {
			if e.Kind == EventComplete || e.Kind == EventIncomplete {
				c++
			}
		}
		return c >= n
	}
}

func sendTo(t testing.TB, ctx context.Context, to *net.UDPAddr, dirs []string, from station, opt SendOptions) (*SendReport, error) {
	t.Helper()
	conn, err := net.DialUDP("udp4", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	opt.Station, opt.Signer = from.name, from.keys.Signer
	return Send(ctx, conn, dirs, opt)
}

func TestRoundTrip(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 3<<20, 1<<20, 1)
	r := startReceiver(t, nil, "", k.trusts(a), 0)
	rep, err := sendTo(t, context.Background(), r.addr(), []string{dir}, a, SendOptions{Rate: 200e6})
	if err != nil {
		t.Fatal(err)
	}
	if !r.wait(10*time.Second, countKind(EventComplete, 1)) {
		t.Fatalf("bundle did not arrive; events %+v stats %+v", r.events, r.stats())
	}
	sameBundle(t, dir, filepath.Join(r.inbox, filepath.Base(dir)))
	if rep.SendErrors != 0 || rep.Packets == 0 {
		t.Errorf("report %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(r.inbox, partialDir, strings.TrimSuffix(filepath.Base(dir), bundle.DirSuffix))); err == nil {
		t.Error("partial folder left behind")
	}
	st, err := Status(r.inbox)
	if err != nil || len(st) != 1 || !st[0].Complete {
		t.Errorf("Status = %+v, %v", st, err)
	}
	t.Logf("%d packets of %d bytes, %.0f Mbit/s", rep.Packets, rep.PacketSize, rep.Rate()/1e6)
}

var _ = errors.New
