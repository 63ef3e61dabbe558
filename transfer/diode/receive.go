package diode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/ipv4"

	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/transfer/bundle"
)

// Defaults for ReceiveOptions.
const (
	// DefaultIdleTimeout ends a silent session. A sender sends without
	// a pause from its first packet to its end packets (it hashes before
	// the first), so ten seconds of silence means it stopped or the link
	// is down; the figure is a judgement, long enough for a sender
	// stalled by a slow disk.
	DefaultIdleTimeout = 10 * time.Second
	// DefaultMaxMemory bounds shards held for blocks not yet decoded:
	// 256 MiB holds about 1,400 blocks of 128 shards of 1,424 bytes, far
	// more than the two windows of 32 blocks a lossless pass has in
	// flight, so a pass's incomplete blocks wait for the next.
	DefaultMaxMemory = 256 << 20
	// DefaultReadBuffer is the socket receive buffer asked for: about a
	// quarter of a second at 1 Gbit/s, once Linux has counted each
	// packet's overhead (docs/DIODE.md, "Tuning").
	DefaultReadBuffer = 64 << 20
	defaultCheckpoint = time.Second
	defaultStatsEvery = time.Second
	maxSessions       = 64
	maxHeld           = 32 << 20 // packets held until their session is announced
	readBatch         = 64
	jobQueue          = 64
)

// ReceiveOptions configure Receive.
type ReceiveOptions struct {
	// Inbox is the folder finished bundles are moved into (as
	// INBOX/ID.sluice) and partial ones are kept under (INBOX/.partial).
	Inbox string
	// Trusted names the station whose signing key this is, or says no:
	// announcements signed by any other key are ignored and reported.
	// It is called from Receive's goroutine, once per announcement.
	Trusted func(ssh.PublicKey) (station string, ok bool)
	// OnEvent, if set, receives events; calls never overlap. It must not
	// block for long: packets are dropped by the kernel meanwhile.
	OnEvent func(Event)
	// IdleTimeout ends a session that has sent nothing for this long and
	// no end packet (default 10 s): its unfinished bundles are reported.
	IdleTimeout time.Duration
	// MaxMemory bounds the bytes of shards held for blocks not decoded
	// yet (default 256 MiB); beyond it the block least recently added to
	// is dropped and counted as evicted (a later pass brings it again).
	MaxMemory int64
	// ReadBuffer is the socket receive buffer asked for (default 64 MiB;
	// see docs/DIODE.md, "Tuning", for net.core.rmem_max).
	ReadBuffer int
	// Checkpoint is how often written blocks are made durable and
	// recorded (default 1 s); StatsEvery how often EventStats is sent.
	Checkpoint time.Duration
	StatsEvery time.Duration
}

// EventKind says what an Event reports.
type EventKind int

const (
	// EventAnnounced: a trusted announcement of a bundle new to this
	// session (Bundle, Station, Bytes, Blocks, Have when resumed).
	EventAnnounced EventKind = iota + 1
	// EventIgnored: an announcement was ignored (Reason): untrusted key,
	// bad signature or malformed. Sent once per session and bundle.
	EventIgnored
	// EventComplete: the bundle is in the inbox at Path.
	EventComplete
	// EventDuplicate: the bundle was already in the inbox; nothing written.
	EventDuplicate
	// EventIncomplete: the session ended (end packet or IdleTimeout) and
	// the bundle lacks Missing blocks; what it has stays on disk.
	EventIncomplete
	// EventStats: counters for a live link panel (Stats).
	EventStats
	// EventError: a disk error (Err); the bundle is left as it was and
	// its packets are ignored for the rest of the session.
	EventError
)

func (k EventKind) String() string {
	switch k {
	case EventAnnounced:
		return "announced"
	case EventIgnored:
		return "ignored"
	case EventComplete:
		return "complete"
	case EventDuplicate:
		return "duplicate"
	case EventIncomplete:
		return "incomplete"
	case EventStats:
		return "stats"
	case EventError:
		return "error"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is something Receive reports.
type Event struct {
	Kind    EventKind
	Time    time.Time
	Session string // 16 hex digits; for EventComplete, the session that announced the bundle
	Bundle  string // bundle id, when known
	// Station is the trust store's name for the signer; for an ignored
	// announcement, the name it claims (untrusted text).
	Station      string
	Fingerprint  string // SHA256 fingerprint of the announcement's key
	Bytes        int64
	Blocks       int
	Have         int
	Missing      []Range
	MissingBytes int64
	// Needs says, for the missing blocks (the first MaxNeeds), how many
	// more shards each needs before it can be rebuilt (EventIncomplete).
	Needs  []BlockNeed
	Path   string
	Reason string
	Err    error
	Stats  *Stats
}

// Stats are a receiver's counters since Receive started, and rates over
// the last StatsEvery.
type Stats struct {
	Packets   uint64 // datagrams read
	WireBytes uint64 // their bytes with IP and UDP headers
	Accepted  uint64 // packets whose tag was right
	Redundant uint64 // accepted shards not needed (duplicates, blocks done)
	// Dropped, by reason.
	BadTag         uint64 // corrupted, or from a session with another key
	Malformed      uint64 // wrong size, magic, version or fields
	NoAnnouncement uint64 // data of a session or bundle not announced (yet)
	Untrusted      uint64 // packets of a bundle whose announcement was ignored
	HashMismatch   uint64 // decoded blocks whose hash was not the signed one
	Evicted        uint64 // partial blocks dropped, or announcement packets refused, to stay in MaxMemory
	// Rate is the wire rate received over the last interval, in bits per
	// second; Loss the fraction of a session's packets that did not
	// arrive over it, from sequence numbers (approximate under reordering).
	Rate             float64
	Loss             float64
	LastAnnouncement time.Time
	Sessions         int
	BlocksDone       int // of bundles being received
	BlocksTotal      int
	Memory           int64 // bytes held of MaxMemory: shards, and announcements' tables
	ReadBuffer       int   // socket receive buffer granted (Linux: doubled)
}

// Receive reads a diode stream from conn and writes the bundles it
// carries into opt.Inbox until ctx is done; then it makes what it has
// durable and returns nil. It never writes to conn. It returns an error if
// the inbox cannot be used or the socket fails.
func Receive(ctx context.Context, conn net.PacketConn, opt ReceiveOptions) error {
	if opt.Inbox == "" {
		return errors.New("diode receive: no inbox")
	}
	if info, err := os.Stat(opt.Inbox); err != nil {
		return fmt.Errorf("diode receive: %w", err)
	} else if !info.IsDir() {
		return fmt.Errorf("diode receive: %s is not a folder", opt.Inbox)
	}
	if err := os.MkdirAll(filepath.Join(opt.Inbox, partialDir), 0o700); err != nil {
		return fmt.Errorf("diode receive: %w", err)
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = DefaultIdleTimeout
	}
	if opt.MaxMemory <= 0 {
		opt.MaxMemory = DefaultMaxMemory
	}
	if opt.ReadBuffer <= 0 {
		opt.ReadBuffer = DefaultReadBuffer
	}
	if opt.Checkpoint <= 0 {
		opt.Checkpoint = defaultCheckpoint
	}
	if opt.StatsEvery <= 0 {
		opt.StatsEvery = defaultStatsEvery
	}
	r := &receiver{
		opt:      opt,
		sessions: map[[8]byte]*rxSession{},
		byID:     map[string]*rxBundle{},
		jobs:     make(chan job, jobQueue),
		results:  make(chan result, 4*jobQueue),
	}
	r.stats.ReadBuffer = setBuffer(conn, opt.ReadBuffer, true)
	r.ipHdr = ipv4Headers
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok && la.IP != nil && la.IP.To4() == nil {
		r.ipHdr = ipv6Headers
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.writer()
	}()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	bc := newBatchConn(conn, nil)
	msgs := make([]ipv4.Message, readBatch)
	if !bc.batch {
		msgs = msgs[:1]
	}
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, MaxPacketSize+1)}
	}
	now := time.Now()
	nextTick := now
	r.lastStats = now
	var rerr error
	for {
		if now.After(nextTick) || now.Equal(nextTick) {
			r.housekeeping(now)
			nextTick = now.Add(100 * time.Millisecond)
			conn.SetReadDeadline(nextTick.Add(100 * time.Millisecond))
		}
		if ctx.Err() != nil {
			break
		}
		n, err := bc.read(msgs)
		now = time.Now()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if ctx.Err() != nil {
				break
			}
			rerr = fmt.Errorf("diode receive: %w", err)
			break
		}
		for i := range n {
			r.handle(msgs[i].Buffers[0][:msgs[i].N], now)
		}
		r.drainResults()
	}
	r.shutdown()
	wg.Wait()
	return rerr
}

// shutdown lets the blocks being decoded land, then makes what was
// written durable, so that a receiver started again resumes from it,
// and waits for the writer to finish.
func (r *receiver) shutdown() {
	for r.decoding() {
		r.apply(<-r.results)
	}
	for _, b := range r.byID {
		r.release(b)
	}
	r.closing = true
	close(r.jobs)
	for res := range r.results {
		r.apply(res)
	}
}

func (r *receiver) decoding() bool {
	for _, b := range r.byID {
		if len(b.decoding) > 0 {
			return true
		}
	}
	return false
}

// receiver is Receive's state; only its goroutine touches it, except the
// writer's jobs.
type receiver struct {
	opt       ReceiveOptions
	sessions  map[[8]byte]*rxSession
	byID      map[string]*rxBundle
	mem       int64
	stats     Stats
	lastStats time.Time
	lastCkpt  time.Time
	ivBytes   uint64
	evMu      sync.Mutex
	jobs      chan job
	results   chan result
	closing   bool
	ipHdr     int // IP and UDP header bytes: 28 over IPv4, 48 over IPv6
	held      map[[8]byte]*heldPackets
	heldBytes int
}

// rxSession is what a receiver knows of one sender session.
type rxSession struct {
	id         [8]byte
	hexID      string
	annMAC     *mac
	dataMAC    *mac
	macKey     []byte
	packetSize int
	anns       map[uint16]*annAsm
	bundles    map[uint16]*rxBundle
	// Per bundle index (the header's 16 bits), in fixed space: anyone
	// can make announcements fail (their tag key is public), so a map
	// grown by them cost a flood 3 MB a session (64 sessions).
	ignored   indexSet
	completed indexSet // finished, or already in the inbox
	annFails  *[1 << 16]uint8
	last      time.Time
	ended     bool
	// sequence numbers of accepted packets over the stats interval
	ivCount    uint64
	ivLo, ivHi uint32
	ivSeen     bool
}

// annAsm assembles one bundle's announcement from its packets.
type annAsm struct {
	length int
	ssize  int
	blocks []*collect
	done   int
	// charged is what the assembly holds of MaxMemory: its shards and
	// its tables (annTableCost), given back whole when it ends.
	charged int64
}

// annTableCost is what an announcement's assembly costs beyond its
// shards: blocks entries in its block table, and shards in a block's
// table of shards (a pointer, and a slice header each, and a struct).
// Anyone can make these (an announcement's tag key is public), so they
// are charged to MaxMemory like the shards: counted, a flood of
// announcement packets for ever new bundles reached 500 MB.
func annTableCost(blocks, shards int) int64 {
	return int64(blocks)*8 + int64(shards)*24 + 64
}

// collect gathers the shards of one block.
type collect struct {
	k, n, length int
	have         int
	shards       [][]byte
	last         time.Time
}

// rxBundle is a bundle being received.
type rxBundle struct {
	ann      *announcement
	station  string
	dir      string // INBOX/.partial/ID
	files    []*os.File
	ssize    int
	st       *state // blocks written (durable once checkpointed)
	done     int
	dirty    bool
	inflight map[int]*collect
	decoding map[int]bool
	sessions map[*rxSession]bool
	finished bool // complete, duplicate or failed: packets are redundant
	failed   bool
}

func (r *receiver) emit(e Event) {
	if r.opt.OnEvent == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.evMu.Lock()
	defer r.evMu.Unlock()
	r.opt.OnEvent(e)
}

// handle takes one datagram.
func (r *receiver) handle(p []byte, now time.Time) {
	r.stats.Packets++
	r.stats.WireBytes += uint64(len(p) + r.ipHdr)
	r.ivBytes += uint64(len(p) + r.ipHdr)
	r.process(p, now)
}

// process takes one datagram, counted.
func (r *receiver) process(p []byte, now time.Time) {
	var h header
	if err := parseHeader(p, &h); err != nil {
		r.stats.Malformed++
		return
	}
	s := r.sessions[h.Session]
	if h.Kind != kindAnnounce && (s == nil || s.dataMAC == nil) {
		if s != nil && s.ignored.any() {
			// A session whose announcements were refused: every bundle
			// of a session is signed by the same station.
			r.stats.Untrusted++
			return
		}
		r.hold(h.Session, p, now)
		return
	}
	if s == nil {
		// Only a well-formed announcement packet opens a session.
		if !newMAC(announceKey(h.Session)).check(p) {
			r.stats.BadTag++
			return
		}
		s = r.newSession(h.Session, now)
	}
	if s.packetSize != 0 && len(p) != s.packetSize {
		r.stats.Malformed++
		return
	}
	switch h.Kind {
	case kindAnnounce:
		if !s.annMAC.check(p) {
			r.stats.BadTag++
			return
		}
		r.accepted(s, &h, now)
		r.stats.LastAnnouncement = now
		r.announcePacket(s, &h, p[HeaderSize:len(p)-TagSize], now)
	case kindData:
		if !s.dataMAC.check(p) {
			r.stats.BadTag++
			return
		}
		r.accepted(s, &h, now)
		b := s.bundles[h.Bundle]
		switch {
		case b != nil:
			r.dataPacket(b, &h, p[HeaderSize:len(p)-TagSize], now)
		case s.completed.has(h.Bundle):
			r.stats.Redundant++
		case s.ignored.has(h.Bundle):
			r.stats.Untrusted++
		default:
			r.stats.NoAnnouncement++
		}
	case kindEnd:
		if !s.dataMAC.check(p) {
			r.stats.BadTag++
			return
		}
		r.accepted(s, &h, now)
		if !s.ended {
			r.endSession(s, "the sender ended the session")
		}
	}
}

// hold keeps a packet of a session whose key is not known yet, so that
// data sent before a late receiver heard an announcement is not lost: up
// to maxHeld bytes in all, each packet for at most IdleTimeout. Its tag is
// checked once the signed announcement gives the key.
func (r *receiver) hold(id [8]byte, p []byte, now time.Time) {
	if r.heldBytes+len(p) > maxHeld {
		r.stats.NoAnnouncement++
		return
	}
	if r.held == nil {
		r.held = map[[8]byte]*heldPackets{}
	}
	hp := r.held[id]
	if hp == nil {
		hp = &heldPackets{}
		r.held[id] = hp
	}
	hp.pkts = append(hp.pkts, append(getHeld(len(p)), p...))
	hp.last = now
	r.heldBytes += len(p)
}

// replay handles the packets held for s now that its key is known.
func (r *receiver) replay(s *rxSession) {
	hp := r.held[s.id]
	if hp == nil {
		return
	}
	delete(r.held, s.id)
	for _, p := range hp.pkts {
		r.heldBytes -= len(p)
		r.process(p, s.last)
	}
}

// expireHeld drops held packets of sessions not announced in time.
func (r *receiver) expireHeld(now time.Time) {
	for id, hp := range r.held {
		if now.Sub(hp.last) > r.opt.IdleTimeout {
			r.stats.NoAnnouncement += uint64(len(hp.pkts))
			for _, p := range hp.pkts {
				r.heldBytes -= len(p)
			}
			delete(r.held, id)
		}
	}
}

type heldPackets struct {
	pkts [][]byte
	last time.Time
}

func getHeld(n int) []byte { return make([]byte, 0, n) }

func (r *receiver) accepted(s *rxSession, h *header, now time.Time) {
	r.stats.Accepted++
	s.last = now
	s.ivCount++
	if !s.ivSeen {
		s.ivLo, s.ivHi, s.ivSeen = h.Seq, h.Seq, true
	} else {
		s.ivLo, s.ivHi = min(s.ivLo, h.Seq), max(s.ivHi, h.Seq)
	}
}

func (r *receiver) newSession(id [8]byte, now time.Time) *rxSession {
	if len(r.sessions) >= maxSessions {
		// Forget the session heard from least recently.
		var old *rxSession
		for _, s := range r.sessions {
			if old == nil || s.last.Before(old.last) {
				old = s
			}
		}
		r.dropSession(old)
	}
	s := &rxSession{
		id: id, hexID: hex.EncodeToString(id[:]), annMAC: newMAC(announceKey(id)),
		anns: map[uint16]*annAsm{}, bundles: map[uint16]*rxBundle{}, last: now,
	}
	r.sessions[id] = s
	return s
}

// indexSet is a set of bundle indexes in at most 8 KiB, allocated when
// the first is added.
type indexSet struct{ bits *[1 << 16 / 64]uint64 }

func (x *indexSet) add(i uint16) {
	if x.bits == nil {
		x.bits = new([1 << 16 / 64]uint64)
	}
	x.bits[i/64] |= 1 << (i % 64)
}

func (x indexSet) has(i uint16) bool { return x.bits != nil && x.bits[i/64]&(1<<(i%64)) != 0 }

func (x indexSet) any() bool { return x.bits != nil }

// announcePacket adds a shard of an announcement; once all its blocks
// decode, the announcement is verified and its bundle set up.
func (r *receiver) announcePacket(s *rxSession, h *header, shard []byte, now time.Time) {
	if s.bundles[h.Bundle] != nil || s.completed.has(h.Bundle) {
		r.stats.Redundant++
		return
	}
	if s.ignored.has(h.Bundle) {
		r.stats.Untrusted++
		return
	}
	ssize := len(shard)
	length := int(h.Length)
	// What this packet adds, checked before anything is allocated:
	// announcements are not evicted, so past MaxMemory more are refused.
	charge := func(n int64) bool {
		if r.mem+n > r.opt.MaxMemory {
			r.stats.Evicted++
			return false
		}
		r.mem += n
		return true
	}
	a := s.anns[h.Bundle]
	if a == nil {
		if length > MaxAnnouncement {
			r.stats.Malformed++
			return
		}
		nb := blockCount(int64(length), MaxShards, ssize)
		if !charge(annTableCost(nb, 0)) {
			return
		}
		a = &annAsm{length: length, ssize: ssize, blocks: make([]*collect, nb), charged: annTableCost(nb, 0)}
		s.anns[h.Bundle] = a
	}
	if length != a.length || ssize != a.ssize || int(h.Block) >= len(a.blocks) {
		r.stats.Malformed++
		return
	}
	blen, k, n := blockGeometry(int64(length), MaxShards, ssize, int(h.Block))
	if h.K != k || h.N != n {
		r.stats.Malformed++
		return
	}
	c := a.blocks[h.Block]
	if c != nil && (c.have >= c.k || c.shards[h.Shard] != nil) {
		r.stats.Redundant++
		return
	}
	cost := int64(ssize)
	if c == nil {
		cost += annTableCost(0, n)
	}
	if !charge(cost) {
		return
	}
	a.charged += cost
	if c == nil {
		c = &collect{k: k, n: n, length: blen, shards: make([][]byte, n)}
		a.blocks[h.Block] = c
	}
	c.shards[h.Shard] = append([]byte(nil), shard...)
	c.have++
	if c.have < c.k {
		return
	}
	if err := codec(k).ReconstructData(c.shards); err != nil {
		r.stats.Malformed++
		freed := int64(c.have*ssize) + annTableCost(0, c.n)
		r.mem -= freed
		a.charged -= freed
		a.blocks[h.Block] = nil
		return
	}
	a.done++
	if a.done < len(a.blocks) {
		return
	}
	raw := make([]byte, 0, length)
	for _, c := range a.blocks {
		for j := 0; j < c.k; j++ {
			raw = append(raw, c.shards[j]...)
		}
	}
	raw = raw[:length]
	r.mem -= a.charged
	delete(s.anns, h.Bundle)
	r.announced(s, h.Bundle, raw, ssize+packetOverhead)
}

// announced handles a fully received announcement.
func (r *receiver) announced(s *rxSession, idx uint16, raw []byte, psize int) {
	ann, station, err := verifyAnnouncement(raw, r.opt.Trusted)
	if err != nil && !errors.Is(err, errUntrusted) {
		// A bad signature or form may be a forged packet mixed into the
		// announcement: try again with fresh packets, twice.
		if s.annFails == nil {
			s.annFails = new([1 << 16]uint8)
		}
		if s.annFails[idx]++; s.annFails[idx] < 3 {
			return
		}
	}
	ignore := func(reason string) {
		s.ignored.add(idx)
		ev := Event{Kind: EventIgnored, Session: s.hexID, Reason: reason}
		if ann != nil {
			ev.Bundle, ev.Station, ev.Fingerprint = ann.ID, ann.Station, ssh.FingerprintSHA256(ann.signer)
		}
		r.emit(ev)
	}
	switch {
	case err != nil:
		ignore(err.Error())
		return
	case ann.session != s.id || ann.Bundle != int(idx):
		ignore("announcement of another session or bundle index (replayed)")
		return
	case ann.PacketSize != psize:
		ignore(fmt.Sprintf("announcement says packets of %d bytes, they are %d", ann.PacketSize, psize))
		return
	case s.macKey != nil && !bytes.Equal(s.macKey, ann.macKey):
		ignore("announcement gives another tag key than the session's")
		return
	}
	if s.macKey == nil {
		s.macKey, s.dataMAC, s.packetSize = ann.macKey, newMAC(ann.macKey), psize
		defer r.replay(s) // once the bundle is set up
	}
	b := r.byID[ann.ID]
	if b != nil && b.ann.layoutDigest() != ann.layoutDigest() {
		ignore(fmt.Sprintf("bundle %s is being received from another session with another layout", ann.ID))
		return
	}
	if b == nil {
		b, err = r.open(ann, station)
		if err != nil && !errors.Is(err, errFinishedNow) {
			s.ignored.add(idx)
			r.emit(Event{Kind: EventError, Session: s.hexID, Bundle: ann.ID, Station: station, Err: err})
			return
		}
		if b == nil { // already in the inbox
			s.completed.add(idx)
			if errors.Is(err, errFinishedNow) {
				return
			}
			r.emit(Event{Kind: EventDuplicate, Session: s.hexID, Bundle: ann.ID, Station: station,
				Path: filepath.Join(r.opt.Inbox, ann.ID+bundle.DirSuffix)})
			return
		}
		r.byID[ann.ID] = b
	}
	b.sessions[s] = true
	s.bundles[idx] = b
	r.emit(Event{Kind: EventAnnounced, Session: s.hexID, Bundle: ann.ID, Station: station,
		Fingerprint: ssh.FingerprintSHA256(ann.signer), Bytes: ann.Bytes, Blocks: ann.Blocks, Have: b.done})
	if b.done == ann.Blocks && !b.finished {
		r.finish(b)
	}
}

// errFinishedNow says open finished a bundle a receiver had left renamed
// but without its envelope.
var errFinishedNow = errors.New("finished now")

// open sets up the partial folder of a newly announced bundle, resuming a
// checkpoint of the same layout. It returns nil, nil when the bundle is
// already in the inbox.
func (r *receiver) open(a *announcement, station string) (*rxBundle, error) {
	final := filepath.Join(r.opt.Inbox, a.ID+bundle.DirSuffix)
	dir := filepath.Join(r.opt.Inbox, partialDir, a.ID)
	if _, err := os.Lstat(final); err == nil {
		if _, err := regfile.Check(filepath.Join(final, bundle.EnvelopeName)); err == nil {
			// Already here, if it is this bundle: another with its id
			// (a trusted station can choose any id) is not.
			if here, err := regfile.ReadFile(filepath.Join(final, bundle.EnvelopeName), bundle.MaxEnvelopeSize); err == nil && !bytes.Equal(here, a.Envelope) {
				return nil, fmt.Errorf("the inbox already holds another bundle with id %s (its envelope differs: two stations used one id); receive or move %s, and ask %s to pack this one again (a new id)",
					a.ID, a.ID+bundle.DirSuffix, station)
			}
			return nil, nil
		}
		// A folder without its envelope: a finish that was cut short
		// renames the folder, then writes the envelope; complete it if
		// our checkpoint says every block is in.
		if st := readState(dir, a); st != nil && st.count() == a.Blocks {
			if err := durable.ReplaceFile(filepath.Join(final, bundle.EnvelopeName), a.Envelope, 0o644); err != nil {
				return nil, err
			}
			os.RemoveAll(dir)
			r.emit(Event{Kind: EventComplete, Session: hex.EncodeToString(a.session[:]), Bundle: a.ID, Station: station, Path: final, Bytes: a.Bytes, Blocks: a.Blocks, Have: a.Blocks})
			return nil, errFinishedNow
		}
		return nil, fmt.Errorf("the inbox holds %s without an envelope, not left by this receiver: move it away", a.ID+bundle.DirSuffix)
	}
	b := &rxBundle{ann: a, station: station, dir: dir, ssize: shardSize(a.PacketSize),
		inflight: map[int]*collect{}, decoding: map[int]bool{}, sessions: map[*rxSession]bool{}}
	st := readState(dir, a)
	if st == nil {
		st = &state{layout: a.layoutDigest(), blocks: a.Blocks, done: make([]byte, (a.Blocks+7)/8)}
		os.RemoveAll(filepath.Join(dir, bundleSubdir))
	}
	st.station = station
	b.st, b.done = st, st.count()
	need := a.Bytes
	for i := range a.Blocks {
		if st.has(i) {
			length, _, _ := blockGeometry(a.Bytes, a.BlockShards, b.ssize, i)
			need -= int64(length)
		}
	}
	if free, ok := freeSpace(r.opt.Inbox); ok && free < need {
		return nil, fmt.Errorf("diode receive %s: the inbox has %d MiB free, the bundle needs %d MiB more", a.ID, free>>20, need>>20)
	}
	if err := os.MkdirAll(filepath.Join(dir, bundleSubdir), 0o700); err != nil {
		return nil, err
	}
	if err := durable.ReplaceFile(filepath.Join(dir, annFileName), a.raw, 0o600); err != nil {
		return nil, err
	}
	if err := writeState(dir, st); err != nil {
		return nil, err
	}
	for _, f := range a.Files {
		// f.Name was checked against the envelope's volume names
		// (payload.age.NNNN), so it names a file in the folder.
		fh, err := os.OpenFile(filepath.Join(dir, bundleSubdir, f.Name), os.O_RDWR|os.O_CREATE, 0o644)
		if err == nil {
			var info fs.FileInfo
			if info, err = fh.Stat(); err == nil && info.Size() != f.Size {
				err = fh.Truncate(f.Size)
			}
		}
		if err != nil {
			for _, g := range b.files {
				g.Close()
			}
			if fh != nil {
				fh.Close()
			}
			return nil, fmt.Errorf("diode receive %s: %w", a.ID, err)
		}
		b.files = append(b.files, fh)
	}
	return b, nil
}

// readState reads a partial folder's checkpoint if it is of a's layout.
func readState(dir string, a *announcement) *state {
	raw, err := regfile.ReadFile(filepath.Join(dir, stateName), 64<<20)
	if err != nil {
		return nil
	}
	st, err := parseState(raw)
	if err != nil || st.layout != a.layoutDigest() || st.blocks != a.Blocks {
		return nil
	}
	return st
}

// dataPacket adds a shard of a payload block.
func (r *receiver) dataPacket(b *rxBundle, h *header, shard []byte, now time.Time) {
	if b.finished {
		r.stats.Redundant++
		return
	}
	i := int(h.Block)
	if i >= b.ann.Blocks {
		r.stats.Malformed++
		return
	}
	length, k, n := blockGeometry(b.ann.Bytes, b.ann.BlockShards, b.ssize, i)
	if h.K != k || h.N != n || int(h.Length) != length {
		r.stats.Malformed++
		return
	}
	if b.st.has(i) || b.decoding[i] {
		r.stats.Redundant++
		return
	}
	c := b.inflight[i]
	if c == nil {
		c = &collect{k: k, n: n, length: length, shards: make([][]byte, n)}
		b.inflight[i] = c
	}
	if c.shards[h.Shard] != nil {
		r.stats.Redundant++
		return
	}
	for r.mem+int64(b.ssize) > r.opt.MaxMemory && r.evict(c) {
	}
	c.shards[h.Shard] = append(getShard(b.ssize), shard...)
	c.have++
	c.last = now
	r.mem += int64(b.ssize)
	if c.have == k {
		delete(b.inflight, i)
		b.decoding[i] = true
		r.mem -= int64(c.have * b.ssize)
		r.send(job{kind: jobBlock, b: b, block: i, c: c})
	}
}

// evict drops the partial block least recently added to, other than keep.
func (r *receiver) evict(keep *collect) bool {
	var ob *rxBundle
	var oi int
	var oc *collect
	for _, b := range r.byID {
		for i, c := range b.inflight {
			if c != keep && (oc == nil || c.last.Before(oc.last)) {
				ob, oi, oc = b, i, c
			}
		}
	}
	if oc == nil {
		return false
	}
	delete(ob.inflight, oi)
	r.freeCollect(oc, ob.ssize)
	r.stats.Evicted++
	return true
}

func (r *receiver) freeCollect(c *collect, ssize int) {
	for j, s := range c.shards {
		if s != nil {
			putShard(s)
			c.shards[j] = nil
			r.mem -= int64(ssize)
		}
	}
}

// send queues a job for the writer, applying results meanwhile so the two
// goroutines never wait on each other.
func (r *receiver) send(j job) {
	for {
		select {
		case r.jobs <- j:
			return
		case res := <-r.results:
			r.apply(res)
		}
	}
}

func (r *receiver) drainResults() {
	for {
		select {
		case res := <-r.results:
			r.apply(res)
		default:
			return
		}
	}
}

// apply takes a finished job's outcome.
func (r *receiver) apply(res result) {
	b := res.b
	switch res.kind {
	case jobBlock:
		delete(b.decoding, res.block)
		switch {
		case res.err != nil:
			r.fail(b, res.err)
		case res.mismatch:
			r.stats.HashMismatch++ // its shards are gone; later ones retry
		default:
			b.st.set(res.block)
			b.done++
			b.dirty = true
			if b.done == b.ann.Blocks && !b.finished && !r.closing {
				r.finish(b)
			}
		}
	case jobFinish:
		delete(r.byID, b.ann.ID)
		for s := range b.sessions {
			for idx, sb := range s.bundles {
				if sb == b {
					delete(s.bundles, idx)
					s.completed.add(idx)
				}
			}
		}
		if res.err != nil {
			r.emit(Event{Kind: EventError, Bundle: b.ann.ID, Station: b.station, Err: res.err})
		}
	case jobCheckpoint, jobRelease:
		if res.err != nil {
			r.fail(b, res.err)
		}
	}
}

// fail abandons a bundle after a disk error.
func (r *receiver) fail(b *rxBundle, err error) {
	if b.failed {
		return
	}
	b.failed, b.finished = true, true
	r.emit(Event{Kind: EventError, Bundle: b.ann.ID, Station: b.station, Err: err})
	for i, c := range b.inflight {
		r.freeCollect(c, b.ssize)
		delete(b.inflight, i)
	}
}

// finish queues the move of a complete bundle into the inbox.
func (r *receiver) finish(b *rxBundle) {
	b.finished = true
	for i, c := range b.inflight {
		r.freeCollect(c, b.ssize)
		delete(b.inflight, i)
	}
	r.send(job{kind: jobFinish, b: b, st: b.snapshot()})
}

func (b *rxBundle) snapshot() *state {
	st := *b.st
	st.done = append([]byte(nil), b.st.done...)
	b.dirty = false
	return &st
}

// release checkpoints a bundle and lets go of its files (Receive ending,
// or its last session gone).
func (r *receiver) release(b *rxBundle) {
	if b.finished {
		return
	}
	b.finished = true
	for i, c := range b.inflight {
		r.freeCollect(c, b.ssize)
		delete(b.inflight, i)
	}
	delete(r.byID, b.ann.ID)
	r.send(job{kind: jobRelease, b: b, st: b.snapshot()})
}

// endSession reports what the session's bundles lack.
func (r *receiver) endSession(s *rxSession, why string) {
	s.ended = true
	for _, b := range s.bundles {
		if b.finished || b.done == b.ann.Blocks {
			continue
		}
		// The blocks being decoded are counted as present if they pass.
		st := b.snapshot()
		b.dirty = true
		for i := range b.decoding {
			st.set(i)
		}
		miss := st.missing()
		if len(miss) == 0 {
			continue // every block is in or being written: it completes
		}
		ev := Event{Kind: EventIncomplete, Session: s.hexID, Bundle: b.ann.ID, Station: b.station,
			Bytes: b.ann.Bytes, Blocks: b.ann.Blocks, Have: st.count(), Missing: miss, Reason: why}
		bsize := int64(b.ann.BlockShards) * int64(b.ssize)
		for _, m := range miss {
			for i := m.First; i <= m.Last; i++ {
				n := min(bsize, b.ann.Bytes-int64(i)*bsize)
				ev.MissingBytes += n
				if len(ev.Needs) < MaxNeeds {
					// Shards still needed: the block's data shards, less
					// those held for it.
					need := int((n + int64(b.ssize) - 1) / int64(b.ssize))
					if c := b.inflight[i]; c != nil {
						need = max(c.k-c.have, 0)
					}
					ev.Needs = append(ev.Needs, BlockNeed{Block: i, Shards: need})
				}
			}
		}
		writeNeeds(b.dir, ev.Needs) // for Status; a hint, remade by the next session
		r.emit(ev)
	}
}

// dropSession forgets a session; bundles no other session feeds are
// checkpointed and closed.
func (r *receiver) dropSession(s *rxSession) {
	for _, a := range s.anns {
		r.mem -= a.charged
	}
	for _, b := range s.bundles {
		delete(b.sessions, s)
		if len(b.sessions) == 0 {
			r.release(b)
		}
	}
	delete(r.sessions, s.id)
}

// housekeeping runs every 100 ms: idle sessions, checkpoints, stats.
func (r *receiver) housekeeping(now time.Time) {
	r.drainResults()
	r.expireHeld(now)
	for _, s := range r.sessions {
		idle := now.Sub(s.last)
		if !s.ended && idle > r.opt.IdleTimeout {
			r.endSession(s, fmt.Sprintf("nothing heard from the sender for %s", r.opt.IdleTimeout))
		}
		if s.ended && idle > 3*r.opt.IdleTimeout {
			r.dropSession(s)
		}
	}
	if now.Sub(r.lastCkpt) >= r.opt.Checkpoint {
		r.lastCkpt = now
		for _, b := range r.byID {
			if b.dirty && !b.finished {
				r.send(job{kind: jobCheckpoint, b: b, st: b.snapshot()})
			}
		}
	}
	if d := now.Sub(r.lastStats); d >= r.opt.StatsEvery {
		r.lastStats = now
		st := r.stats
		st.Rate = float64(r.ivBytes) * 8 / d.Seconds()
		r.ivBytes = 0
		var got, span uint64
		for _, s := range r.sessions {
			if s.ivSeen {
				got += s.ivCount
				span += uint64(s.ivHi-s.ivLo) + 1
			}
			s.ivCount, s.ivSeen = 0, false
		}
		if span > 0 && got <= span {
			st.Loss = 1 - float64(got)/float64(span)
		}
		st.Sessions = len(r.sessions)
		for _, b := range r.byID {
			st.BlocksDone += b.done
			st.BlocksTotal += b.ann.Blocks
		}
		st.Memory = r.mem
		r.emit(Event{Kind: EventStats, Stats: &st})
	}
}

// Jobs for the writer goroutine, which owns the files of bundles.
const (
	jobBlock = iota
	jobCheckpoint
	jobFinish
	jobRelease
)

type job struct {
	kind  int
	b     *rxBundle
	block int
	c     *collect
	st    *state
}

type result struct {
	kind     int
	b        *rxBundle
	block    int
	mismatch bool
	err      error
}

// writer decodes blocks, checks them against the signed hashes, writes
// them, and makes checkpoints and finished bundles durable.
func (r *receiver) writer() {
	defer close(r.results)
	var dataBuf []byte
	for j := range r.jobs {
		res := result{kind: j.kind, b: j.b, block: j.block}
		b := j.b
		switch j.kind {
		case jobBlock:
			if b.failed {
				r.writerFree(j.c)
				continue
			}
			res.mismatch, res.err = r.writeBlock(b, j.block, j.c, &dataBuf)
			r.writerFree(j.c)
		case jobCheckpoint:
			if !b.failed {
				res.err = r.checkpoint(b, j.st)
			}
		case jobRelease:
			if !b.failed {
				res.err = r.checkpoint(b, j.st)
			}
			closeAll(b.files)
		case jobFinish:
			res.err = r.finishBundle(b, j.st)
		}
		r.results <- res
	}
}

func (r *receiver) writerFree(c *collect) {
	for j, s := range c.shards {
		if s != nil {
			putShard(s)
			c.shards[j] = nil
		}
	}
}

// writeBlock decodes block i, checks its hash and writes it in place.
func (r *receiver) writeBlock(b *rxBundle, i int, c *collect, buf *[]byte) (mismatch bool, err error) {
	for j := 0; j < c.k; j++ {
		if c.shards[j] == nil {
			if err := codec(c.k).ReconstructData(c.shards); err != nil {
				return true, nil
			}
			break
		}
	}
	data := (*buf)[:0]
	for j := 0; j < c.k; j++ {
		data = append(data, c.shards[j]...)
	}
	*buf = data
	data = data[:c.length]
	if sum := sha256.Sum256(data); !bytes.Equal(sum[:], b.ann.blockHash(i)) {
		return true, nil
	}
	off := int64(i) * int64(b.ann.BlockShards) * int64(b.ssize)
	for fi, f := range b.ann.Files {
		if len(data) == 0 {
			break
		}
		if off >= f.Size {
			off -= f.Size
			continue
		}
		n := int(min(int64(len(data)), f.Size-off))
		if _, err := b.files[fi].WriteAt(data[:n], off); err != nil {
			return false, fmt.Errorf("diode receive %s: %w", b.ann.ID, err)
		}
		data, off = data[n:], 0
	}
	return false, nil
}

// checkpoint fsyncs the volumes, then records st: a block is never
// recorded before it is on the disk.
func (r *receiver) checkpoint(b *rxBundle, st *state) error {
	for _, f := range b.files {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("diode receive %s: %w", b.ann.ID, err)
		}
	}
	if err := writeState(b.dir, st); err != nil {
		return fmt.Errorf("diode receive %s: %w", b.ann.ID, err)
	}
	return nil
}

// finishBundle moves a complete bundle into the inbox: volumes and
// signature durable, folder renamed to INBOX/ID.sluice, envelope.json
// written last (temporary name, fsync, rename), partial folder removed.
func (r *receiver) finishBundle(b *rxBundle, st *state) error {
	if b.failed {
		closeAll(b.files)
		return nil
	}
	err := r.checkpoint(b, st)
	closeAll(b.files)
	if err != nil {
		return err
	}
	a := b.ann
	src := filepath.Join(b.dir, bundleSubdir)
	final := filepath.Join(r.opt.Inbox, a.ID+bundle.DirSuffix)
	if err := durable.WriteFile(filepath.Join(src, bundle.EnvelopeSigName), a.EnvelopeSig, 0o644); err != nil {
		return err
	}
	if err := durable.SyncDir(src); err != nil {
		return err
	}
	if err := durable.RenameNoReplace(src, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			os.RemoveAll(b.dir)
			r.emit(Event{Kind: EventDuplicate, Bundle: a.ID, Station: b.station, Path: final})
			return nil
		}
		return fmt.Errorf("diode receive %s: %w", a.ID, err)
	}
	if err := durable.SyncDir(r.opt.Inbox); err != nil {
		return err
	}
	if err := durable.ReplaceFile(filepath.Join(final, bundle.EnvelopeName), a.Envelope, 0o644); err != nil {
		return err
	}
	os.RemoveAll(b.dir)
	r.emit(Event{Kind: EventComplete, Session: hex.EncodeToString(a.session[:]), Bundle: a.ID, Station: b.station, Path: final, Bytes: a.Bytes, Blocks: a.Blocks, Have: a.Blocks})
	return nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// Shard buffers are pooled by size.
var shardPools sync.Map // int → *sync.Pool

func getShard(size int) []byte {
	p, _ := shardPools.LoadOrStore(size, &sync.Pool{New: func() any { return make([]byte, 0, size) }})
	return p.(*sync.Pool).Get().([]byte)[:0]
}

func putShard(b []byte) {
	if p, ok := shardPools.Load(cap(b)); ok {
		p.(*sync.Pool).Put(b[:0]) //nolint:staticcheck // slices are small headers
	}
}
