//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice/app"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
)

// terminalSafe fails if out could move the cursor, clear a line or reorder
// text on the officer's terminal.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.IndexFunc(out, func(r rune) bool {
		return r == 0x1b || r == 0x9b || r == '\r' || r == 0x202e || r == 0x2066 || r == 0x200b || r == 0x2028 || r == 0x07
	}); i >= 0 {
		t.Errorf("%s carries a raw control character at byte %d: %q", what, i, out)
	}
}

const paint = "\x1b[1A\x1b[2Ksignature   valid\x1b[1B\r\u202eevil"

// Kind 2: untrusted bytes never reach the terminal raw, and the note of an
// envelope whose signature or trust failed is not shown as if true.
func TestInspectNeverPaintsTheTerminal(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk := twoStations(t, dir)
	src := filepath.Join(dir, "outbox")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha"), 0o644)
	os.Mkdir(filepath.Join(dir, "stick"), 0o755)
	os.Mkdir(filepath.Join(dir, "stick2"), 0o755)

	// A trusted sender's own note with escape sequences: shown, escaped.
	p := mustRun(t, "", "--home", sender, "pack", "--to", "kiosk-1", "--out", filepath.Join(dir, "stick"), "--note", paint, src)
	b := p.lastLine()
	in := mustRun(t, "", "--home", kiosk, "inspect", b)
	terminalSafe(t, "inspect", in.stdout)
	if !strings.Contains(in.stdout, `\x1b[1A\x1b[2Ksignature valid`) || !regexp.MustCompile(`(?m)^signature +valid$`).MatchString(in.stdout) {
		t.Errorf("inspect of a signed note:\n%s", in.stdout)
	}

	// The note edited on the stick (no key needed): INVALID stays visible,
	// the note is withheld.
	ep := filepath.Join(b, bundle.EnvelopeName)
	env, _ := os.ReadFile(ep)
	var m map[string]any
	json.Unmarshal(env, &m)
	m["note"] = "\x1b[2K\rsignature   valid\ntrust   trusted\nfor this station   yes"
	edited, _ := json.MarshalIndent(m, "", "  ")
	os.WriteFile(ep, edited, 0o644)
	for _, home := range []string{kiosk, filepath.Join(dir, "no-station")} {
		r := run(t, "", "--home", home, "inspect", b)
		terminalSafe(t, "inspect stdout", r.stdout)
		terminalSafe(t, "inspect stderr", r.stderr)
		if r.code != ExitRejected || !strings.Contains(r.stdout, "INVALID") || !strings.Contains(r.stdout, "not shown: the envelope's signature does not verify") ||
			strings.Contains(r.stdout, "trust   trusted") {
			t.Errorf("inspect of an edited note (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
		}
	}

	// A look-alike station: same name, its own key, a note painting over
	// "not trusted" and "not for this station".
	fake := filepath.Join(dir, "fake")
	mustRun(t, "", "--home", fake, "init", "--name", "sender-1")
	mustRun(t, mustRun(t, "", "--home", kiosk, "id").stdout, "--home", fake, "trust", "add", "-")
	f := mustRun(t, "", "--home", fake, "pack", "--to", "kiosk-1", "--out", filepath.Join(dir, "stick2"), "--note", "\x1b[3A\x1b[Jtrust  trusted", src)
	r := run(t, "", "--home", kiosk, "inspect", f.lastLine())
	terminalSafe(t, "look-alike inspect", r.stdout+r.stderr)
	if !strings.Contains(r.stdout, "FORGED") || !strings.Contains(r.stdout, "not shown") {
		t.Errorf("look-alike sender:\n%s%s", r.stdout, r.stderr)
	}
	oneLineError(t, r, ExitRejected, "not the one this station trusts")
}

// Kind 2: a folder name from a drive, printed by receive and kept in a
// record, is escaped both times: it cannot forge a line or paint the
// terminal.
func TestDriveNamesAreEscaped(t *testing.T) {
	dir := t.TempDir()
	_, kiosk := twoStations(t, dir)
	drive := filepath.Join(dir, "drive")
	bad := filepath.Join(drive, "evil\x1b[2K\u202ename.sluice")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, bundle.EnvelopeName), []byte("{}"), 0o644)
	r := run(t, "", "--home", kiosk, "receive", "--out", filepath.Join(dir, "out"), drive)
	terminalSafe(t, "receive", r.stdout+r.stderr)
	if r.code != ExitRejected || !strings.Contains(r.stdout, `evil\x1b[2K\u202ename.sluice`) {
		t.Errorf("receive of a drive of junk (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"log", "show"}, {"log", "show", "--event", "rejected"}} {
		r := mustRun(t, "", append([]string{"--home", kiosk}, args...)...)
		terminalSafe(t, "log show", r.stdout)
		if !strings.Contains(r.stdout, `not bundles from a trusted station: evil\x1b[2`) {
			t.Errorf("log show:\n%s", r.stdout)
		}
	}
}

// Kind 3: a FIFO given where a card, a checkpoint or a log is read fails
// at once with what it is.
func TestCLIFIFOsFailFast(t *testing.T) {
	dir := t.TempDir()
	_, kiosk := twoStations(t, dir)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--home", kiosk, "trust", "add", fifo},
		{"--home", kiosk, "log", "verify", "--checkpoint", fifo},
		{"--home", kiosk, "log", "verify", fifo},
		{"--home", kiosk, "log", "show", fifo},
		{"--home", kiosk, "inspect", dir + "/nope.sluice"},
	} {
		done := make(chan result, 1)
		go func() { done <- run(t, "", args...) }()
		select {
		case r := <-done:
			if r.code == ExitOK || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("sluice %s: exit %d, stderr %q", strings.Join(args[2:], " "), r.code, r.stderr)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("sluice %s blocked on a FIFO", strings.Join(args[2:], " "))
		}
	}
}

// Kind 9: an interrupted receive says what was interrupted and by what,
// on the terminal and in the custody log.
func TestInterruptedReceiveSaysBy(t *testing.T) {
	dir := t.TempDir()
	_, kiosk, b := sealedPair(t, dir)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&app.Interrupted{By: "SIGTERM (a request to stop from the system or another process)"})
	var out, errb bytes.Buffer
	code := Run(ctx, []string{"--home", kiosk, "receive", "--out", filepath.Join(dir, "released"), b}, strings.NewReader(""), &out, &errb)
	if code == ExitOK || !strings.Contains(errb.String(), "interrupted by SIGTERM") || strings.Contains(errb.String(), "cancelled by the officer") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	st, _ := app.Load(kiosk)
	var last custody.Record
	custody.Each(st.CustodyPath, func(_ []byte, r custody.Record) error { last = r; return nil })
	if last.Event != custody.EventRejected || !strings.Contains(last.Reason, "interrupted by SIGTERM") || last.Outcome != "cancelled" {
		t.Fatalf("record: %+v", last)
	}
}
