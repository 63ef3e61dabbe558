package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sluice/internal/pdfcheck/pdftest"
	"sluice/transfer/transform"
)

// TestCLITransformThenVerify: a sender without the kiosk's policy seals a
// PDF as it is and the kiosk holds it (exit 3, not-transformed); with a
// copy of the policy imported, pack says what it transformed and the
// kiosk verifies and releases it.
func TestCLITransformThenVerify(t *testing.T) {
	if tr, err := transform.New(transform.Config{TempDir: t.TempDir()}); err != nil || len(tr.Missing()) > 0 {
		t.Skipf("the transformations cannot run here (%v): run packaging/deps.sh test", err)
	}
	if err := exec.Command("bwrap", "--ro-bind", "/", "/", "--unshare-all", "true").Run(); err != nil {
		t.Skipf("bubblewrap cannot make a sandbox here (%v); it needs user namespaces or root, as in CI", err)
	}
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	src := filepath.Join(dir, "docs")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "plan.pdf"), pdftest.Text(1, "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)

	b := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src).lastLine()
	r := run(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "in"), b)
	if r.code != ExitHeld || !strings.Contains(r.stderr+r.stdout, "not-transformed") {
		t.Fatalf("untransformed PDF: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	pol := filepath.Join(dir, "kiosk-1.toml")
	os.WriteFile(pol, []byte(mustRun(t, "", "--home", kiosk, "policy", "show").stdout), 0o644)
	mustRun(t, "", "--home", sender, "policy", "import", "kiosk-1", pol)
	p := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src)
	if !strings.Contains(p.stderr, "transformed docs/plan.pdf → plan.pdf (pdf-of-images by ") {
		t.Fatalf("pack says: %s", p.stderr)
	}
	r = mustRun(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "in"), p.lastLine())
	if !strings.Contains(r.stdout, "Released") && !strings.Contains(r.stdout, "released") {
		t.Fatalf("receive says: %s", r.stdout)
	}
	if log := mustRun(t, "", "--home", sender, "log", "show").stdout; !strings.Contains(log, "transformed") {
		t.Fatalf("sender's log: %s", log)
	}

	// The kiosk accepts sealed originals; with its policy imported again,
	// pack seals them, inspect shows them and receive keeps them apart.
	shown := mustRun(t, "", "--home", kiosk, "policy", "show").stdout
	allowed := strings.Replace(shown, "seal_originals = false", "seal_originals = true", 1)
	if allowed == shown {
		t.Fatalf("policy show has no seal_originals = false:\n%s", shown)
	}
	os.WriteFile(pol, []byte(allowed), 0o644)
	mustRun(t, "", "--home", kiosk, "policy", "install", pol)
	mustRun(t, "", "--home", sender, "policy", "import", "kiosk-1", pol)
	p = mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src)
	if !strings.Contains(p.stdout, "and the 1 original(s) of the transformed files") {
		t.Fatalf("pack says: %s", p.stdout)
	}
	if in := mustRun(t, "", "--home", kiosk, "inspect", p.lastLine()).stdout; !regexp.MustCompile(`(?m)^originals +1 files, .* a kiosk keeps them and never releases them$`).MatchString(in) {
		t.Fatalf("inspect says: %s", in)
	}
	mustRun(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "in"), p.lastLine())
	if log := mustRun(t, "", "--home", kiosk, "log", "show", "--json", "--event", "received").stdout; !strings.Contains(log, "original(s) of files the sender transformed, sealed by it, kept in") {
		t.Fatalf("kiosk's log: %s", log)
	}
}
