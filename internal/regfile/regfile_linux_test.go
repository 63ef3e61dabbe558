package regfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// ReadSmallStaged opens without looking first, yet what it refuses is
// named as ReadSmall names it: a socket put in a staged file's place is
// "a socket" (open(2) answers ENXIO for one), and a device node on a
// filesystem mounted nodev (where open(2) answers EACCES) is "a device".
func TestDirReadSmallStagedNames(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	names := []struct{ name, want string }{{"sock", "a socket"}}
	if os.Geteuid() == 0 {
		nodev := filepath.Join(dir, "nodev")
		os.Mkdir(nodev, 0o700)
		if err := syscall.Mount("tmpfs", nodev, "tmpfs", syscall.MS_NODEV, "size=1m"); err != nil {
			t.Logf("no tmpfs mounted nodev (%v): the device case is skipped", err)
		} else {
			defer syscall.Unmount(nodev, 0)
			if err := syscall.Mknod(filepath.Join(nodev, "zero"), syscall.S_IFCHR|0o666, 1<<8|5); err != nil {
				t.Fatal(err)
			}
			names = append(names, struct{ name, want string }{"nodev/zero", "a device"})
		}
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range names {
		_, staged, errStaged := d.ReadSmallStaged(c.name, make([]byte, 6), 5)
		_, _, errLook := d.ReadSmall(c.name, make([]byte, 6), 5)
		if !errors.As(errStaged, new(*NotRegularError)) || !strings.Contains(errStaged.Error(), c.want) || staged != -1 {
			t.Errorf("%s: ReadSmallStaged says %v (size %d); ReadSmall says %v", c.name, errStaged, staged, errLook)
		}
	}
}

// A device node put in a staged file's place on a filesystem that honours
// device nodes and is not the system disk's (a drive mounted by hand
// without nodev; here a tmpfs) must never be opened: opening one can have
// side effects (a watchdog arming, a tape rewinding). inotify sees every
// open of the node. (On the system disk only root can make one, and there
// ReadSmallStaged spares the look; see noDevices.)
func TestDirReadSmallStagedNeverOpensDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a device node and mounting need root; CI runs this as root")
	}
	dir := filepath.Join(t.TempDir(), "drive")
	os.Mkdir(dir, 0o700)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs that honours device nodes: %v", err)
	}
	defer syscall.Unmount(dir, 0)
	node := filepath.Join(dir, "f")
	if err := syscall.Mknod(node, syscall.S_IFCHR|0o666, 1<<8|5); err != nil { // /dev/zero's numbers
		t.Skipf("no device nodes here: %v", err)
	}
	in, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(in)
	if _, err := syscall.InotifyAddWatch(in, node, syscall.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		name string
		read func() error
	}{
		{"ReadSmall", func() error { _, _, err := d.ReadSmall("f", make([]byte, 6), 5); return err }},
		{"ReadSmallStaged", func() error { _, _, err := d.ReadSmallStaged("f", make([]byte, 6), 5); return err }},
	} {
		err := c.read()
		if !errors.As(err, new(*NotRegularError)) || !strings.Contains(err.Error(), "a device") {
			t.Errorf("%s: %v, want it named a device", c.name, err)
		}
		if n, _ := syscall.Read(in, make([]byte, 4096)); n > 0 {
			t.Errorf("%s opened the device node before refusing it", c.name)
		}
	}
}

// The look before opening is spared exactly where no one but root can put
// a device node: the system disk's filesystem and filesystems mounted
// nodev, not one that honours device nodes.
func TestNoDevices(t *testing.T) {
	d, err := OpenDir("/")
	if err != nil {
		t.Fatal(err)
	}
	if !d.noDevices {
		t.Error(`"/": the look is not spared on the system disk`)
	}
	d.Close()
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root; CI runs this as root")
	}
	for _, c := range []struct {
		flags uintptr
		want  bool
	}{{syscall.MS_NODEV, true}, {0, false}} {
		dir := filepath.Join(t.TempDir(), "fs")
		os.Mkdir(dir, 0o700)
		if err := syscall.Mount("tmpfs", dir, "tmpfs", c.flags, "size=1m"); err != nil {
			t.Skipf("cannot mount a tmpfs: %v", err)
		}
		d, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if d.noDevices != c.want {
			t.Errorf("tmpfs mounted with flags %#x: noDevices %v, want %v", c.flags, d.noDevices, c.want)
		}
		d.Close()
		syscall.Unmount(dir, 0)
	}
}
