package media

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startUdisks makes sure the system bus, udev and udisks2 run, starting
// whichever does not and stopping it again when the test ends: a CI
// container has none of them, a desktop has all three.
func startUdisks(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run udisks2 and loop devices (CI runs as root)")
	}
	for _, tool := range []string{"dbus-daemon", "/lib/systemd/systemd-udevd", "udevadm", "/usr/libexec/udisks2/udisksd", "losetup", "mkfs.ext4", "truncate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make test installs it through packaging/deps.sh)", tool)
		}
	}
	if _, err := os.Stat("/run/dbus/system_bus_socket"); err != nil {
		os.MkdirAll("/run/dbus", 0o755)
		if out, err := exec.Command("dbus-daemon", "--system", "--fork", "--print-pid").Output(); err != nil {
			t.Skipf("cannot start the system bus here: %v", err)
		} else {
			pid := strings.TrimSpace(string(out))
			t.Cleanup(func() {
				exec.Command("kill", pid).Run()
				os.Remove("/run/dbus/system_bus_socket")
				os.Remove("/run/dbus/pid")
			})
		}
	}
	if exec.Command("pgrep", "-x", "systemd-udevd").Run() != nil {
		if err := exec.Command("/lib/systemd/systemd-udevd", "--daemon").Run(); err != nil {
			t.Skipf("cannot start udev here: %v", err)
		}
		t.Cleanup(func() { exec.Command("pkill", "-x", "systemd-udevd").Run() })
	}
	if u, err := connectUdisks(); err == nil {
		u.close()
		return
	}
	d := exec.Command("/usr/libexec/udisks2/udisksd")
	if err := d.Start(); err != nil {
		t.Skipf("cannot start udisks2 here: %v", err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	for i := 0; i < 100; i++ {
		if u, err := connectUdisks(); err == nil {
			u.close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("udisks2 did not come up on the system bus")
}

// TestUdisksMountAndEject mounts an ext4 loop device through udisks2 and
// ejects it the same way, as on a desktop.
func TestUdisksMountAndEject(t *testing.T) {
	startUdisks(t)
	img := filepath.Join(t.TempDir(), "stick.img")
	if out, err := exec.Command("truncate", "-s", "32M", img).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-L", "SLUICETEST", img).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device available: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	// Have udev probe it now (a udev started by this test may have
	// missed the loop device's event) and wait for it.
	exec.Command("udevadm", "trigger", "--action=change", "--sysname-match="+filepath.Base(dev)).Run()
	exec.Command("udevadm", "settle", "-t", "10").Run()

	var point string
	for i := 0; i < 50; i++ { // udisks2 learns of the new device from udev
		if point, err = MountDevice(dev); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("mount through udisks2: %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", point).Run() })
	if !strings.Contains(point, "SLUICETEST") {
		t.Errorf("udisks2 mounted %s at %s, want a point named after its label", dev, point)
	}
	m, err := Host.MountOf(point)
	if err != nil || m.Device != dev || m.FSType != "ext4" {
		t.Fatalf("mount of %s: %+v %v", point, m, err)
	}
	how, err := Eject(point)
	if err != nil || !strings.Contains(how, "through udisks2") {
		t.Fatalf("eject: %q %v", how, err)
	}
	if m, err := Host.MountOf(point); err == nil && m.Point == point {
		t.Fatalf("%s is still mounted after eject", point)
	}
}

// TestEjectWithoutUdisks unmounts a tmpfs with umount(2) when udisks2 does
// not know it.
func TestEjectWithoutUdisks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount (CI runs as root)")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	how, err := Eject(mnt)
	if err != nil || how != "unmounted" {
		exec.Command("umount", mnt).Run()
		t.Fatalf("eject: %q %v", how, err)
	}
	if m, err := Host.MountOf(mnt); err == nil && m.Point == mnt {
		t.Fatal("still mounted")
	}
}

// TestMountDeviceWithoutUdisks mounts an ext4 loop device with mount(8),
// as a kiosk without udisks2 does: nodev, nosuid and noexec, so a device
// node on the stick cannot be opened.
func TestMountDeviceWithoutUdisks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a loop device needs root; CI runs this as root")
	}
	for _, tool := range []string{"mkfs.ext4", "losetup", "mount", "umount", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (e2fsprogs, mount)", tool)
		}
	}
	img := filepath.Join(t.TempDir(), "stick.img")
	if out, err := exec.Command("truncate", "-s", "16M", img).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", img).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// A character device (1,3: /dev/null) on the stick, made offline.
	if out, err := exec.Command("debugfs", "-w", "-R", "mknod null c 1 3", img).CombinedOutput(); err != nil {
		t.Fatalf("debugfs: %v: %s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device available: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	was := udisksConnect
	udisksConnect = func() (*udisks, error) { return nil, errNoUdisks }
	t.Cleanup(func() { udisksConnect = was })
	point, err := MountDevice(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("umount", point).Run(); os.Remove(point) })
	var st unix.Statfs_t
	if err := unix.Statfs(point, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_NODEV == 0 || st.Flags&unix.ST_NOSUID == 0 || st.Flags&unix.ST_NOEXEC == 0 {
		t.Errorf("%s mounted with flags %#x, want nodev, nosuid and noexec", point, st.Flags)
	}
	if f, err := os.Open(filepath.Join(point, "null")); err == nil {
		f.Close()
		t.Errorf("the device node on the stick opened")
	}
}
