package cli

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sluice transform prints what it did per file, exits 1 when a file was
// not transformed, and leaves only the transformed files in --out.
func TestTransformCommand(t *testing.T) {
	dir := t.TempDir()
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))
	pic := filepath.Join(dir, "pic.png")
	os.WriteFile(pic, append(img.Bytes(), "PK\x03\x04 an appended archive"...), 0o600)
	exe := filepath.Join(dir, "setup.exe")
	os.WriteFile(exe, []byte("MZ\x90\x00"), 0o600)
	out := filepath.Join(dir, "out")
	r := run(t, "", "transform", pic, exe, "--out", out)
	if strings.Contains(r.stderr, "sandbox") {
		t.Skipf("the sandbox cannot run here: %s", r.stderr)
	}
	if r.code != ExitRejected {
		t.Fatalf("exit %d, want %d (one file not transformed): %s", r.code, ExitRejected, r.stderr)
	}
	for _, want := range []string{"pic.png: re-encode-image by sluice", "  original ", "  output   ", "setup.exe: not transformed: no transformation for .exe files"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "1 of 2 files not transformed") {
		t.Errorf("stderr: %s", r.stderr)
	}
	es, _ := os.ReadDir(out)
	if len(es) != 1 || es[0].Name() != "pic.png" {
		t.Errorf("out holds %v, want pic.png only", es)
	}
	b, _ := os.ReadFile(filepath.Join(out, "pic.png"))
	if bytes.Contains(b, []byte("PK\x03\x04")) {
		t.Errorf("the appended archive survived")
	}
	if r := run(t, "", "transform", pic); r.code != ExitUsage {
		t.Errorf("no --out: exit %d", r.code)
	}
}
