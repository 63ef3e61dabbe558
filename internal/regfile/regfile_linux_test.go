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

// A device node put in a staged file's place where the filesystem honours
// device nodes (the root's, or a drive mounted without nodev) must never
// be opened: opening one can have side effects (a watchdog arming, a tape
// rewinding). inotify sees every open of the node.
func TestDirReadSmallStagedNeverOpensDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a device node needs root")
	}
	dir := t.TempDir()
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
