package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sluice/app"
	"sluice/internal/clamtest"
)

// scanRow measures the kiosk's malware scan against a bare clamdscan of the
// same files, through the same clamd: each run receives the bundle twice,
// with scanning required and with it off, and the difference is the scan's
// cost; clamdscan --fdpass --multiscan then scans the released folder. The
// kiosk's scan must be within 1.2× of clamdscan (issue 12). The daemon runs
// on signature databases written here (EICAR and a pattern of our own):
// what is compared is the cost of getting every file to clamd and its
// verdict back, not the size of a signature set.
func (b *bench) scanRow(label, dir string) row {
	clamd, err := exec.LookPath("clamd")
	if err != nil {
		clamd = "/usr/sbin/clamd"
	}
	if _, err := os.Stat(clamd); err != nil {
		fatalf("clamd is not installed; run packaging/deps.sh bench")
	}
	if _, err := exec.LookPath("clamdscan"); err != nil {
		fatalf("clamdscan is not installed; run packaging/deps.sh bench")
	}
	cdir := filepath.Join(b.root, "clamd")
	db := filepath.Join(cdir, "db")
	os.MkdirAll(filepath.Join(cdir, "tmp"), 0o700)
	if err := clamtest.WriteDatabase(db); err != nil {
		fatalf("%v", err)
	}
	sock := filepath.Join(cdir, "clamd.sock")
	conf := filepath.Join(cdir, "clamd.conf")
	settings := append([]string{
		"LocalSocket " + sock, "DatabaseDirectory " + db, "Foreground yes", "LogFile " + filepath.Join(cdir, "clamd.log"),
		"TemporaryDirectory " + filepath.Join(cdir, "tmp"), "MaxFileSize 1000M", "MaxScanSize 4000M",
		"StreamMaxLength 1000M", "MaxThreads 4"}, app.ClamdSettings...)
	os.WriteFile(conf, []byte(strings.Join(settings, "\n")+"\n"), 0o644)
	cmd := exec.Command(clamd, "-c", conf)
	if err := cmd.Start(); err != nil {
		fatalf("start clamd: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Since(start) > time.Minute {
			fatalf("clamd did not start; see %s", filepath.Join(cdir, "clamd.log"))
		}
	}
	policy := filepath.Join(b.kiosk, "policy.toml")
	plain, err := os.ReadFile(policy)
	if err != nil {
		fatalf("%v", err)
	}
	scanning := strings.Replace(strings.Replace(string(plain), `mode = "off"`, `mode = "required"`, 1), `clamd = ""`, fmt.Sprintf("clamd = %q", sock), 1)
	defer os.WriteFile(policy, plain, 0o644)

	out, rel := filepath.Join(b.root, "out"), filepath.Join(b.root, "released")
	var withScan, without, clamdscan []run
	for i := range *reps {
		receive := func(scan bool) run {
			reset(out)
			mustRun(b.bin, "--home", b.sender, "pack", "--to", "bench-kiosk", "--out", out, dir)
			text := string(plain)
			if scan {
				text = scanning
			}
			os.WriteFile(policy, []byte(text), 0o644)
			reset(rel)
			settle()
			return timed(b.bin, "--home", b.kiosk, "receive", "--out", rel, lastBundle(out))
		}
		if i%2 == 0 {
			withScan, without = append(withScan, receive(true)), append(without, receive(false))
		} else {
			without, withScan = append(without, receive(false)), append(withScan, receive(true))
		}
		settle()
		clamdscan = append(clamdscan, timed("clamdscan", "--config-file="+conf, "--fdpass", "--multiscan", "--no-summary", "--quiet", rel))
	}
	ws, wo := median(withScan), median(without)
	cost := run{wall: max(ws.wall-wo.wall, time.Millisecond), maxRS: ws.maxRS}
	return row{what: "clamd scan of " + label, baseline: median(clamdscan), sluice: cost, min: 1 / 1.2,
		note: fmt.Sprintf("receive with scan %.2f s − without %.2f s, vs clamdscan --fdpass --multiscan", ws.wall.Seconds(), wo.wall.Seconds())}
}
