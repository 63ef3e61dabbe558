//go:build linux

package bundle

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"sluice/crypto"
)

// smallTmpfs mounts a tmpfs of size (mount's -o size=) on a new folder
// and returns it; the test is skipped, saying why, where that cannot be.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// A full disk under the originals is the receiving station's failure,
// not the bundle's: the error does not wrap ErrRejected, so the bundle is
// kept for another try, and it says where.
func TestOriginalsFullDisk(t *testing.T) {
	od := smallTmpfs(t, "64k")
	a := newStation(t, "alice")
	const id = "20260101T000000Z-0123456789abcdef"
	big := strings.Repeat("x", 300<<10)
	data := []tarEntry{dirEntry("docs"), fileEntry("docs/a.pdf", "%PDF pixels")}
	m := manifestFor(id, "alice", data)
	m.Entries[1].Transformed = &Transformed{From: "a.docx", SHA256: crypto.HashBytes([]byte(big)), Size: int64(len(big)), Action: "pdf-of-images", Tool: "soffice", Version: "7"}
	root, _ := os.OpenRoot(t.TempDir())
	defer root.Close()
	oroot, err := os.OpenRoot(od)
	if err != nil {
		t.Fatal(err)
	}
	defer oroot.Close()
	exp := Expect{BundleID: id, SenderName: "alice", SenderKey: a.card.SigningKey, Files: 1, Dirs: 1, ContentBytes: 11,
		Originals: oroot, OriginalFiles: 1, OriginalBytes: int64(len(big))}
	_, err = ExtractStream(context.Background(), bytes.NewReader(streamOf(t, append(data, originalEntry("docs/a.docx", big)), m, a)), root, exp)
	if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "originals: ") || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("a full disk under the originals: %v", err)
	}
}
