package scan

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/internal/clamtest"
)

// files writes the test set: what each must come back as, and the
// signature or reason it must name.
func files(t *testing.T) (dir string, want map[string][2]string) {
	dir = t.TempDir()
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, _ := zw.Create("inner/payload.txt")
	w.Write([]byte("text around " + clamtest.Pattern + " and after"))
	zw.Close()
	big := make([]byte, 5<<20) // over the test daemon's MaxFileSize and StreamMaxLength (4M)
	copy(big, "just zeros")
	write := map[string][]byte{
		"clean.txt":   []byte("nothing to see\n"),
		"eicar.com":   []byte(clamtest.EICAR),
		"pattern.bin": []byte("head " + clamtest.Pattern + " tail"),
		"nested.zip":  z.Bytes(),
		"locked.zip":  encryptedZip(),
		"big.bin":     big,
		"with: colon": []byte("a name with a colon and a space\n"),
	}
	want = map[string][2]string{
		"clean.txt":   {Clean, ""},
		"eicar.com":   {Infected, clamtest.EICARName},
		"pattern.bin": {Infected, clamtest.PatternName},
		"nested.zip":  {Infected, clamtest.PatternName},
		"locked.zip":  {NotScanned, "Heuristics.Encrypted"},
		"big.bin":     {NotScanned, ""},
		"with: colon": {Clean, ""},
	}
	for n, b := range write {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, want
}

func checkResult(t *testing.T, name string, r Result, want [2]string) {
	t.Helper()
	if r.Verdict != want[0] || !strings.Contains(r.Signature+r.Why, want[1]) {
		t.Errorf("%s: %s, want %s naming %q", name, r, want[0], want[1])
	}
	// What a policy may let pass is named by cause.
	cause := map[string]string{"locked.zip": CauseEncrypted, "big.bin": CauseOverLimit}[filepath.Base(name)]
	if r.Verdict == NotScanned && (r.Cause == "" || cause != "" && r.Cause != cause) {
		t.Errorf("%s: not scanned for cause %q, want %q", name, r.Cause, cause)
	}
}

// Three verdicts from a real clamd, by descriptor on its Unix socket and
// by stream over TCP: what it cannot scan (encrypted, over a limit) is
// not-scanned, never clean.
func TestClamd(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		d := clamtest.Start(t, tcp)
		c := &Clamd{Network: d.Network, Address: d.Address, Timeout: 30 * time.Second}
		if v, err := c.Check(context.Background(), t.TempDir()); err != nil || !strings.HasPrefix(v, "ClamAV ") {
			t.Fatalf("check (%s): %q %v", d.Network, v, err)
		}
		dir, want := files(t)
		for name, w := range want {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, d.Network+" "+name, c.Scan(context.Background(), f.Name(), f), w)
			f.Close()
		}
		// The daemon goes away mid-bundle: every later file is not-scanned.
		d.Stop()
		f, _ := os.Open(filepath.Join(dir, "clean.txt"))
		if r := c.Scan(context.Background(), f.Name(), f); r.Verdict != NotScanned || !strings.Contains(r.Why, "not answering") {
			t.Errorf("%s: clamd stopped: %s", d.Network, r)
		}
		f.Close()
	}
}

// A clamd that would pass what it cannot scan is refused before it scans
// anything.
func TestClamdMustAlert(t *testing.T) {
	d := clamtest.Start(t, false, "AlertEncryptedArchive no", "AlertEncrypted no")
	c := &Clamd{Network: d.Network, Address: d.Address}
	if _, err := c.Check(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "AlertEncryptedArchive") {
		t.Fatalf("check of a clamd that passes encrypted archives: %v", err)
	}
	c = &Clamd{Network: "unix", Address: filepath.Join(t.TempDir(), "none.sock")}
	if _, err := c.Version(context.Background()); err == nil || !strings.Contains(err.Error(), "not answering") {
		t.Fatalf("no clamd: %v", err)
	}
}

// clamscan, once over the whole set, gives the same verdicts.
func TestClamscan(t *testing.T) {
	prog := clamtest.Need(t, "clamscan")
	c := &Clamscan{Path: prog, Database: clamtest.Database(t), Timeout: 2 * time.Minute}
	if v, err := c.Version(context.Background()); err != nil || !strings.HasPrefix(v, "ClamAV ") {
		t.Fatalf("version: %q %v", v, err)
	}
	dir, want := files(t)
	var paths []string
	for n := range want {
		paths = append(paths, filepath.Join(dir, n))
	}
	rs, err := c.ScanAll(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	for n, w := range want {
		w := w
		if n == "big.bin" {
			w = [2]string{Clean, ""} // clamscan here runs with --max-filesize=2000M
		}
		checkResult(t, "clamscan "+n, rs[filepath.Join(dir, n)], w)
	}
}

// A site's own engine through the hook: its exit status maps to the
// verdicts; anything else, garbage or silence past the timeout, is
// not-scanned.
func TestCommandHook(t *testing.T) {
	f, _ := os.CreateTemp(t.TempDir(), "x")
	defer f.Close()
	for _, c := range []struct {
		script  string
		verdict string
		says    string
		cause   string
	}{
		{"exit 0", Clean, "", ""},
		{"echo Trojan.Test; exit 1", Infected, "Trojan.Test", ""},
		{"echo '\x1b[31mgarbage'; exit 7", NotScanned, "exit status 7", CauseEngineError},
		{"sleep 5", NotScanned, "no verdict within", CauseTimeout},
	} {
		h := &Command{Label: "hook", Args: []string{"sh", "-c", c.script, "sh", "{}"}, Clean: []int{0}, Infected: []int{1}, Timeout: 300 * time.Millisecond}
		r := h.Scan(context.Background(), f.Name(), f)
		if r.Verdict != c.verdict || !strings.Contains(r.Signature+r.Why, c.says) || r.Cause != c.cause {
			t.Errorf("%q: %s", c.script, r)
		}
	}
}

// clamd's answers, including the ones that look like verdicts but are not.
func TestClamVerdict(t *testing.T) {
	for reply, want := range map[string][2]string{
		"stream: OK":                         {Clean},
		"fd[10]: Win.Test.EICAR_HDB-1 FOUND": {Infected},
		"fd[10]: Heuristics.Limits.Exceeded.MaxFileSize FOUND": {NotScanned, CauseOverLimit},
		"fd[10]: Heuristics.Encrypted.Zip FOUND":               {NotScanned, CauseEncrypted},
		"stream: (null) FOUND":                                 {NotScanned, CauseEngineError},
		"INSTREAM size limit exceeded. ERROR":                  {NotScanned, CauseOverLimit},
		"fd[10]: Can't allocate memory ERROR":                  {NotScanned, CauseEngineError},
		"":                                                     {NotScanned, CauseEngineError},
		"OKAY then":                                            {NotScanned, CauseEngineError},
	} {
		if r := clamVerdict("clamd", reply); r.Verdict != want[0] || r.Cause != want[1] {
			t.Errorf("%q: %s (cause %q), want %s (cause %q)", reply, r, r.Cause, want[0], want[1])
		}
	}
}
