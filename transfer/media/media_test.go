//go:build linux

package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSystem builds a sysfs tree with a USB stick (partitioned, mounted),
// an internal disk and a loop device, plus mountinfo and udev data.
func fakeSystem(t *testing.T) System {
	t.Helper()
	root := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	devices := filepath.Join(root, "sys", "devices")
	mk := func(name, devpath string) {
		target := filepath.Join(devices, devpath, "block", name)
		os.MkdirAll(target, 0o755)
		os.MkdirAll(filepath.Join(root, "sys", "block"), 0o755)
		if err := os.Symlink(target, filepath.Join(root, "sys", "block", name)); err != nil {
			t.Fatal(err)
		}
	}
	mk("sdb", "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0")
	write("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/removable", "1\n")
	write("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/size", "15974400\n")
	write("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/dev", "8:16\n")
	write("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/device/vendor", "SanDisk \n")
	write("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/device/model", "Cruzer Blade    \n")
	write("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1/dev", "8:17\n")
	mk("sda", "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0")
	write("sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/removable", "0\n")
	write("sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/dev", "8:0\n")
	write("sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2/dev", "8:2\n")
	mk("loop0", "virtual")
	write("sys/devices/virtual/block/loop0/removable", "0\n")
	write("sys/devices/virtual/block/loop0/dev", "7:0\n")
	write("udev/b8:16", "E:ID_SERIAL_SHORT=4C530001230915116123\nE:ID_BUS=usb\n")
	write("udev/b8:17", "E:ID_FS_LABEL=TRANSFER\nE:ID_FS_UUID=1A2B-3C4D\nE:ID_FS_TYPE=vfat\n")
	write("mountinfo", `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:2 / / rw,relatime - ext4 /dev/sda2 rw
101 27 8:17 / /media/officer/TRANSFER\040STICK rw,nosuid,nodev,relatime shared:1 - vfat /dev/sdb1 rw,fmask=0022
102 27 7:0 / /mnt/image ro,relatime - ext4 /dev/loop0 ro
`)
	return System{Sys: filepath.Join(root, "sys"), MountInfo: filepath.Join(root, "mountinfo"), UdevData: filepath.Join(root, "udev")}
}

func TestDrivesFromSysfs(t *testing.T) {
	s := fakeSystem(t)
	ds, err := s.Drives(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("removable drives: %+v", ds)
	}
	d := ds[0]
	if d.Device != "/dev/sdb" || d.Vendor != "SanDisk" || d.Model != "Cruzer Blade" || d.Serial != "4C530001230915116123" ||
		d.Capacity != 15974400*512 || !d.Removable || d.Bus != "usb" {
		t.Fatalf("drive: %+v", d)
	}
	if len(d.Mounts) != 1 {
		t.Fatalf("mounts: %+v", d.Mounts)
	}
	m := d.Mounts[0]
	if m.Point != "/media/officer/TRANSFER STICK" || m.FSType != "vfat" || m.Label != "TRANSFER" || m.FSID != "1A2B-3C4D" || m.ReadOnly {
		t.Fatalf("mount: %+v", m)
	}
	all, _ := s.Drives(true)
	if len(all) != 3 { // the stick, the system disk (mounted at /), the loop device
		t.Fatalf("all drives with mounts: %d", len(all))
	}
	for _, d := range all {
		if d.Device == "/dev/loop0" && (d.Bus != "loop" || !d.Mounts[0].ReadOnly) {
			t.Fatalf("loop device: %+v", d)
		}
	}
}

func TestMountOfAndLimits(t *testing.T) {
	s := fakeSystem(t)
	m, err := s.MountOf("/media/officer/TRANSFER STICK/outgoing")
	if err != nil || m.Point != "/media/officer/TRANSFER STICK" || MaxFileSize(m.FSType) != FAT32MaxFile {
		t.Fatalf("MountOf: %+v %v", m, err)
	}
	if m, _ := s.MountOf("/home/officer"); m.Point != "/" || MaxFileSize(m.FSType) != 0 {
		t.Fatalf("MountOf /home: %+v", m)
	}
}

func TestHostMountsParse(t *testing.T) {
	if _, err := Host.Mounts(); err != nil {
		t.Fatal(err)
	}
	if _, err := Host.Drives(true); err != nil {
		t.Fatal(err)
	}
	if sp, err := SpaceOf(t.TempDir(), "ext4"); err != nil || sp.Free <= 0 || sp.MaxFile != 0 {
		t.Fatalf("space: %+v %v", sp, err)
	}
}

func TestCheckGoodDrive(t *testing.T) {
	res, err := Check(t.Context(), t.TempDir(), 8<<20)
	if err != nil || res.Fake || res.Bytes != 8<<20 || res.WriteSpeed <= 0 || res.ReadSpeed <= 0 {
		t.Fatalf("check: %+v %v", res, err)
	}
}

// TestBlocksAreDistinct is what lets Check catch a fake-capacity drive: a
// drive that wraps block 1,000 onto block 0 returns block 0's pattern, which
// differs from block 1,000's; and a stale block from an earlier run differs
// by its tag.
func TestBlocksAreDistinct(t *testing.T) {
	var tagA, tagB [16]byte
	tagA[0], tagB[0] = 1, 2
	a0, a1000, b0 := make([]byte, checkBlock), make([]byte, checkBlock), make([]byte, checkBlock)
	fillBlock(a0, tagA, 0)
	fillBlock(a1000, tagA, 1000)
	fillBlock(b0, tagB, 0)
	if string(a0) == string(a1000) || string(a0) == string(b0) {
		t.Fatal("check blocks are not distinct")
	}
}

func TestWatchSeesInsertAndRemove(t *testing.T) {
	s := fakeSystem(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	lists := make(chan []Drive, 10)
	go Watch(ctx, s, 20*time.Millisecond, func(ds []Drive) { lists <- ds })
	first := <-lists
	if len(first) != 1 {
		t.Fatalf("first list: %d drives", len(first))
	}
	// Plug in a second stick.
	target := filepath.Join(filepath.Dir(s.Sys), "sys", "devices", "usb3", "block", "sdc")
	os.MkdirAll(target, 0o755)
	os.WriteFile(filepath.Join(target, "removable"), []byte("1\n"), 0o644)
	os.Symlink(target, filepath.Join(s.Sys, "block", "sdc"))
	var second []Drive
	select {
	case second = <-lists:
	case <-time.After(5 * time.Second):
		t.Fatal("insertion not noticed")
	}
	in, out := Changes(first, second)
	if len(in) != 1 || in[0].Device != "/dev/sdc" || len(out) != 0 {
		t.Fatalf("changes: in %+v out %+v", in, out)
	}
	os.Remove(filepath.Join(s.Sys, "block", "sdc"))
	select {
	case third := <-lists:
		if _, out := Changes(second, third); len(out) != 1 {
			t.Fatalf("removal: %+v", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("removal not noticed")
	}
}

// TestProbeMatchesBlkid makes FAT32, exFAT and ext4 images with the stock
// tools and checks that probe reads the same filesystem id as blkid.
func TestProbeMatchesBlkid(t *testing.T) {
	for _, tool := range []string{"mkfs.vfat", "mkfs.exfat", "mkfs.ext4", "blkid", "truncate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make test installs it through packaging/deps.sh)", tool)
		}
	}
	for _, c := range []struct {
		fs, mkfs string
		args     []string
	}{
		{"vfat", "mkfs.vfat", []string{"-F", "32"}},
		{"exfat", "mkfs.exfat", nil},
		{"", "mkfs.ext4", []string{"-q", "-F"}},
	} {
		img := filepath.Join(t.TempDir(), "fs.img")
		if out, err := exec.Command("truncate", "-s", "40M", img).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if out, err := exec.Command(c.mkfs, append(c.args, img)...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", c.mkfs, err, out)
		}
		want, err := exec.Command("blkid", "-p", "-o", "value", "-s", "UUID", img).Output()
		if err != nil {
			t.Fatalf("blkid: %v", err)
		}
		f, _ := os.Open(img)
		b := make([]byte, 2048)
		f.ReadAt(b, 0)
		f.Close()
		fsType, fsid := probeBytes(b)
		if fsType != c.fs || fsid != strings.TrimSpace(string(want)) {
			t.Errorf("%s: probe = %q %q, blkid says id %q", c.mkfs, fsType, fsid, strings.TrimSpace(string(want)))
		}
	}
}
