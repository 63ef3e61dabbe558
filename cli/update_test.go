package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIReleaseAndUpdate is the technician's path, as the README gives
// it: a release key, its card trusted in the release role, an update of
// Sluice sealed, applied into a dpkg root, refused again, rolled back.
func TestCLIReleaseAndUpdate(t *testing.T) {
	for _, p := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed: install Debian's dpkg to run this test", p)
		}
	}
	dir := t.TempDir()
	rel, kiosk := filepath.Join(dir, "release"), filepath.Join(dir, "kiosk")
	r := mustRun(t, "", "--home", rel, "release", "keygen", "--name", "release-2026")
	if !strings.Contains(r.stdout, "Keep this folder off the stations") {
		t.Fatalf("keygen says: %s", r.stdout)
	}
	mustRun(t, "", "--home", kiosk, "init", "--name", "kiosk-1")
	card := mustRun(t, "", "--home", rel, "id").stdout
	if !strings.Contains(card, "role: release") {
		t.Fatalf("release card: %s", card)
	}
	oneLineError(t, run(t, card, "--home", kiosk, "trust", "add", "-"), ExitRejected, "--role release")
	if r := mustRun(t, card, "--home", kiosk, "trust", "add", "--role", "release", "-"); !strings.Contains(r.stdout, "for updates only") {
		t.Fatalf("trust add --role release says: %s", r.stdout)
	}
	if r := mustRun(t, "", "--home", kiosk, "trust", "list"); !strings.Contains(r.stdout, "release (updates only)") {
		t.Fatalf("trust list: %s", r.stdout)
	}
	mustRun(t, mustRun(t, "", "--home", kiosk, "id").stdout, "--home", rel, "trust", "add", "-")

	root := filepath.Join(dir, "root")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	if os.Geteuid() != 0 {
		t.Skip("dpkg --root installs only as root (CI runs as root)")
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	pack := func(v string) string {
		return mustRun(t, "", "--home", rel, "release", "pack", "--to", "kiosk-1", "--out", out, "--version", v, deb(t, dir, v)).lastLine()
	}
	b1 := pack("1.0.1")
	oneLineError(t, run(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "rel"), b1), ExitRejected, "sluice update apply")
	if r := mustRun(t, "", "--home", kiosk, "update", "apply", "--dpkg-root", root, b1); !strings.Contains(r.stdout, "Updated sluice to 1.0.1") {
		t.Fatalf("apply says: %s", r.stdout)
	}
	mustRun(t, "", "--home", kiosk, "update", "apply", "--dpkg-root", root, pack("1.0.2"))
	oneLineError(t, run(t, "", "--home", kiosk, "update", "apply", "--dpkg-root", root, pack("1.0.0")), ExitRejected, "not newer than version 1.0.2")
	if r := mustRun(t, "", "--home", kiosk, "update", "rollback", "--dpkg-root", root); !strings.Contains(r.stdout, "from 1.0.2 to 1.0.1") {
		t.Fatalf("rollback says: %s", r.stdout)
	}
	r = mustRun(t, "", "--home", kiosk, "update", "status")
	if !strings.Contains(r.stdout, "1.0.1 (highest ever: 1.0.2") || !strings.Contains(r.stdout, "Release keys trusted: release-2026") {
		t.Fatalf("status: %s", r.stdout)
	}
	if r := mustRun(t, "", "--home", kiosk, "log", "show"); !strings.Contains(r.stdout, "updated") || !strings.Contains(r.stdout, "rolled-back") {
		t.Fatalf("log: %s", r.stdout)
	}
	mustRun(t, "", "--home", kiosk, "log", "verify")
	oneLineError(t, run(t, "", "--home", rel, "pack", "--to", "kiosk-1", "--out", out, out), ExitUsage, "seals updates only")
}

func deb(t *testing.T, dir, v string) string {
	t.Helper()
	root := filepath.Join(dir, "deb-"+v)
	os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr/share/sluice"), 0o755)
	os.WriteFile(filepath.Join(root, "DEBIAN/control"), fmt.Appendf(nil, "Package: sluice\nVersion: %s\nArchitecture: all\nMaintainer: Sluice tests <tests@sluice.invalid>\nDescription: test package\n", v), 0o644)
	os.WriteFile(filepath.Join(root, "usr/share/sluice/marker"), []byte(v), 0o644)
	out := filepath.Join(dir, "sluice_"+v+"_all.deb")
	if b, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, out).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, b)
	}
	return out
}

// TestHelpForEveryCommand: sluice help COMMAND says how to use every
// command, exit 0, whether it takes flags or subcommands.
func TestHelpForEveryCommand(t *testing.T) {
	home := t.TempDir()
	for _, c := range commands {
		if c.run == nil {
			continue
		}
		r := run(t, "", "--home", home, "help", c.name)
		if r.code != ExitOK || !strings.Contains(r.stdout+r.stderr, "sluice "+c.name) {
			t.Errorf("help %s: exit %d\n%s%s", c.name, r.code, r.stdout, r.stderr)
		}
	}
}
