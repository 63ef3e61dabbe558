//go:build linux

package cli

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tmpfsDrive mounts a small tmpfs, a drive with a known free space.
func tmpfsDrive(t *testing.T, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

// TestCLISpan packs 14 MiB over three 6 MiB drives, answering the prompts
// on stdin (the first answer is refused), then receives the drives at the
// kiosk in two runs: the first run names the missing drive and exits 2,
// the second releases and wipes.
func TestCLISpan(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount tmpfs drives (CI runs as root)")
	}
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	src := filepath.Join(dir, "outbox")
	os.Mkdir(src, 0o755)
	data := make([]byte, 14<<20)
	r := rand.New(rand.NewPCG(5, 5))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	os.WriteFile(filepath.Join(src, "scan.bin"), data, 0o644)
	d1, d2, d3 := tmpfsDrive(t, "6m"), tmpfsDrive(t, "6m"), tmpfsDrive(t, "6m")

	oneLineError(t, run(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", d1, src), ExitUsage, "--span")

	answers := filepath.Join(dir, "no-such-drive") + "\n" + d2 + "\n" + d3 + "\n"
	p := mustRun(t, answers, "--home", sender, "pack", "--span", "--to", "kiosk-1", "--out", d1, src)
	for _, want := range []string{"Drive 2 of 3 of bundle", "that drive was not used: " + filepath.Join(dir, "no-such-drive") + " is not a folder", "Drive 3 of 3 of bundle"} {
		if !strings.Contains(p.stderr, want) {
			t.Errorf("pack prompts lack %q:\n%s", want, p.stderr)
		}
	}
	parts := []string{}
	for _, d := range []string{d1, d2, d3} {
		m, _ := filepath.Glob(filepath.Join(d, "*.sluice"))
		if len(m) != 1 {
			t.Fatalf("drive %s holds %v", d, m)
		}
		parts = append(parts, m[0])
	}
	if p.lastLine() != parts[0] || !strings.Contains(p.stdout, "drive 2 of 3: "+parts[1]) {
		t.Errorf("pack output:\n%s", p.stdout)
	}
	in := mustRun(t, "", "--home", kiosk, "inspect", parts[1])
	if !strings.Contains(in.stdout, "3, 1 volume(s) each") || !strings.Contains(in.stdout, "(not here: on drive 1)") || !strings.Contains(in.stdout, "are on the bundle's other drives") {
		t.Errorf("inspect of drive 2:\n%s", in.stdout)
	}

	out := filepath.Join(dir, "released")
	res := run(t, "", "--home", kiosk, "receive", "--out", out, parts[2], parts[0])
	oneLineError(t, res, ExitUsage, "insert drive 2 of 3 (volume")
	if !strings.Contains(res.stdout, "Read "+parts[2]) {
		t.Errorf("receive output:\n%s", res.stdout)
	}
	// The last drive is named by its mount point: the kiosk finds the bundle on it.
	rel := mustRun(t, "", "--home", kiosk, "receive", "--wipe", "--out", out, d2)
	got, _ := os.ReadFile(filepath.Join(out, filepath.Base(strings.TrimSuffix(parts[0], ".sluice")), "outbox", "scan.bin"))
	if string(got) != string(data) {
		t.Fatal("released content differs")
	}
	if _, err := os.Stat(parts[1]); !os.IsNotExist(err) || !strings.Contains(rel.stdout, " from "+parts[1]) {
		t.Errorf("drive 2 not wiped: %v\n%s", err, rel.stdout)
	}
	for _, part := range []string{parts[0], parts[2]} {
		mustRun(t, "", "--home", kiosk, "media", "wipe", part)
		if _, err := os.Stat(part); !os.IsNotExist(err) {
			t.Errorf("%s not wiped", part)
		}
	}
}

// TestCLIReceiveDriveWithABadBundle: of two bundles on one drive, the
// tampered one is refused and the other still released; exit 1.
func TestCLIReceiveDriveWithABadBundle(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	src := filepath.Join(dir, "outbox")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha"), 0o644)
	drive := filepath.Join(dir, "drive")
	os.Mkdir(drive, 0o755)
	good := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", drive, src).lastLine()
	bad := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", drive, src).lastLine()
	vol := filepath.Join(bad, "payload.age.0000")
	b, _ := os.ReadFile(vol)
	b[len(b)-1] ^= 1
	os.WriteFile(vol, b, 0o644)
	out := filepath.Join(dir, "released")
	r := run(t, "", "--home", kiosk, "receive", "--out", out, drive)
	oneLineError(t, r, ExitRejected, "1 of 2 bundle folders were not released")
	if !strings.Contains(r.stdout, "Found 2 bundle(s) on "+drive) || !strings.Contains(r.stdout, "Not released: "+bad) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	id := strings.TrimSuffix(filepath.Base(good), ".sluice")
	if got, err := os.ReadFile(filepath.Join(out, id, "outbox", "a.txt")); err != nil || string(got) != "alpha" {
		t.Fatalf("the good bundle was not released: %v", err)
	}
}
