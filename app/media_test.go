//go:build linux

package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/media"
)

// needRoot skips, saying why, unless the test runs as root with the tools.
func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount filesystems (CI runs as root)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make test installs it through packaging/deps.sh)", tool)
		}
	}
	if _, err := os.Stat("/dev/fuse"); err != nil && strings.Contains(strings.Join(tools, " "), "fuse") {
		t.Skip("needs /dev/fuse")
	}
}

// writeRandom writes n incompressible bytes to path.
func writeRandom(t *testing.T, path string, n int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// mountTmpfs mounts a tmpfs with the given options ("2m", "8m,ro"): a
// drive whose free space is known exactly.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	mnt := t.TempDir()
	run(t, "mount", "-t", "tmpfs", "-o", "size="+opts, "tmpfs", mnt)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

// mountFAT32 makes a FAT32 image and mounts it read-write with fusefat.
func mountFAT32(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "stick.img"), filepath.Join(dir, "mnt")
	run(t, "truncate", "-s", size, img)
	run(t, "mkfs.vfat", "-F", "32", "-n", "TRANSFER", img)
	os.Mkdir(mnt, 0o755)
	run(t, "fusefat", "-o", "rw+", img, mnt)
	t.Cleanup(func() { exec.Command("fusermount", "-u", mnt).Run() })
	return mnt
}

// TestFAT32SplitsVolumesAndReadsBack packs onto a real FAT32 filesystem
// (fusefat) with the file-size limit lowered to 1 MiB, as CI cannot write
// 4 GiB through FUSE in reasonable time: the bundle is cut to fit, read
// back from the medium, recorded with the filesystem, and received.
func TestFAT32SplitsVolumesAndReadsBack(t *testing.T) {
	needRoot(t, "fusefat", "mkfs.vfat", "fusermount", "truncate")
	media.FATLimit = 1 << 20
	defer func() { media.FATLimit = media.FAT32MaxFile }()
	mnt := mountFAT32(t, "48M")
	sender, kiosk := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "plant data"})
	writeRandom(t, filepath.Join(src, "plant.bin"), 3<<20, 1)
	srcs, _ := StagePaths([]string{src})
	// The image is not a removable drive in sysfs, so ask for the read-back.
	sealed, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs, ReadBack: ReadBackAlways})
	if err != nil {
		t.Fatal(err)
	}
	vols := sealed.Envelope.Payload.Volumes
	if len(vols) < 3 {
		t.Fatalf("%d volumes on a FAT filesystem limited to 1 MiB per file", len(vols))
	}
	for _, v := range vols {
		if v.Size > 1<<20 {
			t.Fatalf("volume %s is %d bytes, over the limit", v.Name, v.Size)
		}
	}
	var written, verified *custody.Record
	custody.Each(sender.CustodyPath, func(_ []byte, r custody.Record) error {
		rr := r
		switch r.Event {
		case custody.EventWritten:
			written = &rr
		case custody.EventVerified:
			verified = &rr
		}
		return nil
	})
	if written == nil || written.Media == nil || written.Media.Filesystem != "fusefat" || verified == nil {
		t.Fatalf("custody: written %+v verified %+v", written, verified)
	}
	// fusefat does not name the device it reads, so its cache of the
	// device cannot be dropped: the record must not claim the medium.
	if !strings.Contains(verified.Reason, "read back through the page cache only") || !strings.Contains(verified.Reason, "the medium itself was not verified") {
		t.Fatalf("verified through fusefat: %q", verified.Reason)
	}
	out := t.TempDir()
	if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: out}); err != nil {
		t.Fatalf("receive from FAT32: %v", err)
	}

	// Corrupt the second volume on the medium: the kiosk names it.
	sealed2, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(sealed2.Dir, bundle.VolumeName(1))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var one [1]byte
	f.ReadAt(one[:], 100)
	one[0] ^= 0xff
	if _, err := f.WriteAt(one[:], 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed2.Dir, OutDir: t.TempDir()})
	var ve *bundle.VolumeError
	if !errors.As(err, &ve) || ve.Index != 1 {
		t.Fatalf("corrupt volume on FAT32: %v", err)
	}
}

// TestDriveTooSmallIsRefused packs onto a 2 MiB tmpfs: refused before
// writing, naming the free space, nothing left behind.
func TestDriveTooSmallIsRefused(t *testing.T) {
	needRoot(t, "mount", "umount")
	mnt := mountTmpfs(t, "2m")
	sender, _ := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "x"})
	os.WriteFile(filepath.Join(src, "big.bin"), make([]byte, 5<<20), 0o644)
	srcs, _ := StagePaths([]string{src})
	_, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs})
	if err == nil || !strings.Contains(err.Error(), "free but the bundle needs about") {
		t.Fatalf("pack onto a full drive: %v", err)
	}
	if ents, _ := os.ReadDir(mnt); len(ents) != 0 {
		t.Fatalf("refused pack left %d entries", len(ents))
	}
}

// TestReadOnlyDriveIsRefused remounts a tmpfs read-only.
func TestReadOnlyDriveIsRefused(t *testing.T) {
	needRoot(t, "mount", "umount")
	mnt := mountTmpfs(t, "8m,ro")
	sender, _ := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "x"})
	srcs, _ := StagePaths([]string{src})
	_, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("pack onto a read-only drive: %v", err)
	}
}

// TestDriveFullWhileWriting fills a small FAT32 image (fusefat reports no
// free space, so only the write can tell): a write-failed record names the
// drive and nothing that looks like a bundle is left on it.
func TestDriveFullWhileWriting(t *testing.T) {
	needRoot(t, "fusefat", "mkfs.vfat", "fusermount", "truncate")
	mnt := mountFAT32(t, "34M")
	sender, _ := pair(t, false)
	src := stage(t, map[string]string{"readme.txt": "x"})
	writeRandom(t, filepath.Join(src, "big.bin"), 40<<20, 2)
	srcs, _ := StagePaths([]string{src})
	_, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs})
	if !errors.Is(err, bundle.ErrWrite) || !strings.Contains(err.Error(), "writing to") {
		t.Fatalf("pack onto a full drive: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(mnt, "*.sluice", "envelope.json")); len(m) != 0 {
		t.Fatal("a complete-looking bundle was left on the full drive")
	}
	if r := lastEvent(t, sender); r.Event != custody.EventWriteFailed || r.Media == nil || r.Media.Filesystem != "fusefat" {
		t.Fatalf("custody: %+v", r)
	}
}

// mountLoop makes an image of the given filesystem on a loop device and
// mounts it: exfat with exfat-fuse, ext4 with the kernel.
func mountLoop(t *testing.T, fs string) string { return mountLoopSize(t, fs, "64M") }

// mountLoopSize is mountLoop with an image of the given size.
func mountLoopSize(t *testing.T, fs, size string) string {
	t.Helper()
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, fs+".img"), filepath.Join(dir, "mnt")
	run(t, "truncate", "-s", size, img)
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device available: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	os.Mkdir(mnt, 0o755)
	switch fs {
	case "exfat":
		run(t, "mkfs.exfat", dev)
		run(t, "mount.exfat-fuse", dev, mnt)
	case "ext4":
		run(t, "mkfs.ext4", "-q", dev)
		run(t, "mount", dev, mnt)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

// TestRoundTripOnLoopDevices packs onto exFAT (exfat-fuse) and ext4 on real
// loop devices and receives from them; the drive shows up in the listing
// of mounted devices with its filesystem.
func TestRoundTripOnLoopDevices(t *testing.T) {
	needRoot(t, "losetup", "truncate", "mkfs.exfat", "mount.exfat-fuse", "mkfs.ext4")
	for _, fs := range []string{"exfat", "ext4"} {
		t.Run(fs, func(t *testing.T) {
			mnt := mountLoop(t, fs)
			sender, kiosk := pair(t, false)
			src := stage(t, map[string]string{"a.txt": "alpha", "sub/b.txt": strings.Repeat("b", 1<<20)})
			srcs, _ := StagePaths([]string{src})
			sealed, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kiosk.Receive(context.Background(), ReceiveRequest{BundleDir: sealed.Dir, OutDir: t.TempDir()}); err != nil {
				t.Fatalf("receive from %s: %v", fs, err)
			}
			m, err := media.Host.MountOf(mnt)
			if err != nil || !strings.Contains(m.FSType, fs) {
				t.Fatalf("mount of %s: %+v %v", fs, m, err)
			}
			found := false
			drives, _ := media.Host.Drives(true)
			for _, d := range drives {
				for _, dm := range d.Mounts {
					found = found || dm.Point == m.Point
				}
			}
			if fs == "ext4" && !found {
				t.Fatalf("the loop device mounted at %s is not listed", mnt)
			}
		})
	}
}

// TestDriveRemovedWhileWriting yanks the drive in the middle of a pack: the
// FAT32 image's driver (fusefat, run in the foreground by the test) is
// killed, as the kernel loses a USB stick pulled out, and in a second run
// the filesystem is lazily unmounted, as a desktop might. Either way Pack
// fails naming the drive, the custody log says write-failed with the
// drive's filesystem, and the image, mounted again, holds nothing that
// looks like a complete bundle.
func TestDriveRemovedWhileWriting(t *testing.T) {
	needRoot(t, "fusefat", "mkfs.vfat", "fusermount", "truncate", "umount")
	for _, how := range []string{"killed", "lazy-unmount"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			img, mnt := filepath.Join(dir, "stick.img"), filepath.Join(dir, "mnt")
			run(t, "truncate", "-s", "160M", img)
			run(t, "mkfs.vfat", "-F", "32", "-n", "TRANSFER", img)
			os.Mkdir(mnt, 0o755)
			driver := exec.Command("fusefat", "-f", "-o", "rw+", img, mnt)
			if err := driver.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				driver.Process.Kill()
				driver.Wait()
				exec.Command("fusermount", "-uz", mnt).Run()
			})
			waitMounted(t, mnt)

			sender, _ := pair(t, false)
			src := stage(t, map[string]string{"readme.txt": "x"})
			writeRandom(t, filepath.Join(src, "big.bin"), 96<<20, 6)
			srcs, _ := StagePaths([]string{src})
			done := make(chan error, 1)
			go func() {
				_, err := sender.Pack(context.Background(), PackRequest{To: []string{"kiosk-1"}, OutDir: mnt, Sources: srcs, ReadBack: ReadBackAlways})
				done <- err
			}()
			// Pull the drive once a few MiB of the payload are on it.
			deadline := time.Now().Add(60 * time.Second)
			for {
				m, _ := filepath.Glob(filepath.Join(mnt, "*.sluice", "payload.age.0000"))
				if len(m) == 1 {
					if info, err := os.Stat(m[0]); err == nil && info.Size() > 4<<20 {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatal("the pack never started writing")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if how == "killed" {
				driver.Process.Kill()
			} else {
				run(t, "umount", "-l", mnt)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("pack did not stop after the drive went away")
			}
			t.Logf("pack with the drive %s: %v", how, err)
			if !errors.Is(err, bundle.ErrWrite) || !strings.Contains(err.Error(), "writing to") {
				t.Fatalf("pack with the drive pulled: %v", err)
			}
			if r := lastEvent(t, sender); r.Event != custody.EventWriteFailed || r.Media == nil || r.Media.Filesystem != "fusefat" {
				t.Fatalf("custody: %+v", r)
			}
			// Plug the stick back in: no complete-looking bundle on it.
			driver.Process.Kill()
			driver.Wait()
			exec.Command("fusermount", "-uz", mnt).Run()
			run(t, "fusefat", "-o", "ro", img, mnt)
			defer exec.Command("fusermount", "-u", mnt).Run()
			if m, _ := filepath.Glob(filepath.Join(mnt, "*.sluice", "envelope.json")); len(m) != 0 {
				t.Fatalf("a complete-looking bundle is on the drive after it was pulled: %v", m)
			}
		})
	}
}

// waitMounted waits until a filesystem is mounted at mnt.
func waitMounted(t *testing.T, mnt string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if m, err := media.Host.MountOf(mnt); err == nil && m.Point == mnt {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("nothing mounted at %s", mnt)
}

// TestEjectIsRecorded ejects a drive (a tmpfs: plain umount) and finds the
// ejected record with what was done.
func TestEjectIsRecorded(t *testing.T) {
	needRoot(t, "mount", "umount")
	mnt := mountTmpfs(t, "1m")
	sender, _ := pair(t, false)
	how, err := sender.Eject(mnt)
	if err != nil || how != "unmounted" {
		t.Fatalf("eject: %q %v", how, err)
	}
	if r := lastEvent(t, sender); r.Event != custody.EventEjected || r.Path != mnt || r.Reason != "unmounted" || r.Media == nil {
		t.Fatalf("custody: %+v", r)
	}
	if _, err := sender.Eject(mnt); err == nil {
		t.Fatal("ejecting what is no longer mounted succeeded")
	}
}
