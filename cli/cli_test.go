package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) lastLine() string {
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := run(t, stdin, args...)
	if r.code != ExitOK {
		t.Fatalf("sluice %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// twoStations creates sender-1 and kiosk-1 under dir, trusting each other,
// and returns their homes.
func twoStations(t *testing.T, dir string) (sender, kiosk string) {
	t.Helper()
	sender, kiosk = filepath.Join(dir, "sender"), filepath.Join(dir, "kiosk")
	mustRun(t, "", "--home", sender, "init", "--name", "sender-1")
	mustRun(t, "", "--home", kiosk, "init", "--name", "kiosk-1")
	mustRun(t, mustRun(t, "", "--home", kiosk, "id").stdout, "--home", sender, "trust", "add", "-")
	mustRun(t, mustRun(t, "", "--home", sender, "id").stdout, "--home", kiosk, "trust", "add", "-")
	return sender, kiosk
}

// sealedPair is twoStations with one small bundle sealed by sender-1 for
// kiosk-1 under dir/out; it returns the homes and the bundle's folder.
func sealedPair(t *testing.T, dir string) (sender, kiosk, bundle string) {
	t.Helper()
	sender, kiosk = twoStations(t, dir)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	bundle = mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src).lastLine()
	return sender, kiosk, bundle
}

// oneLineError checks the error contract: exactly one line on stderr.
func oneLineError(t *testing.T, r result, code int, says string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "sluice: ") {
		t.Fatalf("stderr is not one error line: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, says) {
		t.Fatalf("stderr %q does not say %q", r.stderr, says)
	}
}

func TestCLIWorkflow(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk := filepath.Join(dir, "sender"), filepath.Join(dir, "kiosk")
	mustRun(t, "", "--home", sender, "init", "--name", "sender-1")
	mustRun(t, "", "init", "--home", kiosk, "--name", "kiosk-1", "--pq")
	oneLineError(t, run(t, "", "--home", kiosk, "init", "--name", "again"), ExitUsage, "refusing to overwrite")

	kioskCard := mustRun(t, "", "--home", kiosk, "id").stdout
	senderCard := mustRun(t, "", "--home", sender, "id").stdout
	cardFile := filepath.Join(dir, "kiosk.card")
	os.WriteFile(cardFile, []byte(kioskCard), 0o644)
	mustRun(t, "", "--home", sender, "trust", "add", cardFile)
	mustRun(t, senderCard, "--home", kiosk, "trust", "add", "-")
	if l := mustRun(t, "", "--home", sender, "trust", "list").stdout; !strings.Contains(l, "kiosk-1") || !strings.Contains(l, "ML-KEM-768") {
		t.Fatalf("trust list: %q", l)
	}
	oneLineError(t, run(t, "garbage", "--home", kiosk, "trust", "add", "-"), ExitRejected, "not a Sluice station card")

	src := filepath.Join(dir, "outbox")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "f.txt"), []byte("payload"), 0o644)
	out := filepath.Join(dir, "media")
	os.Mkdir(out, 0o755)
	p := mustRun(t, "", "pack", "--home", sender, "--to", "kiosk-1", "--out", out, "--volume-size", "64KiB", "--note", "for review", src)
	bundleDir := p.lastLine()
	if !strings.HasPrefix(bundleDir, out) || !strings.HasSuffix(bundleDir, ".sluice") {
		t.Fatalf("last line of pack is %q, want the bundle path", bundleDir)
	}

	// inspect needs no station at all.
	in := mustRun(t, "", "--home", filepath.Join(dir, "nowhere"), "inspect", bundleDir)
	for _, want := range []string{"sender      sender-1", "signature   valid", "volumes     all intact", "note        for review"} {
		if !strings.Contains(in.stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, in.stdout)
		}
	}
	if in := mustRun(t, "", "--home", kiosk, "inspect", bundleDir); !strings.Contains(in.stdout, "trusted") {
		t.Errorf("inspect at the kiosk does not say trusted:\n%s", in.stdout)
	}

	rel := filepath.Join(dir, "released")
	r := mustRun(t, "", "receive", bundleDir, "--home", kiosk, "--out", rel)
	got, err := os.ReadFile(filepath.Join(r.lastLine(), "outbox", "sub", "f.txt"))
	if err != nil || string(got) != "payload" {
		t.Fatalf("released file: %v", err)
	}
	oneLineError(t, run(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "again"), bundleDir), ExitRejected, "replay")
	if _, err := os.Stat(filepath.Join(dir, "again")); err == nil {
		if ents, _ := os.ReadDir(filepath.Join(dir, "again")); len(ents) != 0 {
			t.Fatal("replayed bundle released something")
		}
	}

	// A corrupted volume: exit 1, one line naming the volume.
	p = mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, "--volume-size", "64KiB", src)
	vol := filepath.Join(p.lastLine(), "payload.age.0000")
	b, _ := os.ReadFile(vol)
	b[len(b)/2] ^= 1
	os.WriteFile(vol, b, 0o644)
	oneLineError(t, run(t, "", "--home", kiosk, "inspect", p.lastLine()), ExitRejected, "volume 1 of 1 (payload.age.0000) is corrupt")
	bad := filepath.Join(dir, "bad")
	oneLineError(t, run(t, "", "--home", kiosk, "receive", "--out", bad, p.lastLine()), ExitRejected, "is corrupt")
	if ents, _ := os.ReadDir(bad); len(ents) != 0 {
		t.Fatal("corrupt bundle left files in the destination")
	}
}

func TestCLIUsageErrors(t *testing.T) {
	home := t.TempDir()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"pack", "--to", "x"}, "usage: sluice pack"},
		{[]string{"pack", "--bogus"}, "flag provided but not defined"},
		{[]string{"init"}, "usage: sluice init"},
		{[]string{"--home", home, "id"}, "run sluice init"},
		{[]string{"--home", home, "receive", "--out", home, "nowhere"}, "run sluice init"},
		{[]string{"pack", "--to", "k", "--out", home, "--volume-size", "12", "x"}, "at least 64KiB"},
		{[]string{"trust", "fly"}, "unknown trust command"},
	} {
		oneLineError(t, run(t, "", c.args...), ExitUsage, c.says)
	}
	if r := run(t, ""); r.code != ExitUsage || !strings.Contains(r.stderr, "Commands:") {
		t.Fatalf("no arguments to Run: %+v", r)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "pack"}, {"pack", "--help"}} {
		r := mustRun(t, "", args...)
		if !strings.Contains(r.stdout, "sluice") {
			t.Errorf("%v: help says %q", args, r.stdout)
		}
	}
	if r := mustRun(t, "", "help", "pack"); !strings.Contains(r.stdout, "--volume-size") {
		t.Errorf("pack help lacks --volume-size: %q", r.stdout)
	}
}

func TestSluiceHomeFromEnvironment(t *testing.T) {
	home := filepath.Join(t.TempDir(), "st")
	t.Setenv("SLUICE_HOME", home)
	mustRun(t, "", "init", "--name", "envst")
	if r := mustRun(t, "", "id"); !strings.Contains(r.stdout, "name: envst") {
		t.Fatalf("id with SLUICE_HOME: %q", r.stdout)
	}
}

func TestCLICustodyLog(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk := filepath.Join(dir, "sender"), filepath.Join(dir, "kiosk")
	mustRun(t, "", "--home", sender, "init", "--name", "sender-1")
	mustRun(t, "", "--home", kiosk, "init", "--name", "kiosk-1")
	mustRun(t, mustRun(t, "", "--home", kiosk, "id").stdout, "--home", sender, "trust", "add", "-")
	senderCard := mustRun(t, "", "--home", sender, "id").stdout
	mustRun(t, senderCard, "--home", kiosk, "trust", "add", "-")
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	b1 := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src).lastLine()
	mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", out, src) // lost on the way
	mustRun(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "rel"), b1)

	saved := filepath.Join(dir, "auditor.checkpoint")
	os.WriteFile(saved, []byte(mustRun(t, "", "--home", sender, "log", "checkpoint").stdout), 0o644)
	if r := mustRun(t, "", "--home", kiosk, "log", "verify"); !strings.HasPrefix(r.stdout, "OK: custody log of kiosk-1 verified") {
		t.Fatalf("verify: %q", r.stdout)
	}
	senderLog := filepath.Join(sender, "custody.log")
	// An auditor's machine with no station: the card vouches for the key.
	cardFile := filepath.Join(dir, "sender.card")
	os.WriteFile(cardFile, []byte(senderCard), 0o644)
	nowhere := filepath.Join(dir, "auditor")
	mustRun(t, "", "--home", nowhere, "log", "verify", senderLog, "--card", cardFile, "--checkpoint", saved)
	oneLineError(t, run(t, "", "--home", nowhere, "log", "verify", senderLog), ExitUsage, "pass its card with --card FILE")

	show := mustRun(t, "", "--home", sender, "log", "show", "--event", "sealed").stdout
	if strings.Count(show, "sealed") != 2 || strings.Contains(show, "written") {
		t.Fatalf("show --event sealed:\n%s", show)
	}
	if j := mustRun(t, "", "--home", kiosk, "log", "show", "--json", "--bundle", filepath.Base(strings.TrimSuffix(b1, ".sluice"))).stdout; strings.Count(j, "\n") != 2 {
		t.Fatalf("show --json --bundle: %q", j)
	}
	csvOut := mustRun(t, "", "--home", sender, "log", "export", "--format", "csv").stdout
	if !strings.HasPrefix(csvOut, "seq,prev,time,event") || strings.Count(csvOut, "\n") < 7 {
		t.Fatalf("csv export:\n%s", csvOut)
	}
	jsonFile := filepath.Join(dir, "export.json")
	mustRun(t, "", "--home", sender, "log", "export", "--format", "json", "--out", jsonFile)
	var recs []map[string]any
	logged := strings.Count(mustRun(t, "", "--home", sender, "log", "show", "--json").stdout, "\n")
	if b, _ := os.ReadFile(jsonFile); json.Unmarshal(b, &recs) != nil || len(recs) != logged || logged < 8 {
		t.Fatalf("json export: %d records, the log holds %d", len(recs), logged)
	}

	// One station's log on both sides would match nothing and pass.
	oneLineError(t, run(t, "", "--home", kiosk, "log", "reconcile", senderLog, senderLog), ExitUsage, "both logs are sender-1's")
	r := run(t, "", "--home", kiosk, "log", "reconcile", senderLog, filepath.Join(kiosk, "custody.log"))
	if r.code != ExitRejected || !strings.Contains(r.stdout, "sent and received") || !strings.Contains(r.stdout, "sent, never received") {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Tampering: delete the last two records and their checkpoints; the
	// auditor's saved checkpoint still catches it.
	b, _ := os.ReadFile(senderLog)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(senderLog, []byte(strings.Join(lines[:len(lines)-3], "")), 0o600)
	os.RemoveAll(senderLog + ".checkpoints")
	os.Remove(senderLog + ".state")
	oneLineError(t, run(t, "", "--home", nowhere, "log", "verify", senderLog, "--card", cardFile, "--checkpoint", saved), ExitRejected, "was truncated")

	// A first line blanked or edited is tampering with a custody log
	// (exit 1), not a file that is no log (exit 2); a file with no
	// record is the latter.
	b, _ = os.ReadFile(senderLog)
	for _, first := range []string{"\n", "{}\n", "garbage\n"} {
		edited := filepath.Join(dir, "edited.log")
		os.WriteFile(edited, append([]byte(first), b[bytes.IndexByte(b, '\n')+1:]...), 0o600)
		oneLineError(t, run(t, "", "--home", nowhere, "log", "verify", edited, "--card", cardFile), ExitRejected, "FAILED verification at line 1: line 1 was edited")
	}
	oneLineError(t, run(t, "", "--home", nowhere, "log", "verify", cardFile, "--card", cardFile), ExitUsage, "is not a Sluice custody log")
}

func TestCLIMediaAndWipe(t *testing.T) {
	dir := t.TempDir()
	if r := mustRun(t, "", "media", "check", dir, "--size", "4MiB"); !strings.HasPrefix(r.stdout, "OK: 4.0 MiB written and read back") {
		t.Fatalf("media check: %q", r.stdout)
	}
	oneLineError(t, run(t, "", "media", "check", filepath.Join(dir, "missing")), ExitUsage, "cannot write a test file")
	if r := mustRun(t, "", "media", "list", "--all"); !strings.Contains(r.stdout, "DEVICE") && !strings.Contains(r.stdout, "No removable drives") {
		t.Fatalf("media list: %q", r.stdout)
	}
	sender, kiosk := twoStations(t, dir)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	stick := filepath.Join(dir, "stick")
	os.Mkdir(stick, 0o755)
	b := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", stick, src).lastLine()
	r := mustRun(t, "", "--home", kiosk, "receive", "--wipe", "--out", filepath.Join(dir, "rel"), b)
	if !strings.Contains(r.stdout, "Wiped") {
		t.Fatalf("receive --wipe: %q", r.stdout)
	}
	if _, err := os.Stat(b); !os.IsNotExist(err) {
		t.Fatal("bundle still on the medium after --wipe")
	}
}

// sluice desktop sets what the Station screen sets, for a kiosk whose app
// no longer shows it.
func TestDesktopSettings(t *testing.T) {
	dir := t.TempDir()
	_, kiosk := twoStations(t, dir)
	rel := filepath.Join(dir, "released")
	os.Mkdir(rel, 0o755)
	mustRun(t, "", "--home", kiosk, "desktop", "release", "add", rel)
	mustRun(t, "", "--home", kiosk, "desktop", "kiosk", "on")
	show := mustRun(t, "", "--home", kiosk, "desktop", "show")
	if !strings.Contains(show.stdout, "kiosk mode       on") || !strings.Contains(show.stdout, rel) {
		t.Fatalf("desktop show:\n%s", show.stdout)
	}
	oneLineError(t, run(t, "", "--home", kiosk, "desktop", "release", "add", filepath.Join(dir, "missing")), ExitUsage, "release folder")
	oneLineError(t, run(t, "", "--home", kiosk, "desktop", "release", "remove", filepath.Join(dir, "other")), ExitUsage, "is not a release folder")
	mustRun(t, "", "--home", kiosk, "desktop", "release", "remove", rel)
	mustRun(t, "", "--home", kiosk, "desktop", "kiosk", "off")
	if show := mustRun(t, "", "--home", kiosk, "desktop", "show"); !strings.Contains(show.stdout, "kiosk mode       off") || !strings.Contains(show.stdout, "none") {
		t.Fatalf("desktop show after undoing:\n%s", show.stdout)
	}
}
