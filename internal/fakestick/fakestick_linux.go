package fakestick

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// New returns the device node of a stick that claims claim bytes but keeps
// only keep (keep == claim: an honest stick); both are whole MiB. The
// device is taken apart when the test ends; the caller unmounts what it
// mounted on it first (its cleanups run before this one's). New skips the
// test, saying why, where no such device can be built.
func New(t testing.TB, claim, keep int64) string {
	t.Helper()
	if claim <= 0 || keep <= 0 || keep > claim || claim%(1<<20) != 0 || keep%(1<<20) != 0 {
		t.Fatalf("fakestick: claim %d and keep %d must be whole MiB, 0 < keep <= claim", claim, keep)
	}
	if os.Geteuid() != 0 {
		t.Skip("fakestick: needs root to build a block device")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("fakestick: needs losetup (util-linux; make test installs it through packaging/deps.sh)")
	}
	if dev, ok := viaDeviceMapper(t, claim, keep); ok {
		return dev
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("fakestick: needs device-mapper (dmsetup and a kernel with it) or /dev/fuse with loop devices; this machine has neither")
	}
	return viaFUSE(t, claim, keep)
}

func run(t testing.TB, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}

var serial atomic.Int64

// viaDeviceMapper builds the stick as a device-mapper table of linear
// segments, each mapping the next keep bytes of the claimed range onto
// the start of one loop device. It reports false when the kernel or
// dmsetup cannot.
func viaDeviceMapper(t testing.TB, claim, keep int64) (string, bool) {
	t.Helper()
	misc, _ := os.ReadFile("/proc/misc")
	if _, err := exec.LookPath("dmsetup"); err != nil || !bytes.Contains(misc, []byte("device-mapper")) {
		t.Log("fakestick: no device-mapper here (dmsetup, or the kernel's driver, is missing); using a FUSE-backed loop device")
		return "", false
	}
	img := filepath.Join(t.TempDir(), "kept.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, keep); err != nil {
		t.Fatal(err)
	}
	loop := attachLoop(t, img)
	var table strings.Builder
	for off := int64(0); off < claim; off += keep {
		fmt.Fprintf(&table, "%d %d linear %s 0\n", off/512, min(keep, claim-off)/512, loop)
	}
	name := fmt.Sprintf("sluice-fakestick-%d-%d", os.Getpid(), serial.Add(1))
	if _, err := run(t, table.String(), "dmsetup", "create", name); err != nil {
		t.Logf("fakestick: %v; using a FUSE-backed loop device", err)
		return "", false
	}
	t.Cleanup(func() {
		if _, err := run(t, "", "dmsetup", "remove", "--retry", name); err != nil {
			t.Errorf("fakestick: %v", err)
		}
	})
	blk, err := run(t, "", "dmsetup", "info", "-c", "--noheadings", "-o", "blkdevname", name)
	if err != nil {
		t.Fatalf("fakestick: %v", err)
	}
	return "/dev/" + blk, true
}

// attachLoop puts a loop device over file and detaches it when the test
// ends.
func attachLoop(t testing.TB, file string) string {
	t.Helper()
	dev, err := run(t, "", "losetup", "--find", "--show", file)
	if err != nil {
		t.Skipf("fakestick: no loop device: %v", err)
	}
	t.Cleanup(func() {
		if _, err := run(t, "", "losetup", "-d", dev); err != nil {
			t.Errorf("fakestick: %v", err)
		}
	})
	return dev
}

// viaFUSE builds the stick as a loop device over a FUSE filesystem that is
// one file of claim bytes, served from keep bytes of memory with every
// offset taken modulo keep. The file is opened for direct I/O, so nothing
// of it is cached above the loop device: what the loop device reads is
// what the "flash" holds.
func viaFUSE(t testing.TB, claim, keep int64) string {
	t.Helper()
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("fakestick: open /dev/fuse: %v", err)
	}
	point := filepath.Join(t.TempDir(), "stick.img")
	if err := os.WriteFile(point, nil, 0o600); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	opts := fmt.Sprintf("fd=%d,rootmode=100000,user_id=0,group_id=0,allow_other", fd)
	if err := unix.Mount("fakestick", point, "fuse.fakestick", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		unix.Close(fd)
		t.Skipf("fakestick: mount a FUSE file: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(fd, claim, make([]byte, keep))
	}()
	t.Cleanup(func() {
		if err := unix.Unmount(point, 0); err != nil {
			// Still in use (a loop device that would not detach):
			// leave the server running rather than hang; the test
			// process's exit ends it.
			t.Errorf("fakestick: unmount %s: %v", point, err)
			unix.Unmount(point, unix.MNT_DETACH)
			return
		}
		<-done
		unix.Close(fd)
	})
	return attachLoop(t, point)
}

// The parts of the FUSE protocol (linux/fuse.h) a one-file filesystem
// needs.
const (
	opGetattr     = 3
	opSetattr     = 4
	opForget      = 2
	opOpen        = 14
	opRead        = 15
	opWrite       = 16
	opStatfs      = 17
	opRelease     = 18
	opFsync       = 20
	opFlush       = 25
	opInit        = 26
	opInterrupt   = 36
	opDestroy     = 38
	opBatchForget = 42
	opFallocate   = 43

	inHeader  = 40
	outHeader = 16
	maxWrite  = 1 << 20

	fuseBigWrites = 1 << 5
	fuseMaxPages  = 1 << 22
	fopenDirectIO = 1 << 0
)

// serve answers the kernel's requests for the file until the filesystem
// is unmounted.
func serve(fd int, size int64, flash []byte) {
	le := binary.LittleEndian
	buf := make([]byte, maxWrite+64<<10)
	keep := int64(len(flash))
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR || err == unix.ENOENT { // ENOENT: an interrupted request
			continue
		}
		if err != nil || n < inHeader {
			return // ENODEV: unmounted
		}
		req := buf[:n]
		op, unique := le.Uint32(req[4:]), le.Uint64(req[8:])
		arg := req[inHeader:]
		var out []byte
		errno := unix.Errno(0)
		switch op {
		case opForget, opBatchForget, opInterrupt:
			continue // no reply
		case opInit:
			out = make([]byte, 64)
			le.PutUint32(out[0:], 7)  // major
			le.PutUint32(out[4:], 31) // minor
			le.PutUint32(out[8:], le.Uint32(arg[8:]))
			le.PutUint32(out[12:], le.Uint32(arg[12:])&(fuseBigWrites|fuseMaxPages))
			le.PutUint16(out[16:], 16)
			le.PutUint16(out[18:], 12)
			le.PutUint32(out[20:], maxWrite)
			le.PutUint32(out[24:], 1)
			le.PutUint16(out[28:], maxWrite/4096)
		case opGetattr, opSetattr:
			out = make([]byte, 104) // fuse_attr_out
			a := out[16:]
			le.PutUint64(a[0:], 1) // ino
			le.PutUint64(a[8:], uint64(size))
			le.PutUint64(a[16:], uint64(size/512))
			le.PutUint32(a[60:], unix.S_IFREG|0o600) // mode
			le.PutUint32(a[64:], 1)                  // nlink
			le.PutUint32(a[80:], 4096)               // blksize
		case opOpen:
			out = make([]byte, 16)
			le.PutUint64(out[0:], 1)
			le.PutUint32(out[8:], fopenDirectIO)
		case opRead:
			off, k := int64(le.Uint64(arg[8:])), int64(le.Uint32(arg[16:]))
			k = max(0, min(k, size-off))
			out = make([]byte, k)
			for i := int64(0); i < k; {
				p := (off + i) % keep
				i += int64(copy(out[i:], flash[p:]))
			}
		case opWrite:
			off, k := int64(le.Uint64(arg[8:])), int64(le.Uint32(arg[16:]))
			data := arg[40:][:k]
			if off+k > size {
				errno = unix.ENOSPC
				break
			}
			for i := int64(0); i < k; {
				p := (off + i) % keep
				i += int64(copy(flash[p:], data[i:]))
			}
			out = make([]byte, 8)
			le.PutUint32(out[0:], uint32(k))
		case opStatfs:
			out = make([]byte, 80)
		case opRelease, opFsync, opFlush, opFallocate, opDestroy:
			// Nothing to release or flush; discards are ignored, as
			// many sticks do.
		default:
			errno = unix.ENOSYS
		}
		hdr := make([]byte, outHeader, outHeader+len(out))
		le.PutUint32(hdr[0:], uint32(outHeader+len(out)))
		le.PutUint32(hdr[4:], uint32(-int32(errno)))
		le.PutUint64(hdr[8:], unique)
		if errno != 0 {
			out = nil
			le.PutUint32(hdr[0:], outHeader)
		}
		unix.Write(fd, append(hdr, out...))
		if op == opDestroy {
			return
		}
	}
}
