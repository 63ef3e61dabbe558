package bundle

import (
	"os"
	"os/exec"
	"testing"
)

// A temporary folder that runs out of room while the manifest is being
// spooled leaves it in memory, what was spooled read back: the seal goes
// on with the same bytes.
func TestManifestSpoolFullTempFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	t.Setenv("TMPDIR", dir)
	m, plain := spoolEntries(t, 40000)
	if m.file != nil || !m.noFile || len(plain) < 2*manifestInMemory {
		t.Fatalf("a %d-byte manifest in a 5 MiB temporary folder: file %v, in memory %v", len(plain), m.file != nil, m.noFile)
	}
	checkSpool(t, m, plain)
}
