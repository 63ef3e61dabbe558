//go:build linux

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIMediaCheckCacheOnly checks a FAT32 image through fusefat, whose
// mount does not name the device it reads: media check cannot reach the
// drive and must say so, not print OK.
func TestCLIMediaCheckCacheOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a FAT32 image with fusefat (CI runs as root)")
	}
	for _, tool := range []string{"fusefat", "mkfs.vfat", "fusermount", "truncate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make test installs it through packaging/deps.sh)", tool)
		}
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "stick.img"), filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	for _, c := range [][]string{{"truncate", "-s", "40M", img}, {"mkfs.vfat", "-F", "32", img}, {"fusefat", "-o", "rw+", img, mnt}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Skipf("%s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	t.Cleanup(func() { exec.Command("fusermount", "-u", mnt).Run() })
	r := run(t, "", "media", "check", mnt, "--size", "4MiB")
	oneLineError(t, r, ExitUsage, "would pass too: 4.0 MiB written and read back through the page cache only")
	if r.stdout != "" {
		t.Fatalf("media check printed %q", r.stdout)
	}
}
