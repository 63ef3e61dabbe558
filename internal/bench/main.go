// Command bench measures Sluice against the tools an officer would otherwise
// use, in the same run on the same files, and prints the ratios as a table.
// It is what `make bench` runs; it is not part of `make test`.
//
//	go run ./internal/bench -sluice ./sluice [-big=false] [-reps 5]
//
// Every timed command starts after a sync and ends by making its output
// durable (the baselines with sync, Sluice by its own fsyncs), since a
// bundle is not written until it is on the medium. Each figure is the median
// of -reps runs, the contenders interleaved so drift hits both alike.
//
// The diode's section (diode.go, -diode=false skips it) runs `sluice diode
// send` and `receive` as processes on loopback, through a lossy relay
// (relay.go) where loss is asked for, beside udpcast's udp-sender and
// udp-receiver; it draws its loss curve in docs/diode-loss-curve.png.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"sluice/app"
	"sluice/transfer/custody"
)

var (
	sluiceBin    = flag.String("sluice", "./sluice", "the sluice binary to measure")
	workDir      = flag.String("dir", "", "where to build the data (default: a new folder under $TMPDIR)")
	reps         = flag.Int("reps", 5, "runs of each command; the median counts")
	big          = flag.Bool("big", true, "also pack and receive a 4 GiB bundle to check peak memory")
	mixed        = flag.Bool("mixed", true, "pack and receive 512 MiB + 2,000 files (the content-check and scan rows use them too)")
	many         = flag.Bool("many", true, "also pack and receive 50,000 small files")
	tiny         = flag.Bool("tiny", true, "also pack and receive 200,000 files of 512 bytes in 2,000 folders")
	verbose      = flag.Bool("v", true, "print every run as it finishes")
	bundles      = flag.Bool("bundles", true, "compare pack and receive with the stock pipelines")
	custodyBench = flag.Bool("custody", true, "measure the custody log's append and verify")
	scanBench    = flag.Bool("scan", true, "measure the kiosk's clamd scan against clamdscan")
	contentBench = flag.Bool("content", true, "measure what the kiosk's content checks add to a receive")
)

type run struct {
	wall  time.Duration
	maxRS int64 // bytes
}

func main() {
	flag.Parse()
	for _, tool := range []string{"age", "tar", "sha256sum", "sync", "sh", "find", "xargs", "/usr/bin/time"} {
		if _, err := exec.LookPath(tool); err != nil {
			fatalf("%s is not installed; run packaging/deps.sh bench", tool)
		}
	}
	if *diodeBench && !haveUdpcast() {
		fatalf("udp-sender and udp-receiver (udpcast) are not installed; run packaging/deps.sh bench, or -diode=false")
	}
	bin, err := filepath.Abs(*sluiceBin)
	if err != nil {
		fatalf("%v", err)
	}
	root := *workDir
	if root == "" {
		if root, err = os.MkdirTemp("", "sluice-bench-"); err != nil {
			fatalf("%v", err)
		}
		cleanup = func() { os.RemoveAll(root) }
	}
	defer cleanup()
	trash = filepath.Join(root, "trash")
	if err := os.MkdirAll(trash, 0o755); err != nil {
		fatalf("%v", err)
	}
	if *workDir != "" {
		cleanup = func() { os.RemoveAll(trash) }
	}
	b := &bench{bin: bin, root: root}
	b.stations()

	var rows []row
	if *bundles {
		rows = b.bundleRows()
	}
	if len(rows) > 0 {
		print(rows)
		fmt.Println()
	}
	custodyOK := !*custodyBench || b.custodyLog()
	if *transformBench {
		fmt.Println()
		custodyOK = b.transformSection() && custodyOK
	}
	if *diodeBench {
		fmt.Println()
		custodyOK = b.diode() && custodyOK // every bar, not only the log's
	}
	fmt.Println()
	fmt.Println("Hashing (go test -bench, crypto/sha256 against sha256-simd and its AVX-512 multi-buffer server):")
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "Hash", "-benchtime", "2s", "./crypto/")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fatalf("hash benchmarks: %v", err)
	}
	for _, r := range rows {
		if !r.ok {
			custodyOK = false
		}
	}
	if !custodyOK {
		cleanup()
		os.Exit(1)
	}
}

func (b *bench) bundleRows() []row {
	fmt.Println("Building data…")
	var rows []row
	if *mixed {
		rows = append(rows, b.mixedRows()...)
	}
	if *many {
		manyDir := b.dataset("many", func(dir string) {
			for d := range 50 {
				sub := filepath.Join(dir, fmt.Sprintf("d%02d", d))
				os.Mkdir(sub, 0o755)
				for i := range 1000 {
					writeRandom(filepath.Join(sub, fmt.Sprintf("f%04d", i)), 4096, uint64(d*1000+i))
				}
			}
		})
		rows = append(rows, b.compare("50,000 × 4 KiB", manyDir, bars{pack: 1.0, readBack: 0.9, recv: 1.0})...)
		if *contentBench {
			rows = append(rows, b.contentRow("50,000 × 4 KiB", manyDir, 0.20))
		}
	}
	if *tiny {
		tinyDir := b.dataset("tiny", func(dir string) {
			for d := range 2000 {
				sub := filepath.Join(dir, fmt.Sprintf("d%04d", d))
				os.Mkdir(sub, 0o755)
				for i := range 100 {
					writeRandom(filepath.Join(sub, fmt.Sprintf("f%03d", i)), 512, uint64(1_000_000+d*100+i))
				}
			}
		})
		rows = append(rows, b.compare("200,000 × 512 B", tinyDir, bars{pack: 0.9, recv: 0.9})...)
	}
	if *big {
		// Random bytes named .img would be a disk image, which a kiosk holds.
		huge := b.dataset("huge", func(dir string) { writeRandom(filepath.Join(dir, "payload.bin"), 4<<30, 7) })
		rows = append(rows, b.memory("4 GiB bundle", huge)...)
		os.RemoveAll(huge)
	}
	return rows
}

// mixedRows packs and receives 512 MiB in four files and 2,000 files of
// 4 to 64 KiB, and measures the content checks and the scan on them.
func (b *bench) mixedRows() []row {
	mixed := b.dataset("mixed", func(dir string) {
		for i := range 4 {
			writeRandom(filepath.Join(dir, fmt.Sprintf("large-%d.bin", i)), 128<<20, uint64(i))
		}
		small := filepath.Join(dir, "small")
		os.Mkdir(small, 0o755)
		for i := range 2000 {
			writeRandom(filepath.Join(small, fmt.Sprintf("f%04d", i)), 4096+int64(i*61)%61440, uint64(100+i))
		}
	})
	rows := b.compare("512 MiB + 2,000 files", mixed, bars{pack: 0.9, recv: 0.9})
	if *contentBench {
		rows = append(rows, b.contentRow("512 MiB + 2,000 files", mixed, 0.05))
	}
	if *scanBench {
		r := b.scanRow("512 MiB + 2,000 files", mixed)
		r.ok = ratio(r) >= r.min
		rows = append(rows, r)
	}
	return rows
}

// cleanup removes the data folder; fatalf calls it too, since os.Exit skips
// deferred calls.
var cleanup = func() {}

type bench struct {
	bin, root        string
	sender, kiosk    string
	recipient, ident string
}

func (b *bench) stations() {
	b.sender, b.kiosk = filepath.Join(b.root, "sender"), filepath.Join(b.root, "kiosk")
	mustRun(b.bin, "--home", b.sender, "init", "--name", "bench-sender")
	mustRun(b.bin, "--home", b.kiosk, "init", "--name", "bench-kiosk")
	card := filepath.Join(b.root, "kiosk.card")
	os.WriteFile(card, []byte(mustRun(b.bin, "--home", b.kiosk, "id")), 0o644)
	mustRun(b.bin, "--home", b.sender, "trust", "add", card)
	os.WriteFile(card, []byte(mustRun(b.bin, "--home", b.sender, "id")), 0o644)
	mustRun(b.bin, "--home", b.kiosk, "trust", "add", card)
	// The kiosk's technician allows bundles of the largest set (200,000
	// files in 2,000 folders); the default policy stops at 200,000 entries.
	policy := filepath.Join(b.kiosk, "policy.toml")
	p, err := os.ReadFile(policy)
	if err != nil {
		fatalf("%v", err)
	}
	if err := os.WriteFile(policy, []byte(strings.Replace(string(p), "max_files = 200000", "max_files = 250000", 1)), 0o644); err != nil {
		fatalf("%v", err)
	}
	b.ident = filepath.Join(b.kiosk, "identity.age")
	f, _ := os.Open(b.ident)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if r, ok := strings.CutPrefix(sc.Text(), "# public key: "); ok {
			b.recipient = r
		}
	}
}

func (b *bench) dataset(name string, fill func(dir string)) string {
	dir := filepath.Join(b.root, "data", name)
	os.MkdirAll(dir, 0o755)
	fill(dir)
	mustRun("sync")
	return dir
}

type row struct {
	what             string
	baseline, sluice run
	byHand           *run
	min              float64
	ok               bool
	showRatio        bool
	note             string
}

// bars are the least speed ratios a workload must reach: pack (to a local
// folder, no read-back), pack with the read-back from the device (--verify;
// 0 skips that run), receive.
type bars struct{ pack, readBack, recv float64 }

// compare packs and receives dir with Sluice and with the stock pipelines.
// Every timed run starts from the same state: the previous run's output
// (of about the same size) moved aside (see reset), then sync and a pause
// for the filesystem to settle. Sluice and its baseline alternate which goes first.
func (b *bench) compare(label, dir string, min bars) []row {
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	out := filepath.Join(b.root, "out")
	rel := filepath.Join(b.root, "released")
	var tarAge, byHand, sluicePack, sluiceVerify, ageTar, sluiceRecv []run
	packers := []func(){
		func() {
			tarAge = append(tarAge, timed("sh", "-c", fmt.Sprintf(`tar -C %q -c %q | age -r %q > %q && sync`, parent, name, b.recipient, filepath.Join(out, "p.age"))))
		},
		func() {
			sluicePack = append(sluicePack, timed(b.bin, "--home", b.sender, "pack", "--to", "bench-kiosk", "--out", out, dir))
		},
	}
	var tarAgeBack []run
	if min.readBack > 0 {
		// As on a removable drive: the bundle is read back from the device
		// (its cache dropped where Sluice can) and checked. For scale, the
		// stock pipeline read back the same way: the bar stays against
		// tar | age alone, as the issue set it.
		packers = append(packers, func() {
			sluiceVerify = append(sluiceVerify, timed(b.bin, "--home", b.sender, "pack", "--to", "bench-kiosk", "--out", out, "--verify", dir))
		}, func() {
			p := filepath.Join(out, "p.age")
			tarAgeBack = append(tarAgeBack, timed("sh", "-c", fmt.Sprintf(`tar -C %q -c %q | age -r %q > %q && sync && dd if=%q iflag=direct bs=4M status=none | sha256sum >/dev/null`,
				parent, name, b.recipient, p, p)))
		})
	}
	for i := range *reps {
		for j := range packers {
			reset(out)
			settle()
			packers[(i+j)%len(packers)]()
		}
		// Receive a bundle made by Sluice, both ways.
		reset(out)
		mustRun(b.bin, "--home", b.sender, "pack", "--to", "bench-kiosk", "--out", out, dir)
		bundle := lastBundle(out)
		receivers := []func(){
			func() {
				ageTar = append(ageTar, timed("sh", "-c", fmt.Sprintf(`cat %q/payload.age.* | age -d -i %q | tar -x -C %q && sync`, bundle, b.ident, rel)))
			},
			func() {
				sluiceRecv = append(sluiceRecv, timed(b.bin, "--home", b.kiosk, "receive", "--out", rel, bundle))
			},
		}
		for j := range receivers {
			reset(rel)
			settle()
			receivers[(i+j)%len(receivers)]()
		}
		reset(rel)
	}
	// The by-hand pipeline runs on its own, after the pairs: it keeps both
	// cores busy for seconds, and on a shared virtual machine whatever runs
	// next is slowed, which would bias the contender that follows it.
	for range *reps {
		reset(out)
		settle()
		byHand = append(byHand, timed("sh", "-c", fmt.Sprintf(`cd %q && find %q -type f -print0 | xargs -0 sha256sum > %q && tar -c %q | age -r %q > %q && sync`,
			parent, name, filepath.Join(out, "sums"), name, b.recipient, filepath.Join(out, "p.age"))))
	}
	reset(out)
	bh := median(byHand)
	p := row{what: "pack " + label, baseline: median(tarAge), sluice: median(sluicePack), byHand: &bh, min: min.pack}
	r := row{what: "receive " + label, baseline: median(ageTar), sluice: median(sluiceRecv), min: min.recv}
	p.note, r.note = "vs tar c | age -r; sync", "vs age -d | tar x; sync"
	rows := []row{p}
	if min.readBack > 0 {
		rb := row{what: "pack " + label + ", read back", baseline: p.baseline, sluice: median(sluiceVerify), min: min.readBack}
		back := median(tarAgeBack)
		rb.note = fmt.Sprintf("vs tar c | age -r; sync (that, then read back with dd iflag=direct | sha256sum: %.2f s, %.2f×)",
			back.wall.Seconds(), back.wall.Seconds()/rb.sluice.wall.Seconds())
		rows = append(rows, rb)
	}
	rows = append(rows, r)
	for i := range rows {
		rows[i].ok = ratio(rows[i]) >= rows[i].min && rows[i].sluice.maxRS <= 128<<20
	}
	return rows
}

// settle flushes everything and gives the filesystem a moment to finish
// freeing what was just deleted, so each run starts from the same state.
func settle() {
	mustRun("sync")
	time.Sleep(time.Second)
}

// memory packs and receives one large bundle once and checks peak memory.
func (b *bench) memory(label, dir string) []row {
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	out := filepath.Join(b.root, "out")
	reset(out)
	base := timed("sh", "-c", fmt.Sprintf(`tar -C %q -c %q | age -r %q > %q && sync`, parent, name, b.recipient, filepath.Join(out, "p.age")))
	reset(out)
	pack := timed(b.bin, "--home", b.sender, "pack", "--to", "bench-kiosk", "--out", out, "--volume-size", "4GiB", dir)
	rel := filepath.Join(b.root, "released")
	reset(rel)
	recv := timed(b.bin, "--home", b.kiosk, "receive", "--out", rel, lastBundle(out))
	reset(rel)
	reset(out)
	return []row{
		{what: "pack " + label, baseline: base, sluice: pack, min: 0, ok: pack.maxRS <= 128<<20, note: "peak memory ≤ 128 MiB"},
		{what: "receive " + label, baseline: run{}, sluice: recv, min: 0, ok: recv.maxRS <= 128<<20, note: "peak memory ≤ 128 MiB"},
	}
}

func ratio(r row) float64 {
	if r.sluice.wall == 0 || r.baseline.wall == 0 {
		return 0
	}
	return r.baseline.wall.Seconds() / r.sluice.wall.Seconds()
}

func print(rows []row) {
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tbaseline\tsluice\tspeed ratio\tneeds\tby hand (sha256sum+tar+age)\tsluice peak RSS\tverdict\t")
	for _, r := range rows {
		base, rat, need, hand := "–", "–", "–", "–"
		if r.baseline.wall > 0 {
			base = fmt.Sprintf("%.2f s", r.baseline.wall.Seconds())
		}
		if r.min > 0 {
			rat, need = fmt.Sprintf("%.2f×", ratio(r)), fmt.Sprintf("≥ %.2f×", r.min)
		}
		if r.byHand != nil {
			hand = fmt.Sprintf("%.2f s (sluice %.2f× faster)", r.byHand.wall.Seconds(), r.byHand.wall.Seconds()/r.sluice.wall.Seconds())
		}
		verdict := "ok"
		if !r.ok {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f s\t%s\t%s\t%s\t%s\t%s (%s)\t\n", r.what, base, r.sluice.wall.Seconds(), rat, need, hand,
			humanize.IBytes(uint64(r.sluice.maxRS)), verdict, r.note)
	}
	tw.Flush()
}

// timed runs a command after a sync and returns its wall time and peak
// memory. Peak memory comes from GNU time, which forks the command from its
// own small process: Linux carries ru_maxrss across exec, so a command
// started straight from this (larger) process would report our peak instead.
func timed(name string, args ...string) run {
	mustRun("sync")
	rssFile, err := os.CreateTemp("", "sluice-bench-rss-")
	if err != nil {
		fatalf("%v", err)
	}
	rssFile.Close()
	defer os.Remove(rssFile.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile.Name(), name}, args...)...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	wall := time.Since(start)
	if *verbose {
		fmt.Fprintf(os.Stderr, "  %6.2f s  %s %s\n", wall.Seconds(), filepath.Base(name), shorten(strings.Join(args, " ")))
	}
	b, _ := os.ReadFile(rssFile.Name())
	kib, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		fatalf("read peak memory from GNU time: %q", b)
	}
	return run{wall: wall, maxRS: kib << 10}
}

func median(rs []run) run {
	sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
	m := rs[len(rs)/2]
	for _, r := range rs { // memory: the worst run counts
		m.maxRS = max(m.maxRS, r.maxRS)
	}
	return m
}

func lastBundle(out string) string {
	m, _ := filepath.Glob(filepath.Join(out, "*.sluice"))
	if len(m) != 1 {
		fatalf("expected one bundle in %s, found %d", out, len(m))
	}
	return m[0]
}

// reset empties dir for the next run by moving what it holds into the
// trash, which is removed when the bench ends. Deleting it instead would
// time the filesystem more than the tools: ext4 without a journal (as on
// the development machine) will not reuse an inode freed in the last 5 to
// 300 seconds, and rescans every such inode of a group for each file it
// creates, so extracting 50,000 files just after deleting 50,000 took 15
// to 40 s of kernel time in recently_deleted() for tar and Sluice alike
// (2 s on a filesystem without that history), which drowned the
// difference between them in noise. Only the many small files go to the
// trash: an output of few files is deleted at once, and so are the files
// of 1 MiB or more of one of many (few inodes, most of the bytes: the
// 512 MiB + 2,000 files rows alone left 20 GB in the trash).
func reset(dir string) {
	if _, err := os.Lstat(dir); err == nil && fewFiles(dir, 1000) {
		if err := os.RemoveAll(dir); err != nil {
			fatalf("%v", err)
		}
	} else if err == nil {
		removeLarge(dir)
		trashed++
		if err := os.Rename(dir, filepath.Join(trash, strconv.Itoa(trashed))); err != nil {
			fatalf("%v", err)
		}
	}
	os.MkdirAll(dir, 0o755)
}

// removeLarge deletes the regular files of 1 MiB or more under dir.
func removeLarge(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() >= 1<<20 {
			if err := os.Remove(p); err != nil {
				fatalf("%v", err)
			}
		}
		return nil
	})
}

// fewFiles says whether dir holds at most max entries.
func fewFiles(dir string, max int) bool {
	n := 0
	filepath.WalkDir(dir, func(string, fs.DirEntry, error) error {
		if n++; n > max {
			return filepath.SkipAll
		}
		return nil
	})
	return n <= max
}

// trash is where reset moves old outputs; trashed counts them.
var (
	trash   string
	trashed int
)

func mustRun(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// writeRandom writes n incompressible bytes quickly (ChaCha8).
func writeRandom(path string, n int64, seed uint64) {
	f, err := os.Create(path)
	if err != nil {
		fatalf("%v", err)
	}
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	s[2], s[3] = byte(seed>>16), byte(seed>>24)
	r := rand.NewChaCha8(s)
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		k := min(n, int64(len(buf)))
		r.Read(buf[:k])
		if _, err := f.Write(buf[:k]); err != nil {
			fatalf("%v", err)
		}
		n -= k
	}
	if err := f.Close(); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	cleanup()
	os.Exit(2)
}

func shorten(s string) string {
	if len(s) > 110 {
		return s[:110] + "…"
	}
	return s
}

// custodyLog measures the custody log: append with fsync (median and p99
// over 1,000 records, bound 5 ms) and sluice log verify over 1,000,000
// records (bound 10 s, with memory that must not grow with the log).
func (b *bench) custodyLog() bool {
	home := filepath.Join(b.root, "auditlog")
	mustRun(b.bin, "--home", home, "init", "--name", "bench-audit")
	st, err := app.Load(home)
	if err != nil {
		fatalf("%v", err)
	}
	l, err := st.OpenCustody()
	if err != nil {
		fatalf("%v", err)
	}
	rec := custody.Record{Event: custody.EventSealed, Station: st.Name, Officer: "bench", Bundle: "20261127T000000Z-0123456789abcdef",
		Peer: "kiosk", ManifestSHA256: strings.Repeat("ab", 32), Files: 1234, Bytes: 567890, Outcome: "ok"}
	var lat []time.Duration
	for i := range 1000 {
		r := rec
		start := time.Now()
		if _, err := l.Append(r, i%10 == 0); err != nil {
			fatalf("append: %v", err)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	med, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	l.DisableSyncForBulkLoad()
	const total = 1_000_000
	for i := l.Len(); i < total; i++ {
		if _, err := l.Append(rec, false); err != nil {
			fatalf("append: %v", err)
		}
	}
	l.Close()
	mustRun("sync")
	v := timed(b.bin, "--home", home, "log", "verify")
	appendOK, verifyOK := p99 <= 5*time.Millisecond, v.wall <= 10*time.Second && v.maxRS <= 64<<20
	fmt.Println("Custody log:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tresult\tbound\tverdict\t")
	fmt.Fprintf(tw, "append with fsync (1,000 records)\tmedian %.2f ms, p99 %.2f ms\t≤ 5 ms\t%s\t\n", ms(med), ms(p99), verdictOf(appendOK))
	fmt.Fprintf(tw, "sluice log verify, 1,000,000 records\t%.2f s, peak RSS %s\t≤ 10 s, flat memory\t%s\t\n", v.wall.Seconds(), humanize.IBytes(uint64(v.maxRS)), verdictOf(verifyOK))
	tw.Flush()
	return appendOK && verifyOK
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func verdictOf(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}
