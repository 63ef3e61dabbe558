package fakestick

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
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
			// A FUSE driver lets go of the device only when its daemon
			// exits, a moment after umount returns (longer on a busy
			// machine): wait until the device can be opened exclusively,
			// as the next mkfs will.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				f, err := os.OpenFile(dev, os.O_RDONLY|syscall.O_EXCL, 0)
				if err == nil {
					f.Close()
					break
				}
				if !errors.Is(err, syscall.EBUSY) {
					break
				}
			}
		}
	}
	t.Cleanup(umount)
	return mnt, umount
}
