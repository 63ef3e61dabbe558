package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

var (
	diodeBench  = flag.Bool("diode", true, "measure the diode: wire rate, 20 transfers through loss, the loss curve beside udpcast, the highest lossless rate")
	diodeRate   = flag.String("diode-rate", "400M", "the rate of the lossy runs and the loss curve (sender, relay and receiver share the machine's cores)")
	diodeRuns   = flag.Int("diode-runs", 20, "transfers in a row for the lossy and lossless bars")
	diodeUDPC   = flag.Int("diode-udpcast-runs", 5, "udpcast transfers beside the lossy ones (udp-sender is slower; 5 keep the section near 7 minutes)")
	diodeCurve  = flag.Int("diode-curve-reps", 3, "transfers per point of the loss curve, each tool")
	diodeCurveM = flag.Int("diode-curve-mib", 64, "bundle size of the loss curve in MiB")
	diodeTop    = flag.Bool("diode-highest", true, "search the highest lossless rate (20 transfers per rate)")
	diodePNG    = flag.String("diode-png", "docs/diode-loss-curve.png", "where to draw the loss curve (empty: not drawn)")
)

// diode measures `sluice diode send` and `sluice diode receive` as
// processes on loopback, with the bench's relay (relay.go) between them
// where loss is asked for, and udpcast's udp-sender/udp-receiver through
// the same relay. It prints its tables and returns whether every bar was
// met.
func (b *bench) diode() bool {
	rate, err := parseRate(*diodeRate)
	if err != nil {
		fatalf("-diode-rate: %v", err)
	}
	d := &diodeRun{bench: b, inboxes: filepath.Join(b.root, "diode-inbox")}
	note, restore := raiseRmemMax(udpcastRcvbuf)
	defer restore()
	prev := cleanup
	cleanup = func() { restore(); prev() }
	fmt.Printf("Diode (%s, %d cores, load average %s; loopback, sender, relay and receiver on this machine):\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), loadAverage())
	fmt.Println("  building bundles…")
	if note != "" {
		fmt.Println("  " + note)
	}
	big := d.bundle("diode-256", 256<<20)
	curve := d.bundle("diode-curve", int64(*diodeCurveM)<<20)
	ok := true
	fmt.Println()
	ok = d.wireRate(big, curve) && ok
	fmt.Println()
	ok = d.lossy(big, rate) && ok
	fmt.Println()
	ok = d.curve(curve, rate) && ok
	if *diodeTop {
		fmt.Println()
		ok = d.highest(big) && ok
	}
	fmt.Println("  load average at the end:", loadAverage())
	return ok
}

type diodeRun struct {
	*bench
	inboxes string
	n       int // transfers so far, for folder names and seeds
}

// sealed is a bundle to send: its folder, the SHA-256 of each of its
// files (to check what arrives), and its payload as one file for udpcast.
type sealed struct {
	dir     string
	sums    map[string][sha256.Size]byte
	bytes   int64 // all the bundle's files
	payload string
}

func (d *diodeRun) bundle(name string, size int64) sealed {
	data := d.dataset(name, func(dir string) { writeRandom(filepath.Join(dir, "data.bin"), size, uint64(size)) })
	out := filepath.Join(d.root, name+"-out")
	reset(out)
	mustRun(d.bin, "--home", d.sender, "pack", "--to", "bench-kiosk", "--out", out, data)
	s := sealed{dir: lastBundle(out), sums: map[string][sha256.Size]byte{}}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		fatalf("%v", err)
	}
	s.payload = filepath.Join(d.root, name+".payload")
	pf, err := os.Create(s.payload)
	if err != nil {
		fatalf("%v", err)
	}
	for _, e := range ents {
		f, err := os.Open(filepath.Join(s.dir, e.Name()))
		if err != nil {
			fatalf("%v", err)
		}
		h := sha256.New()
		w := io.Writer(h)
		if strings.HasPrefix(e.Name(), "payload.age.") {
			w = io.MultiWriter(h, pf)
		}
		n, err := io.Copy(w, f)
		f.Close()
		if err != nil {
			fatalf("%v", err)
		}
		s.bytes += n
		s.sums[e.Name()] = [sha256.Size]byte(h.Sum(nil))
	}
	if err := pf.Close(); err != nil {
		fatalf("%v", err)
	}
	os.RemoveAll(data)
	return s
}

// intact says whether dir holds exactly the bundle's files, byte for byte.
func (s sealed) intact(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != len(s.sums) {
		return false
	}
	for _, e := range ents {
		want, ok := s.sums[e.Name()]
		if !ok || fileSum(filepath.Join(dir, e.Name())) != want {
			return false
		}
	}
	return true
}

func fileSum(path string) [sha256.Size]byte {
	f, err := os.Open(path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return [sha256.Size]byte(h.Sum(nil))
}

// stampWriter keeps a receiver's output and the time its marker first
// appeared in it: when the receiver said the bundle was in (Sluice's
// "--once" lingers a second after that for stray packets of the session).
type stampWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	at     time.Time
}

func (w *stampWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.at.IsZero() && bytes.Contains(w.buf.Bytes(), []byte(w.marker)) {
		w.at = time.Now()
	}
	return len(p), nil
}

func (w *stampWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// when is the marker's time, or now if it never came.
func (w *stampWriter) when() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.at.IsZero() {
		return time.Now()
	}
	return w.at
}

// outcome is one transfer.
type outcome struct {
	ok      bool
	elapsed time.Duration // sender started → receiver said the bundle was in
	goodput float64       // bundle bits per second of elapsed, when ok
	// link is the goodput on the link: bundle bits per second from the
	// first packet the relay saw to the receiver saying the bundle was in
	// (no relay: 0).
	link   float64
	wire   float64 // the sender's wire rate, as it reports it (Sluice)
	rcvbuf int64   // UDP RcvbufErrors during the transfer (the kernel dropped a datagram for a full socket buffer)
	relay  relayStats
	why    string
}

// sluice sends s through the diode with the CLI, through a relay with rule
// when rule is not nil, and checks what arrived.
func (d *diodeRun) sluice(s sealed, rate int64, fec float64, rule *lossRule, seed uint64) outcome {
	d.n++
	inbox := filepath.Join(d.inboxes, strconv.Itoa(d.n))
	reset(inbox)
	port := freePort(false)
	listen := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	before := rcvbufErrors()
	recv := exec.Command(d.bin, "--home", d.kiosk, "diode", "receive", "--listen", listen.String(), "--inbox", inbox, "--once")
	rout := &stampWriter{marker: "Arrived: bundle"}
	recv.Stdout, recv.Stderr = rout, rout
	if err := recv.Start(); err != nil {
		fatalf("%v", err)
	}
	if !waitListening(port, 10*time.Second) {
		recv.Process.Kill()
		recv.Wait()
		fatalf("sluice diode receive did not listen on %v: %s", listen, rout.String())
	}
	to := listen
	var rl *relay
	if rule != nil {
		var err error
		if rl, err = newRelay(0, 0, listen, *rule, seed); err != nil {
			fatalf("relay: %v", err)
		}
		to = rl.addr()
	}
	start := time.Now()
	send := exec.Command(d.bin, "--home", d.sender, "diode", "send", "--to", to.String(), "--rate", strconv.FormatInt(rate, 10),
		"--fec", fmt.Sprintf("%g%%", fec*100), s.dir)
	sout, serr := send.CombinedOutput()
	rerr := waitTimeout(recv, 60*time.Second)
	end := rout.when()
	o := outcome{elapsed: end.Sub(start), rcvbuf: rcvbufErrors() - before}
	if rl != nil {
		rl.close()
		o.relay = rl.stats()
	}
	o.wire = parseWire(string(sout))
	got := filepath.Join(inbox, filepath.Base(s.dir))
	switch {
	case serr != nil:
		o.why = fmt.Sprintf("sender: %v: %s", serr, lastLine(string(sout)))
	case rerr != nil:
		o.why = fmt.Sprintf("receiver: %v: %s", rerr, lastLine(rout.String()))
	case !s.intact(got):
		o.why = "receiver exited 0 but the bundle in the inbox differs"
	default:
		o.ok = true
		o.goodput = float64(s.bytes*8) / o.elapsed.Seconds()
		if !o.relay.first.IsZero() {
			o.link = float64(s.bytes*8) / end.Sub(o.relay.first).Seconds()
		}
	}
	reset(inbox)
	return o
}

// udpcast sends s's payload with udp-sender --async through the relay to
// udp-receiver, with FEC of the given overhead (stripes of 128 packets,
// interleaved 8 deep: --fec 8xR/128), and checks what arrived. The relay
// forwards only from sender to receiver, so the link is one-way for
// udpcast too: udp-receiver's requests are counted and dropped.
func (d *diodeRun) udpcast(s sealed, rate int64, fec float64, rule *lossRule, seed uint64) outcome {
	d.n++
	out := filepath.Join(d.inboxes, strconv.Itoa(d.n))
	reset(out)
	file := filepath.Join(out, "payload")
	rport, sport := freePort(true), freePort(true)
	for sport == rport {
		sport = freePort(true)
	}
	before := rcvbufErrors()
	recv := exec.Command("udp-receiver", "--interface", "lo", "--portbase", strconv.Itoa(rport), "--mcast-rdv-address", "127.0.0.1",
		"--rcvbuf", strconv.Itoa(udpcastRcvbuf), "--nokbd", "--file", file, "--start-timeout", "20", "--receive-timeout", "5")
	rout := &stampWriter{marker: "Transfer complete."}
	recv.Stdout, recv.Stderr = rout, rout
	if err := recv.Start(); err != nil {
		fatalf("%v", err)
	}
	if !waitListening(rport, 10*time.Second) {
		recv.Process.Kill()
		recv.Wait()
		fatalf("udp-receiver did not listen on port %d: %s", rport, rout.String())
	}
	r := lossRule{}
	if rule != nil {
		r = *rule
	}
	// udp-receiver takes packets only from its port base or the port
	// above, and sends its connection requests, even in async mode, to
	// the latter: the relay forwards from there, and what comes back
	// there is counted and dropped.
	rl, err := newRelay(sport, rport+1, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: rport}, r, seed)
	if err != nil {
		fatalf("relay: %v", err)
	}
	start := time.Now()
	send := exec.Command("udp-sender", "--interface", "lo", "--portbase", strconv.Itoa(sport), "--mcast-rdv-address", "127.0.0.1",
		"--mcast-data-address", "127.0.0.1", "--async", "--fec", fmt.Sprintf("8x%d/128", int(128*fec+0.5)),
		"--max-bitrate", fmt.Sprintf("%dk", rate/1000), "--nokbd", "--autostart", "1", "--rexmit-hello-interval", "100", "--file", s.payload)
	sout, serr := send.CombinedOutput()
	rerr := waitTimeout(recv, 60*time.Second)
	end := rout.when()
	o := outcome{elapsed: end.Sub(start), rcvbuf: rcvbufErrors() - before}
	rl.close()
	o.relay = rl.stats()
	o.wire = o.relay.wire()
	switch {
	case serr != nil:
		o.why = fmt.Sprintf("udp-sender: %v: %s", serr, lastLine(string(sout)))
	case rerr != nil:
		o.why = fmt.Sprintf("udp-receiver: %v: %s", rerr, udpcastWhy(rout.String()))
	case fileSum(file) != fileSum(s.payload):
		o.why = "udp-receiver exited 0 but the file differs"
	default:
		o.ok = true
		st, _ := os.Stat(s.payload)
		o.goodput = float64(st.Size()*8) / o.elapsed.Seconds()
		o.link = float64(st.Size()*8) / end.Sub(o.relay.first).Seconds()
	}
	reset(out)
	return o
}

// wireRate: without loss, sender straight to receiver, three transfers at
// each rate up to 1 Gbit/s (256 MiB; the curve's bundle at 100 Mbit/s):
// the median wire rate the sender held, and the datagrams the receiving
// kernel dropped for a full socket buffer in all three.
func (d *diodeRun) wireRate(s, small sealed) bool {
	const reps = 3
	fmt.Printf("Diode wire rate (%d transfers each, median; 256 MiB bundle, %d MiB at 100 Mbit/s; no loss, sender straight to receiver, --fec 20%%):\n",
		reps, *diodeCurveM)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "--rate\twire rate held\tof the rate\tneeds\tRcvbufErrors\tintact\tverdict\t")
	all := true
	for _, rate := range []int64{100e6, 500e6, 1e9} {
		b := s
		if rate < 500e6 {
			b = small // 256 MiB would take 20 s at 100 Mbit/s
		}
		var os []outcome
		for i := range reps {
			o := d.sluice(b, rate, 0.20, nil, 0)
			d.progress(fmt.Sprintf("wire %s %d", fmtRate(rate), i+1), o)
			os = append(os, o)
		}
		w := medianWire(os)
		ok := succeeded(os) == reps && w >= 0.95*float64(rate) && rcvbufOf(os) == 0
		all = all && ok
		fmt.Fprintf(tw, "%s\t%s\t%.1f %%\t≥ 95 %%, 0 drops\t%d\t%d of %d\t%s\t\n", fmtRate(rate), fmtRate(int64(w)), 100*w/float64(rate),
			rcvbufOf(os), succeeded(os), reps, verdictOf(ok))
	}
	tw.Flush()
	return all
}

// lossy: 20 transfers in a row through 5 % random loss and a 100-packet
// burst in the middle, with 25 % FEC, one pass.
func (d *diodeRun) lossy(s sealed, rate int64) bool {
	const fec = 0.25
	fmt.Printf("Diode through 5 %% random loss + a 100-packet burst, --fec 25%%, one pass, %d × 256 MiB at --rate %s\n", *diodeRuns, fmtRate(rate))
	fmt.Printf("(%s, because sender, relay and receiver share %d cores with whatever else runs, the relay copies every packet through\n",
		fmtRate(rate), runtime.NumCPU())
	fmt.Println(" user space and the receiver rebuilds lost shards and fsyncs: at 500 Mbit/s all 20 arrived, but the sender fell behind its rate")
	fmt.Println(" whenever other work took a core, and so below the goodput bar; -diode-rate 500M tries it)")
	rule := lossRule{Loss: 0.05, Bursts: []burst{{expectedPackets(s.bytes, fec) / 2, 100}}}
	bar := 0.9 * (1 - fec) * float64(rate)
	var sl, uc []outcome
	for i := range *diodeRuns {
		o := d.sluice(s, rate, fec, &rule, uint64(1000+i))
		d.progress(fmt.Sprintf("lossy %d sluice", i+1), o)
		sl = append(sl, o)
	}
	if haveUdpcast() {
		for i := range *diodeUDPC {
			o := d.udpcast(s, rate, fec, &rule, uint64(1000+i))
			d.progress(fmt.Sprintf("lossy %d udpcast", i+1), o)
			uc = append(uc, o)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\tintact\tgoodput on the link, min / median\tend to end, median\tneeds\twire rate, median\tdropped by relay\tRcvbufErrors\tsent back by receiver\tverdict\t")
	okS := succeeded(sl) == len(sl) && minGoodput(sl, true) >= bar && backward(sl) == 0
	fmt.Fprintf(tw, "sluice diode\t%d of %d\t%s / %s\t%s\t%d of %d; ≥ %s; nothing back\t%s\t%s\t%d\t%d packets\t%s\t\n", succeeded(sl), len(sl),
		fmtRate(int64(minGoodput(sl, true))), fmtRate(int64(medianGoodput(sl, true))), fmtRate(int64(medianGoodput(sl, false))),
		len(sl), len(sl), fmtRate(int64(bar)), fmtRate(int64(medianWire(sl))), dropped(sl), rcvbufOf(sl), backward(sl), verdictOf(okS))
	if uc != nil {
		fmt.Fprintf(tw, "udpcast --async --fec 8x32/128\t%d of %d\t%s / %s\t%s\t(beside)\t%s\t%s\t%d\t%d packets\t–\t\n", succeeded(uc), len(uc),
			fmtRate(int64(minGoodput(uc, true))), fmtRate(int64(medianGoodput(uc, true))), fmtRate(int64(medianGoodput(uc, false))),
			fmtRate(int64(medianWire(uc))), dropped(uc), rcvbufOf(uc), backward(uc))
	}
	tw.Flush()
	for _, o := range append(sl, uc...) {
		if !o.ok {
			fmt.Println("  failed:", o.why)
			break
		}
	}
	fmt.Println("  wire rate: Sluice's as its sender reports it; udpcast's as the relay saw it (first to last packet, IP and UDP headers counted).")
	fmt.Println("  goodput on the link: the bundle's bytes over the time from the first packet the relay saw to the receiver saying it is in")
	fmt.Println("  (\"Arrived:\", after the last blocks' decoding and Sluice's fsyncs; udp-receiver's \"Transfer complete.\", without fsync); end to end:")
	fmt.Println("  from starting the sender, which reads and hashes the whole bundle before its first packet. The bar, 0.9 × (1 − overhead) × rate,")
	fmt.Println("  is on the link goodput.")
	return okS
}

// curveRow is one point of the loss curve.
type curveRow struct {
	label            string
	rule             lossRule
	sluice, udpcast  []outcome
	sluiceP, udpcstP float64 // goodput, Mbit/s (median of the intact runs)
}

// curve measures both tools against 0, 1, 5 and 10 % random loss and
// bursts of 100 and 1,000 packets, at one rate and 25 % FEC.
func (d *diodeRun) curve(s sealed, rate int64) bool {
	const fec = 0.25
	mid := expectedPackets(s.bytes, fec) / 2
	rows := []curveRow{
		{label: "no loss"},
		{label: "1 % random", rule: lossRule{Loss: 0.01}},
		{label: "5 % random", rule: lossRule{Loss: 0.05}},
		{label: "10 % random", rule: lossRule{Loss: 0.10}},
		{label: "100-packet burst", rule: lossRule{Bursts: []burst{{mid, 100}}}},
		{label: "1,000-packet burst", rule: lossRule{Bursts: []burst{{mid, 1000}}}},
	}
	uc := haveUdpcast()
	for i := range rows {
		for k := range *diodeCurve {
			seed := uint64(5000 + 10*i + k)
			o := d.sluice(s, rate, fec, &rows[i].rule, seed)
			d.progress("curve "+rows[i].label+" sluice", o)
			rows[i].sluice = append(rows[i].sluice, o)
			if uc {
				o := d.udpcast(s, rate, fec, &rows[i].rule, seed)
				d.progress("curve "+rows[i].label+" udpcast", o)
				rows[i].udpcast = append(rows[i].udpcast, o)
			}
		}
		rows[i].sluiceP, rows[i].udpcstP = medianGoodput(rows[i].sluice, true)/1e6, medianGoodput(rows[i].udpcast, true)/1e6
	}
	fmt.Printf("Diode loss curve: %d MiB bundle, --rate %s, 25 %% FEC (Sluice --fec 25%%, one pass; udpcast --fec 8x32/128), %d transfers each:\n",
		*diodeCurveM, fmtRate(rate), *diodeCurve)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "loss\tsluice intact\tsluice goodput on the link\tudpcast intact\tudpcast goodput on the link\t")
	for _, r := range rows {
		ucOK, ucP := "–", "–"
		if uc {
			ucOK, ucP = fmt.Sprintf("%d of %d", succeeded(r.udpcast), len(r.udpcast)), goodputCell(r.udpcast)
		}
		fmt.Fprintf(tw, "%s\t%d of %d\t%s\t%s\t%s\t\n", r.label, succeeded(r.sluice), len(r.sluice), goodputCell(r.sluice), ucOK, ucP)
	}
	tw.Flush()
	var all, allS []outcome
	for _, r := range rows {
		all, allS = append(all, r.udpcast...), append(allS, r.sluice...)
	}
	fmt.Printf("  wire rate, median: Sluice %s (its sender's report), udpcast %s (seen by the relay); udp-sender computes a slice's FEC\n",
		fmtRate(int64(medianWire(allS))), fmtRate(int64(medianWire(all))))
	fmt.Println("  between its sends, on one thread, so it falls short of --max-bitrate when the FEC is large")
	if *diodePNG != "" {
		if err := drawCurve(*diodePNG, rows, rate, *diodeCurveM, *diodeCurve, uc); err != nil {
			fmt.Println("  loss curve not drawn:", err)
			return false
		}
		fmt.Println("  drawn in", *diodePNG)
	}
	// The curve's bars are the issue's: intact without loss, through 5 %
	// random loss and through a 100-packet burst.
	return succeeded(rows[0].sluice) == len(rows[0].sluice) && succeeded(rows[2].sluice) == len(rows[2].sluice) &&
		succeeded(rows[4].sluice) == len(rows[4].sluice)
}

// highest searches, without loss, the highest rate at which -diode-runs
// transfers of 256 MiB all arrive intact with the rate held (a median of at
// least 95 % of it on the wire, as the sender reports): from 1 Gbit/s upward while
// they do, downward if 1 Gbit/s does not. A rate stops at its first
// failure, or after 5 transfers whose median is under 90 % of it.
func (d *diodeRun) highest(s sealed) bool {
	fmt.Printf("Diode, no loss, sender straight to receiver, --fec 20%%: the highest rate at which %d × 256 MiB all arrive, the rate held (median ≥ 95 %%)\n", *diodeRuns)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "--rate\tintact\twire rate held (median)\tgoodput end to end (median)\tRcvbufErrors\t")
	fastest := 0.0 // the highest median wire rate of a level all intact
	try := func(rate int64) bool {
		var os []outcome
		for i := range *diodeRuns {
			o := d.sluice(s, rate, 0.20, nil, 0)
			d.progress(fmt.Sprintf("highest %s %d", fmtRate(rate), i+1), o)
			os = append(os, o)
			if !o.ok {
				break
			}
			if len(os) == 5 && medianWire(os) < 0.9*float64(rate) {
				break // far from held: the sender's ceiling is below this rate
			}
		}
		fmt.Fprintf(tw, "%s\t%d of %d\t%s\t%s\t%d\t\n", fmtRate(rate), succeeded(os), len(os), fmtRate(int64(medianWire(os))),
			fmtRate(int64(medianGoodput(os, false))), rcvbufOf(os))
		for _, o := range os {
			if !o.ok {
				fmt.Fprintf(tw, "\t%s\t\t\t\t\n", o.why)
			}
		}
		if succeeded(os) == *diodeRuns {
			fastest = max(fastest, medianWire(os))
		}
		if w := medianWire(os); succeeded(os) == len(os) && w < 0.95*float64(rate) {
			// Intact, but not at this rate: the sender could not make
			// packets that fast.
			stopped := ""
			if len(os) < *diodeRuns {
				stopped = fmt.Sprintf(", stopped after %d", len(os))
			}
			fmt.Fprintf(tw, "\trate not held: %s on the wire%s\t\t\t\t\n", fmtRate(int64(w)), stopped)
			return false
		}
		return succeeded(os) == *diodeRuns
	}
	up := []int64{1e9, 1250e6, 1500e6, 2e9, 2500e6, 3e9}
	down := []int64{800e6, 500e6}
	best := int64(0)
	for _, r := range up {
		if !try(r) {
			break
		}
		best = r
	}
	if best == 0 {
		for _, r := range down {
			if try(r) {
				best = r
				break
			}
		}
	}
	tw.Flush()
	fmt.Printf("  highest rate with %d of %d intact and held: %s; fastest carried with %d of %d intact: %s on the wire\n",
		*diodeRuns, *diodeRuns, fmtRate(best), *diodeRuns, *diodeRuns, fmtRate(int64(fastest)))
	fmt.Println("  (lidi publishes 2.5 Gbit/s on its own hardware; this is loopback, sender and receiver on the same 2 cores)")
	return best >= 1e9
}

func (d *diodeRun) progress(what string, o outcome) {
	if !*verbose {
		return
	}
	state := "intact"
	if !o.ok {
		state = "FAILED: " + o.why
	}
	fmt.Fprintf(os.Stderr, "  %6.2f s  diode %s: %s, goodput %s (link %s), wire %s, relay dropped %d of %d, sent back %d, RcvbufErrors %d\n", o.elapsed.Seconds(), what,
		state, fmtRate(int64(o.goodput)), fmtRate(int64(o.link)), fmtRate(int64(o.wire)), o.relay.dropped, o.relay.seen, o.relay.backward, o.rcvbuf)
}

// expectedPackets estimates a transfer's data packets (1,424-byte shards,
// the overhead's parity): where to put a burst "in the middle".
func expectedPackets(bytes int64, fec float64) int64 {
	return int64(float64(bytes) / 1424 * (1 + fec))
}

func succeeded(os []outcome) int {
	n := 0
	for _, o := range os {
		if o.ok {
			n++
		}
	}
	return n
}

// goodputs lists the goodput of the intact runs, in order: on the link
// (first packet to the receiver's exit) or end to end.
func goodputs(os []outcome, link bool) []float64 {
	var g []float64
	for _, o := range os {
		if o.ok {
			if link {
				g = append(g, o.link)
			} else {
				g = append(g, o.goodput)
			}
		}
	}
	sort.Float64s(g)
	return g
}

func medianGoodput(os []outcome, link bool) float64 {
	g := goodputs(os, link)
	if len(g) == 0 {
		return 0
	}
	return g[len(g)/2]
}

// minGoodput is the lowest goodput of all runs (0 if any failed).
func minGoodput(os []outcome, link bool) float64 {
	g := goodputs(os, link)
	if len(g) == 0 || len(g) < len(os) {
		return 0
	}
	return g[0]
}

func goodputCell(os []outcome) string {
	if succeeded(os) == 0 {
		return "–"
	}
	return fmtRate(int64(medianGoodput(os, true)))
}

func dropped(os []outcome) string {
	var d, s int64
	for _, o := range os {
		d += o.relay.dropped
		s += o.relay.seen
	}
	if s == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f %%", 100*float64(d)/float64(s))
}

func medianWire(os []outcome) float64 {
	var w []float64
	for _, o := range os {
		w = append(w, o.wire)
	}
	if len(w) == 0 {
		return 0
	}
	sort.Float64s(w)
	return w[len(w)/2]
}

// backward counts what the receivers sent back towards the sender (the
// relay drops it).
func backward(os []outcome) int64 {
	var n int64
	for _, o := range os {
		n += o.relay.backward
	}
	return n
}

func rcvbufOf(os []outcome) int64 {
	var n int64
	for _, o := range os {
		n += o.rcvbuf
	}
	return n
}

func yesNo(ok bool, why string) string {
	if ok {
		return "yes"
	}
	return "no: " + why
}

// parseRate reads a rate in bit/s with an optional k, M or G suffix.
func parseRate(s string) (int64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, strings.TrimSuffix(s, "G")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad rate %q (e.g. 500M)", s)
	}
	return int64(f * mult), nil
}

func fmtRate(r int64) string {
	switch {
	case r >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", float64(r)/1e9)
	case r > 0:
		return fmt.Sprintf("%.0f Mbit/s", float64(r)/1e6)
	}
	return "–"
}

// rcvbufErrors reads the Udp RcvbufErrors counter of /proc/net/snmp:
// datagrams the kernel dropped because a socket's receive buffer was full.
func rcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// freePort finds a free loopback UDP port (an even one, with the next one
// free too, for udpcast's port base).
func freePort(even bool) int {
	for {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			fatalf("%v", err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if !even {
			return p
		}
		if p%2 != 0 || p > 65000 {
			continue
		}
		c2, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if err == nil {
			c2.Close()
			return p
		}
	}
}

// waitListening waits until a UDP socket is bound to port, from
// /proc/net/udp.
func waitListening(port int, limit time.Duration) bool {
	want := fmt.Sprintf(":%04X ", port)
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile("/proc/net/udp")
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 2 && strings.HasSuffix(f[1]+" ", want) {
				return true
			}
		}
	}
	return false
}

// waitTimeout waits for cmd, killing it after limit.
func waitTimeout(cmd *exec.Cmd, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("still running after %v, killed", limit)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return shorten(s)
}

// udpcastRcvbuf is the socket buffer udp-receiver is asked for (--rcvbuf),
// as much as Sluice's receiver asks; its manual says to raise rmem_max for
// it, which raiseRmemMax does for the bench.
const udpcastRcvbuf = 64 << 20

// raiseRmemMax raises net.core.rmem_max to n while the bench runs, where
// it is lower and the bench may, and returns what it did and how to undo
// it.
func raiseRmemMax(n int64) (string, func()) {
	const path = "/proc/sys/net/core/rmem_max"
	b, err := os.ReadFile(path)
	if err != nil {
		return "", func() {}
	}
	old, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || old >= n {
		return "", func() {}
	}
	if err := os.WriteFile(path, []byte(strconv.FormatInt(n, 10)), 0o644); err != nil {
		return fmt.Sprintf("net.core.rmem_max is %d and could not be raised (%v): udp-receiver gets less buffer than Sluice", old, err), func() {}
	}
	return fmt.Sprintf("net.core.rmem_max raised from %d to %d for the diode runs (udpcast's manual asks for it; Sluice's receiver takes its 64 MiB with SO_RCVBUFFORCE)", old, n),
		func() { os.WriteFile(path, []byte(strconv.FormatInt(old, 10)), 0o644) }
}

// loadAverage is the first three figures of /proc/loadavg: other work on a
// shared machine moves every figure here.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// udpcastWhy picks udp-receiver's reason for failing from its output: in
// async mode it gives up on the first slice its FEC cannot rebuild, lists
// the blocks it missed, and exits 1 after printing "Transfer complete.".
func udpcastWhy(out string) string {
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", "\n"), "\n") {
		if strings.HasPrefix(l, "Blocks received:") {
			return "a slice lost more than its FEC rebuilds (" + strings.TrimSpace(l) + ")"
		}
	}
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", "\n"), "\n") {
		if ll := strings.ToLower(l); strings.Contains(ll, "timeout") || strings.Contains(ll, "error") || strings.Contains(ll, "dropped") {
			return shorten(strings.TrimSpace(l))
		}
	}
	return lastLine(out)
}

func haveUdpcast() bool {
	_, e1 := exec.LookPath("udp-sender")
	_, e2 := exec.LookPath("udp-receiver")
	return e1 == nil && e2 == nil
}

// parseWire finds the wire rate in the sender's report: the figure before
// "bit/s" on its last line that has one.
func parseWire(out string) float64 {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		for j := 1; j < len(f); j++ {
			unit := strings.TrimRight(f[j], ",;)")
			mult := map[string]float64{"bit/s": 1, "kbit/s": 1e3, "Mbit/s": 1e6, "Gbit/s": 1e9}[unit]
			if mult == 0 {
				continue
			}
			if v, err := strconv.ParseFloat(strings.TrimLeft(f[j-1], "("), 64); err == nil {
				return v * mult
			}
		}
	}
	return 0
}
