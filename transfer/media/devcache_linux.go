package media

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// DropDeviceCache makes the reads that follow, from the filesystem holding
// path, come from the drive rather than from memory where dropping a
// file's own cached pages (as Check and a bundle's read-back do) is not
// enough: a FUSE driver (exfat-fuse, ntfs-3g) reads the block device under
// it through the kernel's cache of that device, so a drive that lost what
// was written to it would still read back fine from that cache. The
// device is opened read-only, fsynced, and its cache dropped with
// BLKFLSBUF, which needs CAP_SYS_ADMIN; where that is refused,
// posix_fadvise(DONTNEED) on the device, which needs read access only. A
// FUSE driver over an image file gets the same with fadvise.
//
// Kernel filesystems need none of this: it returns nil. An error wrapping
// ErrCacheOnly says why the reads may still come from memory; any other
// error is the device failing its flush.
func DropDeviceCache(path string) error {
	m, err := Host.MountOf(path)
	if err != nil {
		return fmt.Errorf("%w: cannot tell which filesystem holds %s (%v)", ErrCacheOnly, path, err)
	}
	if !m.FUSE {
		return nil
	}
	return dropBacking(m)
}

// flushBuffers drops a block device's cache; tests replace it to take the
// unprivileged way.
var flushBuffers = blkflsbuf

func blkflsbuf(fd int) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKFLSBUF, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// dropBacking flushes and drops the cache of what the FUSE mount m reads:
// its source, when that is a block device or an image file.
func dropBacking(m Mount) error {
	info, err := os.Stat(m.Device)
	if err != nil || !info.Mode().IsRegular() && info.Mode().Type() != os.ModeDevice {
		return fmt.Errorf("%w: %s is served by a FUSE driver (%s) that does not say which device it reads (its source is %q), so that device's cache cannot be dropped; mount the drive with the kernel's driver to check it",
			ErrCacheOnly, m.Point, m.FSType, m.Device)
	}
	f, err := os.Open(m.Device)
	if err != nil {
		return fmt.Errorf("%w: %s (under the FUSE driver at %s) cannot be opened to drop its cache (%v); run as root or as a member of the disk group",
			ErrCacheOnly, m.Device, m.Point, errors.Unwrap(err))
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("flush %s (under %s): %v; the drive may be failing or was removed", m.Device, m.Point, errors.Unwrap(err))
	}
	fd := int(f.Fd())
	if info.Mode().Type() == os.ModeDevice {
		if err := flushBuffers(fd); err == nil {
			return nil
		} else if err != unix.EPERM && err != unix.EACCES {
			return fmt.Errorf("flush %s (under %s): %v; the drive may be failing or was removed", m.Device, m.Point, err)
		}
	}
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("%w: the cache of %s (under the FUSE driver at %s) cannot be dropped (%v); run as root",
			ErrCacheOnly, m.Device, m.Point, err)
	}
	return nil
}
