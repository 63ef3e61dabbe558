package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/crypto/ssh"

	"sluice/internal/regfile"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/diode"
)

// DiodeSendRequest is what an officer asks to send through a data diode.
type DiodeSendRequest struct {
	// To is the receiver's HOST:PORT.
	To string
	// Bundles are bundle folders (ID.sluice) sealed on this station.
	Bundles []string
	// Rate is the wire rate in bit/s (0: diode.DefaultRate); Overhead the
	// parity per pass (0: the default, 20%); MTU the link's (0: 1500).
	Rate     int64
	Overhead float64
	MTU      int
	// Passes sends every block this many times with different parity
	// (0: once); Carousel sends until ctx is done.
	Passes   int
	Carousel bool
	Progress func(diode.SendProgress)
}

// DiodeSend sends sealed bundles through a diode in one session, and
// records a "sent" record per bundle: the session, the link, the rate
// and parity, the passes and packets, and the packets the kernel refused
// (counted, never fatal: nothing answers through a diode). Each bundle
// is opened and checked complete first. A send that stops early is
// recorded as cancelled or failed.
func (s *Station) DiodeSend(ctx context.Context, req DiodeSendRequest) (*diode.SendReport, error) {
	if len(req.Bundles) == 0 {
		return nil, errors.New("nothing to send: name at least one bundle folder")
	}
	type sent struct {
		env  *bundle.Envelope
		dir  string
		peer string
	}
	var bs []sent
	for _, dir := range req.Bundles {
		d, err := ResolveMediaPath(dir)
		if err != nil {
			return nil, fmt.Errorf("send %s: %w", dir, err)
		}
		b, err := bundle.Open(d)
		if err != nil {
			return nil, fmt.Errorf("send %s: %w", dir, err)
		}
		if b.Envelope.Sender.SigningKey != s.Card().SigningKeyString() {
			return nil, fmt.Errorf("send %s: bundle %s was sealed by %s, not by this station; only the station that sealed a bundle can announce it through the diode (the receiver refuses any other)",
				dir, b.Envelope.ID, safetext.Line(b.Envelope.Sender.Name))
		}
		var peers []string
		for _, r := range b.Envelope.Recipients {
			peers = append(peers, r.Name)
		}
		bs = append(bs, sent{b.Envelope, d, strings.Join(peers, ",")})
	}
	addr, err := net.ResolveUDPAddr("udp", req.To)
	if err != nil {
		return nil, fmt.Errorf("diode address %q: %w; give HOST:PORT", req.To, err)
	}
	// Connected, so a refused packet (nobody listening) is reported and
	// counted; nothing is ever read from it.
	conn, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		return nil, fmt.Errorf("open the diode link to %s: %w; check the address and that this machine has a route to it", req.To, err)
	}
	defer conn.Close()
	dirs := make([]string, len(bs))
	for i, b := range bs {
		dirs[i] = b.dir
	}
	rep, err := diode.Send(ctx, conn, dirs, diode.SendOptions{Rate: req.Rate, Overhead: req.Overhead, MTU: req.MTU,
		Passes: req.Passes, Carousel: req.Carousel, Station: s.Name, Signer: s.Keys.Signer, Progress: req.Progress})
	outcome, why := "ok", ""
	switch {
	case errors.Is(err, context.Canceled):
		outcome, why = "cancelled", "; stopped: "+CancelReason(ctx)
	case err != nil:
		outcome, why = "failed", "; stopped: "+err.Error()
	}
	var recs []custody.Record
	for _, b := range bs {
		recs = append(recs, custody.Record{Event: custody.EventSent, Bundle: b.env.ID, Peer: b.peer, Bytes: b.env.Payload.Size,
			Path: "udp://" + addr.String(), Outcome: outcome, Reason: describeSend(rep, req) + why})
	}
	if lerr := s.recordAll(recs...); lerr != nil {
		return rep, errors.Join(err, lerr)
	}
	return rep, err
}

// describeSend says what a send did, for its record.
func describeSend(rep *diode.SendReport, req DiodeSendRequest) string {
	if rep == nil {
		return "through the diode: nothing sent"
	}
	fec := req.Overhead
	if fec == 0 {
		fec = diode.DefaultOverhead
	}
	s := fmt.Sprintf("through the diode: session %s, %d pass(es), %s packets of %d bytes, wire rate %.0f Mbit/s (asked %.0f), parity %.0f%% per pass",
		rep.Session, rep.Passes, humanize.Comma(rep.Packets), rep.PacketSize, rep.Rate()/1e6, float64(rateOr(req.Rate))/1e6, 100*max(fec, 0))
	if rep.SendErrors > 0 {
		s += fmt.Sprintf("; %s packet(s) refused by the kernel (first: %s), sending went on", humanize.Comma(rep.SendErrors), rep.FirstError)
	}
	return s
}

func rateOr(r int64) int64 {
	if r == 0 {
		return diode.DefaultRate
	}
	return r
}

// DiodeReceiveRequest is what a kiosk listens for.
type DiodeReceiveRequest struct {
	// Listen is the local HOST:PORT; Inbox the folder bundles arrive in.
	Listen string
	Inbox  string
	// Once returns after the first session's bundles have all arrived
	// or been reported incomplete; with an incomplete one, the error is
	// an *IncompleteError.
	Once bool
	// OnEvent, if set, is told everything the receiver reports (for a
	// live link panel); it must not block.
	OnEvent func(diode.Event)
	// OnArrived, if set, is called with each bundle folder that arrived
	// complete, from a goroutine of its own, one at a time (a kiosk
	// receives it from there: Receive).
	OnArrived func(dir string)
}

// IncompleteError says which bundles of a session did not arrive whole.
type IncompleteError struct{ Bundles []diode.Event }

func (e *IncompleteError) Error() string {
	var parts []string
	for _, b := range e.Bundles {
		parts = append(parts, fmt.Sprintf("%s lacks %d of %d block(s) (%s)", b.Bundle, b.Blocks-b.Have, b.Blocks, humanize.IBytes(uint64(b.MissingBytes))))
	}
	return "the diode session ended incomplete: " + strings.Join(parts, "; ") + "; what arrived is kept: a later pass or a carousel completes it (sluice diode status)"
}

// ignoredEvery bounds the "rejected" records of announcements from one
// untrusted key: one per this interval, so a hostile sender cannot fill
// the log.
const ignoredEvery = 10 * time.Minute

// DiodeReceive listens on the diode link until ctx is done (or, with
// Once, the first session ends), writing bundles into the inbox. Only
// announcements signed by a station this one trusts are followed. Custody:
// "arrived" for a bundle that arrived whole, "incomplete" for one a session
// ended without (with exactly the blocks missing), "rejected" for an
// announcement from an untrusted key (at most one per key per 10 minutes).
// The receiver never writes to its socket.
func (s *Station) DiodeReceive(ctx context.Context, req DiodeReceiveRequest) error {
	addr, err := net.ResolveUDPAddr("udp", req.Listen)
	if err != nil {
		return fmt.Errorf("diode listen address %q: %w; give HOST:PORT", req.Listen, err)
	}
	if err := os.MkdirAll(req.Inbox, 0o750); err != nil {
		return fmt.Errorf("create the diode inbox: %w", err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; another receiver may be listening there, or the address is not this machine's", req.Listen, err)
	}
	defer conn.Close()
	cards, err := s.TrustList()
	if err != nil {
		return err
	}
	trusted := func(k ssh.PublicKey) (string, bool) {
		for _, c := range cards {
			if string(c.SigningKey.Marshal()) == string(k.Marshal()) {
				return c.Name, true
			}
		}
		return "", false
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	arrivals := make(chan string, 1024)
	var wg sync.WaitGroup
	if req.OnArrived != nil {
		// Bundles that arrived before (a receiver stopped before it could
		// receive them) come first.
		for _, dir := range FindBundles(req.Inbox) {
			if !s.Seen(strings.TrimSuffix(filepath.Base(dir), bundle.DirSuffix)) && len(arrivals) < cap(arrivals) {
				arrivals <- dir
			}
		}
		wg.Go(func() {
			for dir := range arrivals {
				req.OnArrived(dir)
			}
		})
	}
	var (
		mu         sync.Mutex
		logErr     error
		session    string              // the first session's, with Once
		pending    = map[string]bool{} // its bundles not finished yet
		followed   bool                // a bundle of it was announced or already here
		idle       *time.Timer         // Once: ends the wait once nothing is pending
		incomplete []diode.Event
		ignoredAt  time.Time // the last "rejected" record of an ignored announcement
		ignoredN   int       // ignored announcements not recorded since
	)
	// Records are written by a goroutine of their own: the receiver's
	// callback must not wait on the disk (packets would be dropped).
	// None is dropped; the log refusing one stops the receiver.
	records := make(chan custody.Record, 4096)
	var recWG sync.WaitGroup
	recWG.Go(func() {
		for r := range records {
			if err := s.record(r); err != nil {
				mu.Lock()
				if logErr == nil {
					logErr = err
				}
				mu.Unlock()
				stop() // what arrives must be accounted for: stop listening
			}
		}
	})
	record := func(r custody.Record) { records <- r }
	var lastLink time.Time
	onEvent := func(e diode.Event) {
		if req.OnEvent != nil {
			req.OnEvent(e)
		}
		if e.Kind == diode.EventStats && time.Since(lastLink) >= 2*time.Second {
			lastLink = time.Now()
			st := e.Stats
			b, _ := json.Marshal(LinkStatus{Listen: req.Listen, Updated: time.Now().UTC(), RateBits: st.Rate, Loss: st.Loss,
				LastAnnouncement: st.LastAnnouncement, Dropped: st.BadTag + st.Malformed + st.Untrusted + st.HashMismatch, Refused: st.Evicted, ReadBuffer: st.ReadBuffer})
			os.WriteFile(filepath.Join(req.Inbox, linkFile), b, 0o644) // a hint for status; not durable, not needed
		}
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case diode.EventAnnounced, diode.EventDuplicate:
			// A bundle already here is reported as a duplicate instead of
			// announced: it counts as followed, and finished.
			if session == "" {
				session = e.Session
			}
			if e.Session == session {
				followed = true
				if e.Kind == diode.EventAnnounced {
					pending[e.Bundle] = true
				}
			}
		case diode.EventComplete:
			record(custody.Record{Event: custody.EventArrived, Bundle: e.Bundle, Peer: e.Station, Bytes: e.Bytes, Path: e.Path, Outcome: "ok",
				Reason: fmt.Sprintf("through the diode on %s: session %s, %d block(s), every one matching the signed announcement", req.Listen, e.Session, e.Blocks)})
			if req.OnArrived != nil {
				select {
				case arrivals <- e.Path:
				default: // a thousand waiting: it stays in the inbox for the next receive
				}
			}
		case diode.EventIncomplete:
			var missing []string
			for _, r := range e.Missing {
				missing = append(missing, r.String())
			}
			record(custody.Record{Event: custody.EventIncomplete, Bundle: e.Bundle, Peer: e.Station, Bytes: e.Bytes, Path: e.Path, Outcome: "incomplete",
				Reason: fmt.Sprintf("the diode session %s on %s ended with %d of %d block(s); missing blocks %s (%s), shards each still needs: %s; kept for a later pass",
					e.Session, req.Listen, e.Have, e.Blocks, strings.Join(missing, ","), humanize.IBytes(uint64(e.MissingBytes)), NeedsText(e.Needs))})
			if pending[e.Bundle] {
				incomplete = append(incomplete, e)
			}
		case diode.EventIgnored:
			ignoredN++
			if time.Since(ignoredAt) >= ignoredEvery {
				more := ""
				if ignoredN > 1 {
					more = fmt.Sprintf("; %d announcement(s) ignored since the last such record", ignoredN-1)
				}
				ignoredAt, ignoredN = time.Now(), 0
				record(custody.Record{Event: custody.EventRejected, Bundle: "", Outcome: "rejected", Path: "udp://" + req.Listen,
					Reason: fmt.Sprintf("diode announcement ignored: %s (key %s, claiming to be %q); nothing of it is written%s", e.Reason, e.Fingerprint, e.Station, more)})
			}
		case diode.EventError:
			record(custody.Record{Event: custody.EventIncomplete, Bundle: e.Bundle, Peer: e.Station, Path: e.Path, Outcome: "failed",
				Reason: fmt.Sprintf("writing the bundle from the diode failed: %v; its packets are ignored for the rest of session %s", e.Err, e.Session)})
		}
		// A bundle's end is not tied to one session (a later session can
		// complete it): the first session's bundles are followed by id.
		if e.Kind == diode.EventComplete || e.Kind == diode.EventIncomplete || e.Kind == diode.EventDuplicate || e.Kind == diode.EventError {
			delete(pending, e.Bundle)
		}
		// Once: the session is over when every bundle of it followed has
		// an end, and no other is announced within a second (the start
		// of a session announces every bundle of it).
		if req.Once && followed && e.Kind != diode.EventStats && e.Kind != diode.EventIgnored {
			if idle != nil {
				idle.Stop()
			}
			if len(pending) == 0 {
				idle = time.AfterFunc(time.Second, stop)
			}
		}
	}
	err = diode.Receive(ctx, conn, diode.ReceiveOptions{Inbox: req.Inbox, Trusted: trusted, OnEvent: onEvent})
	close(records)
	recWG.Wait()
	close(arrivals)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case logErr != nil:
		return fmt.Errorf("the custody log refused a record, so the receiver stopped (what arrived stays in the inbox): %w; free space in the station's home or repair the log (sluice log verify), then start it again", logErr)
	case err != nil:
		return err
	case req.Once && len(incomplete) > 0:
		return &IncompleteError{Bundles: incomplete}
	}
	return nil
}

// DiodeStatus says what the inbox holds and lacks (diode.Status).
func DiodeStatus(inbox string) ([]diode.BundleState, error) { return diode.Status(inbox) }

// SealForDiode seals req into the station's diode outbox (HOME/diode-outbox,
// kept to send again) and sends the bundle through the station's diode
// link (DiodeSettings: address, rate, parity), recording both. onSend,
// if set, is called when sending starts; progress counts the bytes of
// each pass.
func (s *Station) SealForDiode(ctx context.Context, req PackRequest, onSend func(to string), progress func(done, total int64)) (*bundle.Sealed, *diode.SendReport, error) {
	d, err := s.DesktopSettings()
	if err == nil && d.Diode.SendTo == "" {
		err = errors.New("this station has no diode link; set one on the Station screen or with sluice desktop diode")
	}
	var rate int64
	var parity float64
	if err == nil {
		if rate, err = ParseRate(d.Diode.Rate); err == nil {
			parity, err = ParseParity(d.Diode.Parity)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	outbox := filepath.Join(s.Home, "diode-outbox")
	if err := os.MkdirAll(outbox, 0o700); err != nil {
		return nil, nil, fmt.Errorf("diode outbox: %w", err)
	}
	req.OutDir, req.ReadBack = outbox, ReadBackNever
	sealed, err := s.Pack(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	if onSend != nil {
		onSend(d.Diode.SendTo)
	}
	sr := DiodeSendRequest{To: d.Diode.SendTo, Bundles: []string{sealed.Dir}, Rate: rate, Overhead: parity}
	if progress != nil {
		sr.Progress = func(p diode.SendProgress) { progress(p.DataBytes, p.TotalBytes) }
	}
	rep, err := s.DiodeSend(ctx, sr)
	return sealed, rep, err
}

// linkFile, in a diode inbox, holds the receiver's last word on the link
// (LinkStatus), for sluice diode status; rewritten every few seconds.
const linkFile = ".link.json"

// LinkStatus is what a running receiver last saw of its link.
type LinkStatus struct {
	Listen           string    `json:"listen"`
	Updated          time.Time `json:"updated"`
	RateBits         float64   `json:"rate_bits_per_second"`
	Loss             float64   `json:"loss"`
	LastAnnouncement time.Time `json:"last_announcement"`
	Dropped          uint64    `json:"dropped"` // damaged, foreign, untrusted or wrong-hash packets
	Refused          uint64    `json:"refused"` // packets refused, or partial blocks dropped, to stay within the receiver's memory
	ReadBuffer       int       `json:"read_buffer"`
}

// DiodeLink reads an inbox's LinkStatus; ok is false when no receiver
// wrote one.
func DiodeLink(inbox string) (LinkStatus, bool) {
	var l LinkStatus
	b, err := regfile.ReadFile(filepath.Join(inbox, linkFile), 64<<10)
	if err != nil || json.Unmarshal(b, &l) != nil {
		return l, false
	}
	return l, true
}

// DiodeBufferWarning says, when the kernel granted the receiver less
// socket buffer than it asked for, what that means and what to do; ""
// when it granted enough. (Linux reports twice the size it holds.)
func DiodeBufferWarning(s diode.Stats) string {
	if s.ReadBuffer == 0 || s.ReadBuffer >= diode.DefaultReadBuffer {
		return ""
	}
	held := time.Duration(float64(s.ReadBuffer/2*8) / 1e9 * float64(time.Second))
	return fmt.Sprintf("the kernel gave the receiver a %s socket buffer (asked %s): at 1 Gbit/s it holds %s of packets, and a pause longer than that loses them; raise net.core.rmem_max (docs/DIODE.md, Tuning) or run the receiver as root",
		humanize.IBytes(uint64(s.ReadBuffer/2)), humanize.IBytes(uint64(diode.DefaultReadBuffer)), held.Round(time.Millisecond))
}

// NeedsText says how many more shards the first missing blocks need:
// "block 8: 84, block 9: 83, … (and 12 more)".
func NeedsText(needs []diode.BlockNeed) string {
	const shown = 10
	var parts []string
	for i, n := range needs {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(needs)-shown))
			break
		}
		parts = append(parts, fmt.Sprintf("block %d: %d", n.Block, n.Shards))
	}
	return strings.Join(parts, ", ")
}
