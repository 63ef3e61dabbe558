package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The review contract: a held bundle exits 3 and says why per file; review
// list, show, release and reject work by id; a draft policy is checked
// before it is installed, and show prints the policy in force.
func TestReviewCommands(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("fine\n"), 0o644)
	os.WriteFile(filepath.Join(src, "photo.jpg"), []byte("%PDF-1.7\nnot a photo\n"), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	rel := filepath.Join(dir, "released")
	pack := func() string {
		return mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src).lastLine()
	}
	b := pack()
	r := run(t, "", "--home", kiosk, "receive", "--out", rel, b)
	oneLineError(t, r, ExitHeld, "held for review")
	if !strings.Contains(r.stdout, "HELD src/photo.jpg") || !strings.Contains(r.stdout, "type-mismatch: named .jpg") {
		t.Fatalf("receive did not say what was held and why:\n%s", r.stdout)
	}
	if ents, _ := os.ReadDir(rel); len(ents) != 0 {
		t.Fatalf("held bundle released %d entries", len(ents))
	}
	id := strings.TrimSuffix(filepath.Base(b), ".sluice")
	if l := mustRun(t, "", "--home", kiosk, "review", "list"); !strings.Contains(l.stdout, id) {
		t.Fatalf("review list: %s", l.stdout)
	}
	if s := mustRun(t, "", "--home", kiosk, "review", "show", id); !strings.Contains(s.stdout, "HELD src/photo.jpg") {
		t.Fatalf("review show: %s", s.stdout)
	}
	oneLineError(t, run(t, "", "--home", kiosk, "review", "show", "nonsense"), ExitUsage, "not a bundle id")
	oneLineError(t, run(t, "", "--home", kiosk, "receive", "--out", rel, b), ExitRejected, "already held for review")
	rr := mustRun(t, "", "--home", kiosk, "review", "release", id, "--note", "a scanned page, checked")
	if _, err := os.Stat(filepath.Join(rel, id, "src", "photo.jpg")); err != nil {
		t.Fatalf("review release: %v\n%s", err, rr.stdout)
	}
	if l := mustRun(t, "", "--home", kiosk, "review", "list"); !strings.Contains(l.stdout, "No bundle is held") {
		t.Fatalf("review list after release: %s", l.stdout)
	}

	b = pack()
	id = strings.TrimSuffix(filepath.Base(b), ".sluice")
	if r := run(t, "", "--home", kiosk, "receive", "--out", rel, b); r.code != ExitHeld {
		t.Fatalf("second bundle: exit %d %s", r.code, r.stderr)
	}
	oneLineError(t, run(t, "", "--home", kiosk, "review", "reject", id), ExitUsage, "say why")
	mustRun(t, "", "--home", kiosk, "review", "reject", id, "--reason", "not what was expected")
	if l := mustRun(t, "", "--home", kiosk, "log", "show", "--event", "rejected"); !strings.Contains(l.stdout, "rejected at review") {
		t.Fatalf("log after reject: %s", l.stdout)
	}

	show := mustRun(t, "", "--home", kiosk, "policy", "show")
	if !strings.Contains(show.stdout, `block = ["executable", "script", "shortcut", "disk-image"]`) {
		t.Fatalf("policy show: %s", show.stdout)
	}
	draft := filepath.Join(dir, "draft.toml")
	os.WriteFile(draft, []byte(strings.Replace(show.stdout, "max_depth = 2", "max_depth = 3", 1)), 0o644)
	mustRun(t, "", "policy", "check", draft)
	os.WriteFile(draft, []byte(strings.Replace(show.stdout, `"script"`, `"scripts"`, 1)), 0o644)
	oneLineError(t, run(t, "", "policy", "check", draft), ExitRejected, `"scripts" is not a type family`)
	// A draft with a mistake is not installed; a good one is, recorded.
	oneLineError(t, run(t, "", "--home", kiosk, "policy", "install", draft), ExitRejected, "the policy is not installed")
	os.WriteFile(draft, []byte(strings.Replace(show.stdout, "max_depth = 2", "max_depth = 3", 1)), 0o644)
	mustRun(t, "", "--home", kiosk, "policy", "install", draft)
	if s := mustRun(t, "", "--home", kiosk, "policy", "show").stdout; !strings.Contains(s, "max_depth = 3") {
		t.Fatalf("installed policy not in force: %s", s)
	}
	if l := mustRun(t, "", "--home", kiosk, "log", "show", "--event", "settings-changed"); !strings.Contains(l.stdout, "receive policy changed: policy.toml sha256") {
		t.Fatalf("policy change not recorded: %s", l.stdout)
	}
	mustRun(t, "", "--home", kiosk, "log", "verify")
}

// A sending station with a copy of the kiosk's policy says, before
// sealing, which staged files the kiosk would hold; it still seals.
func TestPackForeseesHolds(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	pol := filepath.Join(dir, "kiosk-policy.toml")
	os.WriteFile(pol, []byte(mustRun(t, "", "--home", kiosk, "policy", "show").stdout), 0o644)
	oneLineError(t, run(t, "", "--home", sender, "policy", "import", "nobody", pol), ExitUsage, "not a station this one trusts")
	mustRun(t, "", "--home", sender, "policy", "import", "kiosk-1", pol)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "fine.txt"), []byte("fine\n"), 0o644)
	os.WriteFile(filepath.Join(src, "setup.txt"), []byte(minimalPE), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	r := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src)
	if !strings.Contains(r.stderr, "warning: kiosk-1's policy would hold src/setup.txt: blocked-type") || strings.Contains(r.stderr, "fine.txt") {
		t.Fatalf("pack's warnings:\n%s", r.stderr)
	}
	if !strings.HasSuffix(r.lastLine(), ".sluice") {
		t.Fatalf("pack did not seal: %s", r.stdout)
	}
}

// minimalPE is the smallest content with a PE header where its DOS header
// points: what the kiosk takes for a Windows program.
var minimalPE = "MZ" + strings.Repeat("\x00", 0x3a) + "\x40\x00\x00\x00PE\x00\x00 a program"
