package diode

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"sluice/crypto"
	"sluice/transfer/bundle"
)

// forgedAnnouncement is a shard of an announcement anyone can make: the
// announcement tag's key is public (announceKey), so it is tagged right.
func forgedAnnouncement(session [8]byte, seq uint32, bundle uint16, block uint32, length int) []byte {
	p := make([]byte, MinPacketSize)
	_, k, n := blockGeometry(int64(length), MaxShards, shardSize(len(p)), int(block))
	putHeader(p, &header{Session: session, Seq: seq, Kind: kindAnnounce, Bundle: bundle, Block: block, K: k, N: n, Length: uint32(length)})
	newMAC(announceKey(session)).seal(p)
	return p
}

// A flood of forged announcement packets, which anyone who can reach the
// receiver's port can send, stays within MaxMemory (the assembly's tables
// are charged as well as its shards), and every byte charged comes back
// when the sessions are forgotten. Both failed before: a flood for ever
// new bundles grew the heap past 500 MB, and forgetting a session that
// was never announced charged memory instead of freeing it, until the
// receiver refused every announcement for good.
func TestForgedAnnouncementsStayBounded(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	r := fuzzReceiver(t, t.TempDir(), k, a)
	now := time.Now()
	check := func(when string) {
		t.Helper()
		if r.mem < 0 || r.mem > r.opt.MaxMemory {
			t.Fatalf("%s: %d bytes held, MaxMemory %d", when, r.mem, r.opt.MaxMemory)
		}
	}
	forgetAll := func(when string) {
		t.Helper()
		for _, s := range r.sessions {
			r.dropSession(s)
		}
		if r.mem != 0 {
			t.Fatalf("%s: %d bytes still charged with no session left", when, r.mem)
		}
	}

	// One packet for each of ever new sessions: the oldest are forgotten
	// as new ones come (maxSessions).
	var session [8]byte
	for i := range 5000 {
		rand.Read(session[:])
		r.handle(forgedAnnouncement(session, 0, 0, 0, MaxAnnouncement), now)
		check("new sessions")
		if i == 100 && r.mem == 0 {
			t.Fatal("nothing was charged for the forged shards")
		}
	}
	forgetAll("new sessions")

	// One session, every bundle index, every block of the largest
	// announcement: tables and shards together reach MaxMemory, no more.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rand.Read(session[:])
	blocks := blockCount(MaxAnnouncement, MaxShards, shardSize(MinPacketSize))
	for i := range 60000 {
		r.handle(forgedAnnouncement(session, uint32(i), uint16(i/blocks), uint32(i%blocks), MaxAnnouncement), now)
		check("one session")
	}
	if r.stats.Evicted == 0 {
		t.Fatal("MaxMemory was never reached: the test proves nothing")
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4*r.opt.MaxMemory {
		t.Fatalf("the heap grew by %d bytes for a MaxMemory of %d", grew, r.opt.MaxMemory)
	}
	forgetAll("one session")

	// After the flood, a real announcement is heard.
	pkts := capture(t, []string{sealBundle(t, a, k, 64<<10, 0, 20)}, a, SendOptions{})
	var h header
	for _, p := range pkts {
		r.handle(p, now)
		if parseHeader(p, &h) == nil && r.sessions[h.Session] != nil && r.sessions[h.Session].dataMAC != nil {
			return
		}
	}
	t.Fatal("after the flood, the real announcement was not heard")
}

// A trusted station that announces a bundle another station sealed is
// ignored: else it could send an altered copy (which the kiosk rejects)
// ahead of the real one and take its place in the inbox.
func TestAnnouncingAnothersBundle(t *testing.T) {
	a, m, k := newStation(t, "alpha"), newStation(t, "mallory"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 64<<10, 0, 21)
	inbox := t.TempDir()
	r := fuzzReceiver(t, inbox, k, m)
	var events []Event
	r.opt.OnEvent = func(e Event) { events = append(events, e) }
	for _, p := range capture(t, []string{dir}, m, SendOptions{}) {
		r.handle(p, time.Now())
	}
	r.drainResults()
	for _, e := range events {
		if e.Kind != EventIgnored || !strings.Contains(e.Reason, `was sealed by "alpha", not by the station announcing it ("mallory")`) {
			t.Fatalf("event %v: %s", e.Kind, e.Reason)
		}
	}
	if len(events) == 0 {
		t.Fatal("the announcement was neither heard nor ignored")
	}
	if ents, _ := os.ReadDir(inbox); len(ents) > 1 { // .partial only
		t.Fatalf("the inbox holds %d entries", len(ents))
	}
}

// A bundle another trusted station signed under an id already in the
// inbox is not taken for the one there: the receiver says two stations
// used one id, and writes nothing over it.
func TestAnotherBundleUnderAnIDInTheInbox(t *testing.T) {
	a, m, k := newStation(t, "alpha"), newStation(t, "mallory"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 64<<10, 0, 22)
	inbox := t.TempDir()
	r := fuzzReceiver(t, inbox, k, a)
	r.opt.Trusted = k.trusts(a, m)
	var events []Event
	r.opt.OnEvent = func(e Event) { events = append(events, e) }
	for _, p := range capture(t, []string{dir}, a, SendOptions{}) {
		r.handle(p, time.Now())
	}
	envPath := filepath.Join(inbox, filepath.Base(dir), bundle.EnvelopeName)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.drainResults() // the writer's blocks, then the finish
		if _, err := os.Stat(envPath); err == nil {
			break
		}
	}
	here, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatalf("alpha's bundle did not arrive: %v", err)
	}

	// mallory signs an envelope of its own with alpha's bundle id.
	env, err := bundle.ParseEnvelope(here)
	if err != nil {
		t.Fatal(err)
	}
	env.Sender = bundle.Sender{Name: m.name, SigningKey: m.keys.Card(m.name).SigningKeyString()}
	eb, _ := env.Marshal()
	sig, err := crypto.SignSSH(m.keys.Signer, crypto.NamespaceEnvelope, eb)
	if err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(t.TempDir(), filepath.Base(dir))
	if err := os.CopyFS(forged, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(forged, bundle.EnvelopeName), eb, 0o644)
	os.WriteFile(filepath.Join(forged, bundle.EnvelopeSigName), sig, 0o644)

	r = fuzzReceiver(t, inbox, k, a)
	r.opt.Trusted = k.trusts(a, m)
	events = nil
	r.opt.OnEvent = func(e Event) { events = append(events, e) }
	for _, p := range capture(t, []string{forged}, m, SendOptions{}) {
		r.handle(p, time.Now())
	}
	found := false
	for _, e := range events {
		switch {
		case e.Kind == EventError && strings.Contains(fmt.Sprint(e.Err), "the inbox already holds another bundle with id "+env.ID):
			found = true
		case e.Kind == EventDuplicate || e.Kind == EventComplete:
			t.Fatalf("mallory's bundle was taken for alpha's: %v", e.Kind)
		}
	}
	if !found {
		t.Fatalf("no error naming the id: %+v", events)
	}
	if now, _ := os.ReadFile(filepath.Join(inbox, filepath.Base(dir), bundle.EnvelopeName)); !bytes.Equal(now, here) {
		t.Fatal("the bundle in the inbox was changed")
	}
}

// Announcements made to fail at every one of a session's bundle indexes
// (anyone can: their tag key is public) cost the session a fixed few
// KiB, not a map entry each (3 MB a session, of 64, before), and
// each index is then ignored for the rest of the session.
func TestFailedAnnouncementsCostFixedSpace(t *testing.T) {
	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	r := fuzzReceiver(t, t.TempDir(), k, a)
	var session [8]byte
	rand.Read(session[:])
	s := r.newSession(session, time.Now())
	garbage := []byte("not an announcement")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for idx := range 1 << 16 {
		for range 3 { // a bad signature or form is tried again, twice
			r.announced(s, uint16(idx), garbage, MinPacketSize)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 256<<10 {
		t.Errorf("65,536 failed announcements grew the heap by %d bytes", grew)
	}
	for _, idx := range []uint16{0, 1, 63, 64, 40000, 65535} {
		if !s.ignored.has(idx) {
			t.Errorf("bundle index %d not ignored after three failed announcements", idx)
		}
	}
	untrusted := r.stats.Untrusted
	r.announcePacket(s, &header{Session: session, Kind: kindAnnounce, Bundle: 7}, make([]byte, 100), time.Now())
	if r.stats.Untrusted != untrusted+1 {
		t.Error("a packet of an ignored announcement was not counted as untrusted")
	}
	runtime.KeepAlive(s)
}
