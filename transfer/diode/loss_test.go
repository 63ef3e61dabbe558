package diode

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/transfer/bundle"
)

// packetsOf counts the packets a session sends with opt, by sending it
// once to a socket nobody reads (the count does not depend on the link).
func packetsOf(t testing.TB, dirs []string, from station, opt SendOptions) int64 {
	t.Helper()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	opt.Rate = 4e9
	rep, err := sendTo(t, context.Background(), sink.LocalAddr().(*net.UDPAddr), dirs, from, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Packets + rep.SendErrors
}

func TestLossyLink(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 4<<20, 0, 2)
	base := SendOptions{Rate: 100e6, Overhead: 0.25}
	total := packetsOf(t, []string{dir}, a, base)
	total2 := packetsOf(t, []string{dir}, a, SendOptions{Rate: 100e6, Overhead: 0.25, Passes: 2})
	t.Logf("one pass: %d packets; two passes: %d", total, total2)
	cases := []struct {
		name   string
		rule   relayRule
		passes int
	}{
		{"random 1%", relayRule{Loss: 0.01}, 1},
		{"random 5%", relayRule{Loss: 0.05}, 1},
		{"random 10%, two passes", relayRule{Loss: 0.10}, 2},
		{"100 at the start + 5%", relayRule{Loss: 0.05, Bursts: []burst{{0, 100}}}, 1},
		{"100 at the end + 5%", relayRule{Loss: 0.05, Bursts: []burst{{total - 100, 100}}}, 1},
		{"100 in the middle + 5%", relayRule{Loss: 0.05, Bursts: []burst{{total / 2, 100}}}, 1},
		{"1000 at the start, two passes", relayRule{Bursts: []burst{{0, 1000}}}, 2},
		{"1000 at the end, two passes", relayRule{Bursts: []burst{{total2 - 1000, 1000}}}, 2},
		{"reordered, duplicated, corrupted", relayRule{Loss: 0.01, Reorder: 0.02, Duplicate: 0.02, Corrupt: 0.02}, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := startReceiver(t, nil, "", k.trusts(a), 3*time.Second)
			rl := newRelay(t, r.addr(), c.rule, uint64(i+10))
			opt := base
			opt.Passes = c.passes
			rep, err := sendTo(t, context.Background(), rl.addr(), []string{dir}, a, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !r.wait(10*time.Second, ended(1)) {
				t.Fatalf("no outcome; stats %+v", r.stats())
			}
			rl.waitIdle(50 * time.Millisecond)
			time.Sleep(200 * time.Millisecond) // a last stats event
			st := r.stats()
			t.Logf("sent %d, relay dropped %d corrupted %d reordered %d duplicated %d; receiver: %+v",
				rep.Packets, rl.dropped.Load(), rl.corrupted.Load(), rl.reordered.Load(), rl.duplicated.Load(), st)
			for _, e := range r.eventsOf(EventIgnored) {
				t.Errorf("announcement ignored: %s", e.Reason)
			}
			if inc := r.eventsOf(EventIncomplete); len(inc) > 0 {
				t.Fatalf("incomplete (%s at %s): missing blocks %v of %d; events %v", inc[0].Reason, inc[0].Time, inc[0].Missing, inc[0].Blocks, r.events)
			}
			sameBundle(t, dir, filepath.Join(r.inbox, filepath.Base(dir)))
			if st.HashMismatch != 0 {
				t.Errorf("%d decoded blocks failed their hash: a damaged packet got through", st.HashMismatch)
			}
			if n := rl.corrupted.Load(); st.BadTag+st.Malformed > uint64(n) || n > 0 && st.BadTag+st.Malformed == 0 {
				t.Errorf("relay corrupted %d packets, receiver dropped %d bad tags and %d malformed", n, st.BadTag, st.Malformed)
			}
		})
	}
}

// A link that loses more than one pass can repair: the receiver says
// exactly which blocks it lacks, has every other block right on disk, and
// Status says the same after Receive has stopped.
func TestNamesWhatIsMissing(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 4<<20, 1<<20, 3)
	r := startReceiver(t, nil, "", k.trusts(a), 3*time.Second)
	// Lose 80 % of the packets in the middle: the blocks sent then fail.
	opt := SendOptions{Rate: 100e6, Interleave: 4}
	total := packetsOf(t, []string{dir}, a, opt)
	rl := newRelay(t, r.addr(), relayRule{DropIf: func(i int64) bool { return i > total/3 && i < total/2 && i%5 < 4 }}, 7)
	if _, err := sendTo(t, context.Background(), rl.addr(), []string{dir}, a, opt); err != nil {
		t.Fatal(err)
	}
	if !r.wait(10*time.Second, ended(1)) {
		t.Fatalf("no outcome; stats %+v", r.stats())
	}
	inc := r.eventsOf(EventIncomplete)
	if len(inc) != 1 || len(inc[0].Missing) == 0 {
		t.Fatalf("want one incomplete bundle, events %+v", r.events)
	}
	if !strings.Contains(inc[0].Reason, "ended") {
		t.Errorf("reason %q: the end packets should have said so", inc[0].Reason)
	}
	r.stop(t)
	st, err := Status(r.inbox)
	if err != nil || len(st) != 1 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	s := st[0]
	if s.Complete || fmt.Sprint(s.Missing) != fmt.Sprint(inc[0].Missing) || s.Have != inc[0].Have || s.MissingBytes != inc[0].MissingBytes {
		t.Fatalf("Status %+v disagrees with the event %+v", s, inc[0])
	}
	t.Logf("missing blocks %v of %d (%d bytes); needs %v", s.Missing, s.Blocks, s.MissingBytes, s.Needs)
	// Each missing block says how many more shards it needs: at least
	// one, at most its data shards; Status says the same.
	if len(inc[0].Needs) == 0 || fmt.Sprint(s.Needs) != fmt.Sprint(inc[0].Needs) {
		t.Fatalf("needs: event %v, status %v", inc[0].Needs, s.Needs)
	}
	for _, n := range s.Needs {
		if n.Shards < 1 || n.Shards > 128 { // a block has at most 128 data shards
			t.Errorf("block %d needs %d shards", n.Block, n.Shards)
		}
	}
	// Every block not named is on disk, right.
	want := payloadOf(t, dir)
	got := payloadOf(t, filepath.Join(s.Path, bundleSubdir))
	miss := map[int]bool{}
	for _, m := range s.Missing {
		for i := m.First; i <= m.Last; i++ {
			miss[i] = true
		}
	}
	for i := range s.Blocks {
		off, n := s.BlockRange(i)
		same := string(want[off:off+n]) == string(got[off:off+n])
		if !miss[i] && !same {
			t.Errorf("block %d is not named missing but is wrong on disk", i)
		}
		if miss[i] && same {
			t.Errorf("block %d is named missing but is on disk", i)
		}
	}
}

// payloadOf reads a bundle folder's volumes end to end.
func payloadOf(t testing.TB, dir string) []byte {
	t.Helper()
	var out []byte
	for i := 0; ; i++ {
		b, err := os.ReadFile(filepath.Join(dir, bundle.VolumeName(i)))
		if err != nil {
			if os.IsNotExist(err) && i > 0 {
				return out
			}
			t.Fatal(err)
		}
		out = append(out, b...)
	}
}
