//go:build unix

package regfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every kind of file that is not a regular one is refused at once, with
// what it is; none blocks (a FIFO with no writer would block open(2)).
func TestOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	os.WriteFile(reg, []byte("hello"), 0o600)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(reg, link)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nothing"), dangling)
	fifoLink := filepath.Join(dir, "fifolink")
	os.Symlink(fifo, fifoLink)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cases := []struct{ path, want string }{
		{fifo, "a FIFO (named pipe)"},
		{fifoLink, "a symbolic link"},
		{link, "a symbolic link"},
		{dangling, "a symbolic link"},
		{sock, "a socket"},
		{dir, "a folder"},
		{"/dev/null", "a device"},
		{"/dev/zero", "a device"},
	}
	for _, c := range cases {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(c.path, 1<<20); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v, want an error naming %q", filepath.Base(c.path), err, c.want)
			}
			if !errors.As(err, new(*NotRegularError)) {
				t.Errorf("%s: %v is not a *NotRegularError", filepath.Base(c.path), err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ReadFile blocked", c.path)
		}
	}
	b, err := ReadFile(reg, 5)
	if err != nil || string(b) != "hello" {
		t.Fatalf("regular file: %q %v", b, err)
	}
	if _, err := ReadFile(reg, 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	// A regular file opened through Open reads normally (non-blocking mode
	// cleared).
	f, err := Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if info, _ := f.Stat(); info.Size() != 5 {
		t.Fatal("stat")
	}
	if _, err := Check(fifo); err == nil {
		t.Fatal("Check accepted a FIFO")
	}
}

// ReadSmall refuses what Open refuses, without blocking, and says how much
// it read and how large the file was when opened.
func TestReadSmall(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	os.WriteFile(reg, []byte("hello"), 0o600)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(reg, link)
	// A writer blocked opening the FIFO would be let through if ReadSmall
	// opened it: it must never get the chance.
	opened := make(chan struct{})
	go func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			close(opened)
			f.Close()
		}
	}()
	defer func() { os.Remove(fifo) }()
	for _, c := range []struct{ path, want string }{{fifo, "a FIFO (named pipe)"}, {link, "a symbolic link"}, {dir, "a folder"}, {"/dev/zero", "a device"}} {
		n, size, err := ReadSmall(c.path, make([]byte, 6), 5)
		if !errors.As(err, new(*NotRegularError)) || !strings.Contains(err.Error(), c.want) || n != 0 || size != -1 {
			t.Errorf("%s: got %d, %d, %v; want a *NotRegularError naming %q and size -1", filepath.Base(c.path), n, size, err, c.want)
		}
	}
	select {
	case <-opened:
		t.Error("ReadSmall opened the FIFO before refusing it")
	case <-time.After(200 * time.Millisecond):
	}
	if _, size, err := ReadSmall(filepath.Join(dir, "none"), make([]byte, 6), 5); err == nil || size != -1 {
		t.Errorf("missing file: %d %v", size, err)
	}
	for _, c := range []struct {
		buf, expect int
		n           int
	}{{6, 5, 5}, {5, 5, 5}, {3, 5, 3}, {6, 4, 5}, {100, 0, 5}} {
		buf := make([]byte, c.buf)
		n, size, err := ReadSmall(reg, buf, int64(c.expect))
		if err != nil || n != c.n || size != 5 || string(buf[:n]) != "hello"[:n] {
			t.Errorf("buf %d, expect %d: got %d %q, size %d, %v", c.buf, c.expect, n, buf[:n], size, err)
		}
	}
}

// A Dir reads its files as ReadSmall does: what is not a regular file is
// refused without being opened, and errors name the whole path.
func TestDirReadSmall(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "reg"), []byte("hello"), 0o600)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Symlink("reg", filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct{ name, want string }{{"fifo", "a FIFO (named pipe)"}, {"link", "a symbolic link"}, {"sub", "a folder"}} {
		n, size, err := d.ReadSmall(c.name, make([]byte, 6), 5)
		if !errors.As(err, new(*NotRegularError)) || !strings.Contains(err.Error(), c.want) ||
			!strings.Contains(err.Error(), filepath.Join(dir, c.name)) || n != 0 || size != -1 {
			t.Errorf("%s: got %d, %d, %v; want a *NotRegularError naming %s as %q", c.name, n, size, err, filepath.Join(dir, c.name), c.want)
		}
	}
	if _, size, err := d.ReadSmall("none", make([]byte, 6), 5); err == nil || size != -1 || !strings.Contains(err.Error(), filepath.Join(dir, "none")) {
		t.Errorf("missing file: %d %v", size, err)
	}
	buf := make([]byte, 6)
	if n, size, err := d.ReadSmall("reg", buf, 5); err != nil || n != 5 || size != 5 || string(buf[:n]) != "hello" {
		t.Errorf("regular file: %d %q %d %v", n, buf[:n], size, err)
	}
	dev, err := OpenDir("/dev")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if _, _, err := dev.ReadSmall("zero", buf, 5); err == nil || !strings.Contains(err.Error(), "a device") {
		t.Errorf("/dev/zero: %v", err)
	}
	if _, err := OpenDir(filepath.Join(dir, "link")); err == nil {
		t.Error("OpenDir followed a link")
	}
}
