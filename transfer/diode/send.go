package diode

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"sluice/crypto"
	"sluice/internal/regfile"
	"sluice/transfer/bundle"
)

// Defaults for SendOptions.
const (
	// DefaultRate is 100 Mbit/s.
	DefaultRate = 100_000_000
	// DefaultOverhead sends 20 % parity shards per pass. With 128-shard
	// blocks interleaved 32 deep it survives 5 % random loss with a
	// 100-packet burst per window (docs/DIODE.md, "Blocks, FEC and interleaving").
	DefaultOverhead = 0.20
	// DefaultMTU is Ethernet's.
	DefaultMTU = 1500
	// DefaultInterleave is how many blocks' shards are interleaved.
	DefaultInterleave = 32
	// annEvery is how many data packets go between two announcement
	// packets in the middle of a pass (1.6 % of the packets).
	annEvery = 64
	// startCopies and endCopies are the whole announcement sets sent
	// before the first data packet and after the last pass; endPackets is
	// how many end-of-session packets close it.
	startCopies = 3
	endCopies   = 2
	endPackets  = 3
	// maxBurst is the token bucket's depth: after a late wake-up the
	// sender may catch up by this much time's worth of packets at once,
	// and no more. Go's timers on a loaded machine wake a millisecond or
	// two late; a shallower bucket loses that time for good.
	maxBurst = 5 * time.Millisecond
	// minBlockShards is the fewest data shards a block is cut into when
	// a bundle is too small to fill Interleave blocks of MaxShards.
	minBlockShards = 32
)

// SendOptions configure Send. Zero values take the defaults above.
type SendOptions struct {
	// To is the receiver's address; it is ignored when conn is
	// connected (net.DialUDP), which is needed to hear of refused
	// packets.
	To net.Addr
	// Rate is the wire rate in bits per second that the sender holds
	// from first packet to last: IP and UDP headers, Sluice headers,
	// announcements and parity included (Ethernet framing not).
	Rate int64
	// Overhead is the parity sent per pass as a fraction of the data
	// shards, up to 1 (0.20 sends 20 % more packets than the data
	// needs); 0 takes DefaultOverhead and a negative value sends none.
	// Each block has as many parity shards as data shards; a pass sends
	// ⌈k×Overhead⌉ of them, and the next pass others.
	Overhead float64
	// MTU is the link's MTU in bytes; packets are MTU − 28 bytes over
	// IPv4 and MTU − 48 over IPv6, never fragmented.
	MTU int
	// Passes is how many times every block is sent, each time with
	// different shards (at least 1). Carousel sends until ctx is done.
	Passes   int
	Carousel bool
	// Interleave is how many blocks' shards are sent interleaved: a burst
	// of L lost packets costs each block at most ⌈L/Interleave⌉ shards.
	Interleave int
	// Station and Signer name and sign as the sending station; the
	// receiver must trust Signer's public key.
	Station string
	Signer  ssh.Signer
	// Progress, if set, is called about ten times a second from Send's
	// goroutine, and once at the end.
	Progress func(SendProgress)

	// testDrop, set by tests, drops packets by sequence number after
	// they are paced: a lossy link without a relay's cost.
	testDrop func(seq uint32) bool
}

func seqOf(p []byte) uint32 { return binary.BigEndian.Uint32(p[12:16]) }

// SendProgress is a snapshot of a running Send.
type SendProgress struct {
	// Hashing is set while the bundles are read and hashed before the
	// first packet; DataBytes and TotalBytes then count that reading.
	Hashing    bool
	Pass       int   // current pass, from 0
	Packets    int64 // packets handed to the kernel
	WireBytes  int64 // their bytes with IP and UDP headers
	Errors     int64 // packets the kernel refused (counted, not retried)
	DataBytes  int64 // payload bytes of the current pass sent so far
	TotalBytes int64 // payload bytes of one pass
	Elapsed    time.Duration
}

// SentBundle describes one bundle of a session.
type SentBundle struct {
	Dir    string
	ID     string
	Bytes  int64 // payload bytes (all volumes)
	Blocks int
}

// SendReport says what a Send did.
type SendReport struct {
	Session    string // 16 hex digits
	Bundles    []SentBundle
	PacketSize int   // UDP payload bytes of every packet
	Packets    int64 // packets handed to the kernel
	WireBytes  int64 // their bytes with IP and UDP headers
	Passes     int   // passes completed
	// SendErrors counts packets the kernel refused (ECONNREFUSED after an
	// ICMP port unreachable, ENOBUFS, …); sending went on. FirstError is
	// the first of them.
	SendErrors int64
	FirstError string
	// Behind is how long, in all, the sender could not make packets as
	// fast as its rate asked (CPU or disk too slow): the rate achieved
	// falls short by about Behind over the session's length.
	Behind   time.Duration
	Started  time.Time // the first packet (after the bundles are hashed)
	Finished time.Time
}

// Rate is the wire rate achieved, in bits per second.
func (r *SendReport) Rate() float64 {
	d := r.Finished.Sub(r.Started).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(r.WireBytes) * 8 / d
}

// sendBundle is a bundle prepared for sending.
type sendBundle struct {
	SentBundle
	env    []byte // envelope.json
	envSig []byte // envelope.json.sig
	files  []*os.File
	sizes  []int64
	k      int // data shards of a full block
	hashes []byte
	ann    []byte
}

// Send sends bundles (folders ID.sluice as Seal writes them) over conn
// in one session and returns when every pass is sent or, with Carousel,
// when ctx is done (then with a nil error). It reads every bundle once to
// hash its blocks before the first packet. It never reads from conn. A
// packet the kernel refuses is counted in the report and sending goes on;
// errors are returned only for bundles that cannot be read, a bundle that
// changes while it is sent, bad options, or ctx ending a non-carousel send
// (ctx's cause, with the report so far).
func Send(ctx context.Context, conn net.PacketConn, bundles []string, opt SendOptions) (*SendReport, error) {
	if opt.Signer == nil {
		return nil, errors.New("diode send: no signing key")
	}
	if t := opt.Signer.PublicKey().Type(); t != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("diode send: signing key is %s; stations sign with ssh-ed25519", t)
	}
	if err := crypto.ValidName(opt.Station); err != nil {
		return nil, fmt.Errorf("diode send: station name: %w", err)
	}
	if len(bundles) == 0 || len(bundles) > 1<<16 {
		return nil, fmt.Errorf("diode send: %d bundles; send 1 to 65536", len(bundles))
	}
	seen := map[string]bool{}
	for _, b := range bundles {
		id := filepath.Base(filepath.Clean(b))
		if seen[id] {
			return nil, fmt.Errorf("diode send: %s is given twice", id)
		}
		seen[id] = true
	}
	if connected(conn) {
		opt.To = nil
	}
	if opt.To == nil && !connected(conn) {
		return nil, errors.New("diode send: no destination: set To or pass a connected socket")
	}
	if opt.Rate == 0 {
		opt.Rate = DefaultRate
	}
	if opt.Rate < 10_000 {
		return nil, fmt.Errorf("diode send: rate %d bit/s is below 10 kbit/s", opt.Rate)
	}
	switch {
	case opt.Overhead == 0:
		opt.Overhead = DefaultOverhead
	case opt.Overhead < 0:
		opt.Overhead = 0 // no parity in a pass; later passes still rotate
	}
	if opt.Overhead > 1 {
		return nil, fmt.Errorf("diode send: FEC overhead %.2f is outside 0 to 1", opt.Overhead)
	}
	if opt.MTU == 0 {
		opt.MTU = DefaultMTU
	}
	if opt.Passes < 1 {
		opt.Passes = 1
	}
	if opt.Interleave < 1 {
		opt.Interleave = DefaultInterleave
	}
	dst := opt.To
	if dst == nil {
		dst = conn.(interface{ RemoteAddr() net.Addr }).RemoteAddr()
	}
	v6 := false
	if ua, ok := dst.(*net.UDPAddr); ok && ua.IP.To4() == nil {
		v6 = true
	}
	if minMTU := map[bool]int{false: 576, true: 1280}[v6]; opt.MTU < minMTU || opt.MTU > 65535 {
		return nil, fmt.Errorf("diode send: MTU %d is outside %d to 65535", opt.MTU, minMTU)
	}
	psize := PacketSize(opt.MTU, v6)
	ipHdr := ipv4Headers
	if v6 {
		ipHdr = ipv6Headers
	}

	s := &sender{
		opt: opt, psize: psize, ssize: shardSize(psize),
		report: &SendReport{PacketSize: psize, Started: time.Now()},
	}
	rand.Read(s.session[:])
	macKey := make([]byte, 32)
	rand.Read(macKey)
	s.report.Session = hex.EncodeToString(s.session[:])
	s.dataMAC = newMAC(macKey)
	s.annMAC = newMAC(announceKey(s.session))
	defer s.close()
	for i, dir := range bundles {
		b, err := s.prepare(ctx, dir)
		if err != nil {
			return nil, err
		}
		b.ann, err = marshalAnnouncement(&annBody{
			Format: AnnouncementFormat, Session: s.report.Session, Bundle: i, Bundles: len(bundles),
			Station: opt.Station, SigningKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(opt.Signer.PublicKey()))),
			MACKey: hex.EncodeToString(macKey), Started: s.report.Started.UTC().Truncate(time.Second),
			ID: b.ID, Envelope: b.env, EnvelopeSig: b.envSig, Files: b.annFiles(),
			Bytes: b.Bytes, PacketSize: psize, BlockShards: b.k, Blocks: b.Blocks,
		}, b.hashes, opt.Signer)
		if err != nil {
			b.closeFiles()
			return nil, fmt.Errorf("diode send %s: %w", filepath.Base(dir), err)
		}
		s.bundles = append(s.bundles, b)
		s.report.Bundles = append(s.report.Bundles, b.SentBundle)
	}
	for i, b := range s.bundles {
		s.anns = append(s.anns, newAnnStream(uint16(i), b.ann, s.ssize, opt.Overhead))
	}
	setBuffer(conn, 4<<20, false)

	// Pacing: batches short enough (≤ 0.5 ms of the rate, at most 64
	// packets) that the wire sees a steady stream.
	wire := float64(psize + ipHdr)
	pps := float64(opt.Rate) / 8 / wire
	batch := min(max(int(pps/2000), 1), 64)
	p := newPacer(float64(opt.Rate)/8, max(maxBurst, time.Duration(float64(batch)/pps*float64(time.Second))))

	// Enough batches for 20 ms of packets (at least 16), so a producer
	// held up for a moment by the scheduler does not starve the wire.
	nb := max(16, int(pps*0.020)/batch+1)
	s.free = make(chan *pktBatch, nb)
	s.full = make(chan *pktBatch, nb)
	for range cap(s.free) {
		s.free <- &pktBatch{buf: make([]byte, batch*psize), size: psize}
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.report.Started = time.Now() // the first packet, after hashing
	var perr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(s.full)
		perr = s.produce(pctx)
		s.flush()
	}()

	bc := newBatchConn(conn, opt.To)
	pkts := make([][]byte, 0, batch)
	var lastProgress time.Time
	progress := func(final bool) {
		if opt.Progress == nil {
			return
		}
		if now := time.Now(); final || now.Sub(lastProgress) >= 100*time.Millisecond {
			lastProgress = now
			opt.Progress(SendProgress{
				Pass: int(s.pass.Load()), Packets: s.report.Packets, WireBytes: s.report.WireBytes,
				Errors: s.report.SendErrors, DataBytes: s.done.Load(), TotalBytes: s.totalBytes(),
				Elapsed: now.Sub(s.report.Started),
			})
		}
	}
	sendPkts := func(pkts [][]byte) {
		for len(pkts) > 0 {
			n, err := bc.write(pkts)
			s.report.Packets += int64(n)
			s.report.WireBytes += int64(n) * int64(wire)
			pkts = pkts[n:]
			if err != nil {
				// The packet the kernel refused is counted and dropped:
				// a one-way sender cannot do better, and must not stop.
				s.report.SendErrors++
				if s.report.FirstError == "" {
					s.report.FirstError = err.Error()
				}
				if len(pkts) > 0 {
					pkts = pkts[1:]
				}
			}
		}
	}
	var waitErr error
	for b := range s.full {
		if waitErr == nil {
			waitErr = p.wait(ctx, b.n*int(wire))
		}
		if waitErr != nil {
			cancel() // stop the producer; drain what it made
			s.free <- b
			continue
		}
		pkts = pkts[:0]
		for i := range b.n {
			if opt.testDrop != nil && opt.testDrop(seqOf(b.buf[i*psize:])) {
				continue // a loss made by a test, after pacing
			}
			pkts = append(pkts, b.buf[i*psize:(i+1)*psize])
		}
		sendPkts(pkts)
		s.free <- b
		progress(false)
	}
	wg.Wait()
	s.report.Passes = s.passesDone

	// Close the session with end packets, whatever stopped it, so that
	// receivers report what they lack at once.
	end := make([]byte, psize)
	for range endPackets {
		s.putEnd(end)
		p.wait(context.Background(), int(wire))
		sendPkts([][]byte{end})
	}
	s.report.Finished = time.Now()
	s.report.Behind = p.lost
	progress(true)
	switch {
	case perr != nil && !errors.Is(perr, context.Canceled) && !errors.Is(perr, context.DeadlineExceeded):
		return s.report, perr
	case ctx.Err() != nil && !opt.Carousel:
		return s.report, fmt.Errorf("diode send: stopped after %d packets: %w", s.report.Packets, context.Cause(ctx))
	}
	return s.report, nil
}

// pktBatch is a run of packets made by the producer, sent in one go.
type pktBatch struct {
	buf  []byte
	size int
	n    int
}

// sender holds a session's state.
type sender struct {
	opt          SendOptions
	psize, ssize int
	session      [8]byte
	seq          uint32
	dataMAC      *mac
	annMAC       *mac
	bundles      []*sendBundle
	anns         []*annStream
	annNext      int
	sinceAnn     int
	report       *SendReport
	free, full   chan *pktBatch
	cur          *pktBatch
	pass         atomic.Int64
	done         atomic.Int64
	passesDone   int
}

func (s *sender) close() {
	for _, b := range s.bundles {
		for _, f := range b.files {
			f.Close()
		}
	}
}

func (s *sender) totalBytes() int64 {
	var t int64
	for _, b := range s.bundles {
		t += b.Bytes
	}
	return t
}

// prepare opens a bundle folder, checks its files against its envelope
// and hashes every block.
func (s *sender) prepare(ctx context.Context, dir string) (*sendBundle, error) {
	name := filepath.Base(dir)
	env, err := regfile.ReadFile(filepath.Join(dir, bundle.EnvelopeName), bundle.MaxEnvelopeSize)
	if err != nil {
		return nil, fmt.Errorf("diode send %s: %w", name, err)
	}
	e, err := bundle.ParseEnvelope(env)
	if err != nil {
		return nil, fmt.Errorf("diode send %s: %w", name, err)
	}
	sig, err := regfile.ReadFile(filepath.Join(dir, bundle.EnvelopeSigName), crypto.MaxSignatureSize)
	if err != nil {
		return nil, fmt.Errorf("diode send %s: %w", name, err)
	}
	b := &sendBundle{SentBundle: SentBundle{Dir: dir, ID: e.ID, Bytes: e.Payload.Size}, env: env, envSig: sig}
	for _, v := range e.Payload.Volumes {
		f, info, err := regfile.OpenInfo(filepath.Join(dir, v.Name))
		if err != nil {
			b.closeFiles()
			return nil, fmt.Errorf("diode send %s: %w", name, err)
		}
		b.files = append(b.files, f)
		b.sizes = append(b.sizes, v.Size)
		if info.Size() != v.Size {
			b.closeFiles()
			return nil, fmt.Errorf("diode send %s: %s is %d bytes, the envelope says %d", name, v.Name, info.Size(), v.Size)
		}
	}
	shards := int((b.Bytes + int64(s.ssize) - 1) / int64(s.ssize))
	b.k = MaxShards
	if shards < s.opt.Interleave*MaxShards {
		b.k = min(max((shards+s.opt.Interleave-1)/s.opt.Interleave, min(minBlockShards, shards)), MaxShards)
	}
	b.k = max(b.k, 1)
	b.Blocks = blockCount(b.Bytes, b.k, s.ssize)
	b.hashes = make([]byte, 0, 32*b.Blocks)
	buf := make([]byte, b.k*s.ssize)
	last := time.Now()
	for i := range b.Blocks {
		if i%64 == 0 && ctx.Err() != nil {
			b.closeFiles()
			return nil, context.Cause(ctx)
		}
		if s.opt.Progress != nil && time.Since(last) >= 100*time.Millisecond {
			last = time.Now()
			s.opt.Progress(SendProgress{Hashing: true, DataBytes: int64(i) * int64(b.k) * int64(s.ssize), TotalBytes: b.Bytes})
		}
		length, _, _ := blockGeometry(b.Bytes, b.k, s.ssize, i)
		if err := b.readAt(buf[:length], int64(i)*int64(b.k)*int64(s.ssize)); err != nil {
			b.closeFiles()
			return nil, fmt.Errorf("diode send %s: %w", name, err)
		}
		h := sha256.Sum256(buf[:length])
		b.hashes = append(b.hashes, h[:]...)
	}
	return b, nil
}

func (b *sendBundle) closeFiles() {
	for _, f := range b.files {
		f.Close()
	}
	b.files = nil
}

func (b *sendBundle) annFiles() []annFile {
	var fs []annFile
	for i, f := range b.files {
		fs = append(fs, annFile{Name: filepath.Base(f.Name()), Size: b.sizes[i]})
	}
	return fs
}

// readAt fills p from the bundle's volumes taken end to end, from off.
func (b *sendBundle) readAt(p []byte, off int64) error {
	for i, f := range b.files {
		if len(p) == 0 {
			return nil
		}
		if off >= b.sizes[i] {
			off -= b.sizes[i]
			continue
		}
		n := int(min(int64(len(p)), b.sizes[i]-off))
		if _, err := f.ReadAt(p[:n], off); err != nil {
			if err == io.EOF {
				err = fmt.Errorf("%s is shorter than the envelope says", filepath.Base(f.Name()))
			}
			return err
		}
		p, off = p[n:], 0
	}
	if len(p) > 0 {
		return errors.New("read past the end of the payload")
	}
	return nil
}

// slot returns the next packet buffer, handing full batches to the sender.
func (s *sender) slot(ctx context.Context) ([]byte, error) {
	if s.cur != nil && s.cur.n*s.psize == len(s.cur.buf) {
		s.flush()
	}
	if s.cur == nil {
		select {
		case s.cur = <-s.free:
			s.cur.n = 0
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	p := s.cur.buf[s.cur.n*s.psize : (s.cur.n+1)*s.psize]
	s.cur.n++
	return p, nil
}

func (s *sender) flush() {
	if s.cur != nil && s.cur.n > 0 {
		s.full <- s.cur
		s.cur = nil
	}
}

// window is one window of blocks of a pass, read and coded: the shards of
// blocks lo..hi-1 of bundle bi that pass p sends.
type window struct {
	bi, pass, lo, hi int
	geo              []blockGeo
	sh               [][][]byte // per block, all n shards (only those sent are made)
	err              error
}

type blockGeo struct{ length, k, n, c int }

// produce makes every packet of the session in order. A second goroutine
// reads and codes the next window while this one sends the current, so
// that there is no gap between windows at the receiver.
func (s *sender) produce(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	maxK := 1
	for _, b := range s.bundles {
		maxK = max(maxK, b.k)
	}
	free := make(chan [][][]byte, 2)
	for range cap(free) {
		win := make([][][]byte, s.opt.Interleave)
		for i := range win {
			win[i] = make([][]byte, 2*maxK)
			for j := range win[i] {
				win[i][j] = make([]byte, s.ssize)
			}
		}
		free <- win
	}
	coded := make(chan *window, 1)
	var coder sync.WaitGroup
	coder.Add(1)
	go func() {
		defer coder.Done()
		s.code(ctx, free, coded)
	}()
	// On the way out, stop the coder and wait for it: it reads the
	// bundles' files, which Send closes.
	defer coder.Wait()
	defer cancel()

	for range startCopies {
		if err := s.annAll(ctx); err != nil {
			return err
		}
	}
	for w := range coded {
		if w.err != nil {
			return w.err
		}
		if w.pass > int(s.pass.Load()) {
			s.passesDone = w.pass
			s.pass.Store(int64(w.pass))
			s.done.Store(0)
		}
		if err := s.emit(ctx, w); err != nil {
			return err
		}
		free <- w.sh
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.passesDone = int(s.pass.Load()) + 1
	for range endCopies {
		if err := s.annAll(ctx); err != nil {
			return err
		}
	}
	return nil
}

// code reads and codes every window of every pass, in order.
func (s *sender) code(ctx context.Context, free chan [][][]byte, out chan<- *window) {
	defer close(out)
	w := s.opt.Interleave
	for pass := 0; s.opt.Carousel || pass < s.opt.Passes; pass++ {
		for bi, b := range s.bundles {
			// Windows of nearly equal size, so the last is not a lone
			// block that a burst takes whole.
			nwin := (b.Blocks + w - 1) / w
			for wi := range nwin {
				var sh [][][]byte
				select {
				case sh = <-free:
				case <-ctx.Done():
					return
				}
				win := &window{bi: bi, pass: pass, lo: wi * b.Blocks / nwin, hi: (wi + 1) * b.Blocks / nwin, sh: sh}
				win.err = s.codeWindow(b, win)
				select {
				case out <- win:
				case <-ctx.Done():
					return
				}
				if win.err != nil {
					return
				}
			}
		}
	}
}

// codeWindow reads the window's blocks into their data shards (zero
// padded), checks each against the hash sent in the announcement, and
// makes the parity shards this pass sends.
func (s *sender) codeWindow(b *sendBundle, w *window) error {
	w.geo = make([]blockGeo, w.hi-w.lo)
	for i := w.lo; i < w.hi; i++ {
		length, k, n := blockGeometry(b.Bytes, b.k, s.ssize, i)
		c := perPass(k, s.opt.Overhead)
		w.geo[i-w.lo] = blockGeo{length, k, n, c}
		sh := w.sh[i-w.lo][:n]
		off := int64(i) * int64(b.k) * int64(s.ssize)
		rest := length
		h := sha256.New()
		for j := range k {
			m := min(rest, s.ssize)
			sh[j] = sh[j][:s.ssize]
			if err := b.readAt(sh[j][:m], off); err != nil {
				return fmt.Errorf("diode send %s: %w", b.ID, err)
			}
			h.Write(sh[j][:m])
			clear(sh[j][m:])
			off += int64(m)
			rest -= m
		}
		if [32]byte(h.Sum(nil)) != [32]byte(b.blockHash(i)) {
			return fmt.Errorf("diode send %s: block %d changed since it was hashed: the bundle is being modified", b.ID, i)
		}
		// Make only the parity shards this pass sends.
		var rows []int
		for j := range c {
			if x := shardAt(w.pass, j, c, n); x >= k {
				rows = append(rows, x)
			}
		}
		if len(rows) == 0 {
			continue
		}
		slices.Sort(rows)
		out := make([][]byte, 0, k+len(rows))
		out = append(out, sh[:k]...)
		for _, x := range rows {
			sh[x] = sh[x][:s.ssize]
			out = append(out, sh[x])
		}
		if err := subsetCodec(k, rows).Encode(out); err != nil {
			return fmt.Errorf("diode send: encode: %w", err)
		}
	}
	return nil
}

// emit sends a coded window's packets: slot j of every block in turn, so
// consecutive packets belong to different blocks.
func (s *sender) emit(ctx context.Context, w *window) error {
	maxC := 0
	for _, g := range w.geo {
		maxC = max(maxC, g.c)
	}
	h := header{Session: s.session, Kind: kindData, Bundle: uint16(w.bi)}
	for j := range maxC {
		for i, g := range w.geo {
			if j >= g.c {
				continue
			}
			x := shardAt(w.pass, j, g.c, g.n)
			p, err := s.slot(ctx)
			if err != nil {
				return err
			}
			h.Seq, h.Block, h.Shard, h.K, h.N, h.Length = s.seq, uint32(w.lo+i), uint8(x), g.k, g.n, uint32(g.length)
			s.seq++
			putHeader(p, &h)
			copy(p[HeaderSize:], w.sh[i][x][:s.ssize])
			s.dataMAC.seal(p)
			if s.sinceAnn++; s.sinceAnn >= annEvery {
				s.sinceAnn = 0
				if err := s.annOne(ctx); err != nil {
					return err
				}
			}
		}
	}
	for _, g := range w.geo {
		s.done.Add(int64(g.length))
	}
	return nil
}

func (b *sendBundle) blockHash(i int) []byte { return b.hashes[32*i : 32*i+32] }

// annOne sends the next announcement packet of the round-robin stream.
func (s *sender) annOne(ctx context.Context) error {
	a := s.anns[s.annNext]
	blk, x := a.next()
	if a.pos == 0 { // that emission is over: the next bundle's turn
		s.annNext = (s.annNext + 1) % len(s.anns)
	}
	return s.annPacket(ctx, a, blk, x)
}

// annAll sends one whole emission of every bundle's announcement.
func (s *sender) annAll(ctx context.Context) error {
	for _, a := range s.anns {
		start := a.emission
		for a.emission == start {
			blk, x := a.next()
			if err := s.annPacket(ctx, a, blk, x); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *sender) annPacket(ctx context.Context, a *annStream, blk, x int) error {
	p, err := s.slot(ctx)
	if err != nil {
		return err
	}
	_, k, n := blockGeometry(int64(len(a.raw)), MaxShards, s.ssize, blk)
	h := header{Session: s.session, Seq: s.seq, Kind: kindAnnounce, Bundle: a.bundle, Block: uint32(blk),
		Shard: uint8(x), K: k, N: n, Length: uint32(len(a.raw))}
	s.seq++
	putHeader(p, &h)
	copy(p[HeaderSize:], a.shards[blk][x])
	s.annMAC.seal(p)
	return nil
}

// putEnd fills p with an end-of-session packet: after the header, the
// packets sent before it (u32) and the passes completed (u32).
func (s *sender) putEnd(p []byte) {
	clear(p)
	h := header{Session: s.session, Seq: s.seq, Kind: kindEnd, K: 1, N: 1}
	s.seq++
	putHeader(p, &h)
	binary.BigEndian.PutUint32(p[HeaderSize:], h.Seq)
	binary.BigEndian.PutUint32(p[HeaderSize+4:], uint32(s.passesDone))
	s.dataMAC.seal(p)
}

// annStream is a bundle's announcement, coded into blocks of shards, and
// where its next packet is in the rotation.
type annStream struct {
	bundle   uint16
	raw      []byte
	shards   [][][]byte // per block, all n shards
	order    [][2]int   // (block, slot) of one emission
	c        []int      // shards per emission of each block
	emission int
	pos      int
}

func newAnnStream(bundle uint16, raw []byte, ssize int, overhead float64) *annStream {
	a := &annStream{bundle: bundle, raw: raw}
	blocks := blockCount(int64(len(raw)), MaxShards, ssize)
	maxC := 0
	for i := range blocks {
		length, k, n := blockGeometry(int64(len(raw)), MaxShards, ssize, i)
		sh := make([][]byte, n)
		off := i * MaxShards * ssize
		for j := range n {
			sh[j] = make([]byte, ssize)
			if j < k {
				copy(sh[j], raw[off+j*ssize:off+min((j+1)*ssize, length)])
			}
		}
		if err := codec(k).Encode(sh); err != nil {
			panic("diode: encode announcement: " + err.Error())
		}
		a.shards = append(a.shards, sh)
		// An emission sends at least a quarter more than the data, so
		// one emission survives some loss by itself.
		c := perPass(k, max(overhead, 0.25))
		a.c = append(a.c, c)
		maxC = max(maxC, c)
	}
	for j := range maxC {
		for i := range blocks {
			if j < a.c[i] {
				a.order = append(a.order, [2]int{i, j})
			}
		}
	}
	return a
}

// next returns the block and shard of the next announcement packet.
func (a *annStream) next() (blk, shard int) {
	o := a.order[a.pos]
	blk = o[0]
	shard = shardAt(a.emission, o[1], a.c[blk], len(a.shards[blk]))
	if a.pos++; a.pos == len(a.order) {
		a.pos = 0
		a.emission++
	}
	return blk, shard
}
