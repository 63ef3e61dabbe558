package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

var benchBin = flag.String("sluice-bench", "./sluice-bench", "the same sluice built with -tags sluicebench, which can receive without the content checks")

// contentRow measures what the kiosk's content checks (type by content,
// name against content, active content, archives; scanning off) add to a
// receive: the same bundle received by the bench build of Sluice with its
// checks on and with them off (SLUICE_BENCH_SKIP_CONTENT_CHECKS, which no
// released build reads), alternating which goes first. maxOverhead is the
// bound from issue 12: 5% for 512 MiB + 2,000 files, 20% for 50,000 small
// files.
func (b *bench) contentRow(label, dir string, maxOverhead float64) row {
	bin, err := filepath.Abs(*benchBin)
	if err != nil {
		fatalf("%v", err)
	}
	if _, err := os.Stat(bin); err != nil {
		fatalf("%s is missing; make bench builds it (go build -tags sluicebench -o sluice-bench .)", bin)
	}
	out, rel := filepath.Join(b.root, "out"), filepath.Join(b.root, "released")
	var on, off []run
	receive := func(checks bool) run {
		// A kiosk receives a bundle once: a fresh one each time.
		reset(out)
		mustRun(b.bin, "--home", b.sender, "pack", "--to", "bench-kiosk", "--out", out, dir)
		bundle := lastBundle(out)
		reset(rel)
		settle()
		skip := "SLUICE_BENCH_SKIP_CONTENT_CHECKS=0"
		if !checks {
			skip = "SLUICE_BENCH_SKIP_CONTENT_CHECKS=1"
		}
		return timed("env", skip, bin, "--home", b.kiosk, "receive", "--out", rel, bundle)
	}
	// Whichever of a pair runs first is slower here (the pack before it
	// still settling): an even number of pairs, half each way round, so
	// the order favours neither.
	// Twice as many pairs as other rows' runs: a receive's wall time
	// varies by 10% with writeback and the page cache (the checks
	// themselves take about a millisecond on 512 MiB + 2,000 files,
	// timed inside the receive), and the bound is 5%.
	pairs := 2 * *reps
	for i := range pairs {
		if i%2 == 0 {
			on, off = append(on, receive(true)), append(off, receive(false))
		} else {
			off, on = append(off, receive(false)), append(on, receive(true))
		}
	}
	reset(rel)
	reset(out)
	with, without := median(on), median(off)
	overhead := with.wall.Seconds()/without.wall.Seconds() - 1
	return row{what: "content checks, receive " + label, baseline: without, sluice: with, min: 1 / (1 + maxOverhead),
		ok: overhead <= maxOverhead && with.maxRS <= 128<<20,
		note: fmt.Sprintf("with the checks vs without: %+.1f%% (bound +%.0f%%; %+d ms)", 100*overhead, 100*maxOverhead,
			(with.wall - without.wall).Milliseconds())}
}
