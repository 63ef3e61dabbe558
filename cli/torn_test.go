package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLogTornLastLine: after a power cut in the middle of an append, log
// verify exits 0 and says plainly that the last line is torn, that the
// records before it verify, and that sluice log recover repairs it; log
// recover does so and says what it did; show and export say why the line
// is missing; tampering before a torn line still exits 1.
func TestLogTornLastLine(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk, _ := sealedPair(t, dir)
	logPath := filepath.Join(sender, "custody.log")
	records := strings.Count(mustRun(t, "", "--home", sender, "log", "show", "--json").stdout, "\n")
	torn := `{"seq":42,"prev":"abc","ti`
	f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(torn)
	f.Close()

	r := mustRun(t, "", "--home", sender, "log", "verify")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "OK: custody log of sender-1 verified") || !strings.HasPrefix(lines[1], "WARNING: ") {
		t.Fatalf("verify of a torn log:\n%s", r.stdout)
	}
	for _, want := range []string{"is torn", "as is expected after one", "not tampering",
		"the " + itoa(records) + " records before it verify", "run sluice log recover on station sender-1"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("warning lacks %q: %s", want, lines[1])
		}
	}
	// An auditor with the card, and the kiosk trusting the sender, read it the same way.
	card := filepath.Join(dir, "sender.card")
	os.WriteFile(card, []byte(mustRun(t, "", "--home", sender, "id").stdout), 0o644)
	if r := mustRun(t, "", "--home", filepath.Join(dir, "nowhere"), "log", "verify", logPath, "--card", card); !strings.Contains(r.stdout, "WARNING: ") {
		t.Fatalf("auditor's verify: %s", r.stdout)
	}
	if r := mustRun(t, "", "--home", kiosk, "log", "verify", logPath); !strings.Contains(r.stdout, "is torn") {
		t.Fatalf("kiosk's verify: %s", r.stdout)
	}
	// show and export leave the torn line out and say why.
	if r := mustRun(t, "", "--home", sender, "log", "show"); !strings.Contains(r.stdout, "WARNING: the last line of") {
		t.Fatalf("show: %s", r.stdout)
	}
	if r := mustRun(t, "", "--home", sender, "log", "show", "--json"); strings.Contains(r.stdout, "WARNING") || !strings.Contains(r.stderr, "is torn") {
		t.Fatalf("show --json: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if r := mustRun(t, "", "--home", sender, "log", "export", "--format", "csv"); !strings.Contains(r.stderr, "is torn") {
		t.Fatalf("export: stderr %q", r.stderr)
	}

	r = mustRun(t, "", "--home", sender, "log", "recover")
	if !strings.Contains(r.stdout, "moved its torn last line ("+itoa(len(torn))+" bytes) to "+logPath+".torn-") ||
		!strings.Contains(r.stdout, "appended record "+itoa(records)+" (recovered)") {
		t.Fatalf("recover: %s", r.stdout)
	}
	if r := mustRun(t, "", "--home", sender, "log", "verify"); strings.Contains(r.stdout, "WARNING") {
		t.Fatalf("verify after recover: %s", r.stdout)
	}
	if r := mustRun(t, "", "--home", sender, "log", "recover"); !strings.Contains(r.stdout, "nothing to recover") {
		t.Fatalf("second recover: %s", r.stdout)
	}
	oneLineError(t, run(t, "", "--home", sender, "log", "recover", logPath), ExitUsage, "usage: sluice log recover")

	// Tampering before a torn line is still tampering.
	b, _ := os.ReadFile(logPath)
	ls := strings.SplitAfter(string(b), "\n")
	ls[1] = strings.Replace(ls[1], `"outcome":"ok"`, `"outcome":"no"`, 1)
	os.WriteFile(logPath, []byte(strings.Join(ls, "")+torn), 0o600)
	oneLineError(t, run(t, "", "--home", sender, "log", "verify"), ExitRejected, "line 2 was edited")
}

func itoa(n int) string { return strconv.Itoa(n) }
