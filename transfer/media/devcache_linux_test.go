package media

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sluice/internal/fakestick"
)

// needTools skips, saying why, unless the test runs as root with the
// tools.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to build and mount drives (CI runs as root)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make test installs it through packaging/deps.sh)", tool)
		}
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse for the FUSE drivers")
	}
}

func runCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// TestCheckCatchesFakeStickUnderFUSE checks a stick that claims 256 MiB
// but keeps 64 MiB (writes past that wrap around onto the start), formatted
// exFAT and mounted with exfat-fuse: the driver reads the device through
// the kernel's cache of it, so before DropDeviceCache the check passed
// from memory. It must fail every time, naming the block, with BLKFLSBUF
// and with the unprivileged fadvise alike; the same stick with ext4 fails
// too, and an honest stick passes.
func TestCheckCatchesFakeStickUnderFUSE(t *testing.T) {
	needTools(t, "mkfs.exfat", "mount.exfat-fuse", "mkfs.ext4", "mount", "umount")
	const claim, keep, size = 256 << 20, 64 << 20, 200 << 20
	dev := fakestick.New(t, claim, keep)
	for run := range 5 {
		unprivileged := run >= 3
		if unprivileged {
			flushBuffers = func(int) error { return unix.EPERM }
		}
		mnt, umount := fakestick.Format(t, dev, "exfat")
		start := time.Now()
		res, err := Check(context.Background(), mnt, size)
		flushBuffers = blkflsbuf
		t.Logf("run %d (BLKFLSBUF refused: %v) after %v: %v", run+1, unprivileged, time.Since(start).Round(time.Millisecond), err)
		if !errors.Is(err, ErrBadDrive) || !res.Fake || !strings.Contains(err.Error(), "block ") {
			t.Fatalf("run %d: a 64 MiB stick claiming 256 MiB under exfat-fuse passed a check of 200 MiB: %+v, %v", run+1, res, err)
		}
		if res.CacheOnly != "" {
			t.Fatalf("run %d: the device's cache was not dropped: %s", run+1, res.CacheOnly)
		}
		umount()
	}

	mnt, umount := fakestick.Format(t, dev, "ext4")
	if res, err := Check(context.Background(), mnt, size); err == nil {
		t.Fatalf("the fake stick with ext4 passed: %+v", res)
	} else {
		t.Logf("ext4: %v", err)
	}
	umount()

	honest := fakestick.New(t, claim, claim)
	mnt, _ = fakestick.Format(t, honest, "exfat")
	res, err := Check(context.Background(), mnt, size)
	if err != nil || res.Fake || res.CacheOnly != "" {
		t.Fatalf("an honest stick under exfat-fuse: %+v, %v", res, err)
	}
}

// TestCheckSaysWhenCacheOnly checks through fusefat, whose mount does not
// name the device it reads: the check still runs but says it may have read
// from memory.
func TestCheckSaysWhenCacheOnly(t *testing.T) {
	needTools(t, "fusefat", "mkfs.vfat", "fusermount", "truncate")
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "stick.img"), filepath.Join(dir, "mnt")
	runCmd(t, "truncate", "-s", "40M", img)
	runCmd(t, "mkfs.vfat", "-F", "32", img)
	os.Mkdir(mnt, 0o755)
	runCmd(t, "fusefat", "-o", "rw+", img, mnt)
	t.Cleanup(func() { exec.Command("fusermount", "-u", mnt).Run() })
	res, err := Check(context.Background(), mnt, 4<<20)
	if err != nil || !strings.Contains(res.CacheOnly, "fusefat") {
		t.Fatalf("check through fusefat: %+v, %v", res, err)
	}
	if err := DropDeviceCache(mnt); !errors.Is(err, ErrCacheOnly) || !strings.HasPrefix(err.Error(), "read back through the page cache only: ") {
		t.Fatalf("DropDeviceCache through fusefat: %v", err)
	}
}

func TestMountInfoMarksFUSE(t *testing.T) {
	for line, fuse := range map[string]bool{
		`42 27 7:0 / /media/stick rw,nosuid,nodev,relatime - fuseblk /dev/sdb1 rw,user_id=0,group_id=0,allow_other,blksize=4096`: true,
		`42 27 0:39 / /mnt/fat rw,nosuid,nodev,relatime - fuse.fusefat fusefat rw,user_id=0,group_id=0`:                          true,
		`101 27 8:17 / /media/officer/TRANSFER rw,nosuid,nodev,relatime shared:1 - vfat /dev/sdb1 rw,fmask=0022`:                 false,
	} {
		if m, _ := parseMountInfo(line); m.FUSE != fuse {
			t.Errorf("%s: FUSE %v", line, m.FUSE)
		}
	}
}
