package fakestick

import (
	"os/exec"
	"testing"
)

// Format makes a fresh filesystem on dev and mounts it: exFAT with the
// exfat-fuse driver, or ext4 with the kernel's. It returns the mount point
// and a function that unmounts it; the test's end unmounts it too, if it
// is still mounted.
func Format(t testing.TB, dev, fs string) (string, func()) {
	t.Helper()
	mnt := t.TempDir()
	must := func(name string, args ...string) {
		t.Helper()
		if _, err := run(t, "", name, args...); err != nil {
			t.Fatal(err)
		}
	}
	switch fs {
	case "exfat":
		must("mkfs.exfat", dev)
		must("mount.exfat-fuse", dev, mnt)
	case "ext4":
		must("mkfs.ext4", "-q", "-F", "-E", "nodiscard", dev)
		must("mount", dev, mnt)
	default:
		t.Fatalf("fakestick: cannot format %s", fs)
	}
	mounted := true
	umount := func() {
		if mounted {
			mounted = false
			if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", mnt, err, out)
				exec.Command("umount", "-l", mnt).Run()
			}
		}
	}
	t.Cleanup(umount)
	return mnt, umount
}
