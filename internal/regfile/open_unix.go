//go:build unix

package regfile

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// open looks before it opens: a device node is never opened (opening one
// can have side effects, a tape rewinding, a watchdog arming), nor a socket
// or FIFO. Then it opens without following a last-component link (ELOOP)
// and with O_NONBLOCK, so a file swapped for a FIFO in between cannot hang
// the call, and checks that what it opened is what it looked at. The
// O_NONBLOCK flag is cleared again for the regular file. The descriptor is
// not registered with the network poller: for regular files that costs
// system calls and buys nothing.
func open(path string) (*os.File, error) {
	var pre unix.Stat_t
	if err := unix.Lstat(path, &pre); err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if k := kindOfStat(uint32(pre.Mode)); k != "" {
		return nil, &NotRegularError{Path: path, Kind: k}
	}
	fd, st, err := openStat(path)
	if err != nil {
		return nil, err
	}
	if uint32(st.Mode)&unix.S_IFMT != unix.S_IFREG || st.Dev != pre.Dev || st.Ino != pre.Ino {
		unix.Close(fd)
		return nil, &NotRegularError{Path: path, Kind: "a file that changed while it was being opened"}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openStat opens path read-only without following a last-component link
// and without blocking, and fstats it.
func openStat(path string) (int, *unix.Stat_t, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
		// EMLINK is FreeBSD's answer to O_NOFOLLOW on a link.
		return -1, nil, &NotRegularError{Path: path, Kind: "a symbolic link"}
	}
	if err != nil {
		return -1, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return fd, &st, nil
}

// readSmall works on the bare descriptor: no *os.File (whose creation
// costs an fcntl) and no second fstat. Like open it looks first, so a FIFO
// or device that replaced a staged file is never opened, and checks that
// what it opened is what it looked at. O_NONBLOCK stays set, as it does
// nothing for a regular file on the filesystems Sluice reads; should a
// read ever answer EAGAIN, the flag is cleared and the read repeated.
func readSmall(path string, buf []byte, size int64) (int, int64, error) {
	return readSmallAt(unix.AT_FDCWD, path, path, buf, size, true)
}

// readSmallAt is readSmall of name relative to the folder open as dirfd
// (or the working folder for AT_FDCWD); path names the file in errors.
// With look it stats the name first and refuses what is not a regular
// file before opening it; without, it relies on the caller having looked
// (see Dir.ReadSmallStaged).
func readSmallAt(dirfd int, name, path string, buf []byte, size int64, look bool) (int, int64, error) {
	var pre unix.Stat_t
	if look {
		if err := unix.Fstatat(dirfd, name, &pre, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return 0, -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		if k := kindOfStat(uint32(pre.Mode)); k != "" {
			return 0, -1, &NotRegularError{Path: path, Kind: k}
		}
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
		return 0, -1, &NotRegularError{Path: path, Kind: "a symbolic link"}
	}
	if err != nil {
		// Not looked at first, a socket fails to open (ENXIO), and so
		// does a device on a filesystem mounted nodev (EACCES): look now,
		// to name what it is as a look first would have.
		if !look && unix.Fstatat(dirfd, name, &pre, unix.AT_SYMLINK_NOFOLLOW) == nil {
			if k := kindOfStat(uint32(pre.Mode)); k != "" {
				return 0, -1, &NotRegularError{Path: path, Kind: k}
			}
		}
		return 0, -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, -1, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if k := kindOfStat(uint32(st.Mode)); k != "" {
		return 0, -1, &NotRegularError{Path: path, Kind: k}
	}
	if look && (st.Dev != pre.Dev || st.Ino != pre.Ino) {
		return 0, -1, &NotRegularError{Path: path, Kind: "a file that changed while it was being opened"}
	}
	n, err := fill(fdReader{fd}, path, buf, size)
	return n, st.Size, err
}

// Dir is a folder held open so that the files in it are opened relative
// to it: the kernel then looks up one name per file instead of the whole
// path. Its files are checked as ReadSmall checks them.
type Dir struct {
	fd   int
	path string
	// noDevices: only root can have put a device node in the folder
	// (see noDevices and ReadSmallStaged).
	noDevices bool
}

// OpenDir opens the folder at path (a link as its last component is
// refused).
func OpenDir(path string) (*Dir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Dir{fd: fd, path: path, noDevices: noDevices(fd)}, nil
}

// ReadSmall is ReadSmall of the file called name in d.
func (d *Dir) ReadSmall(name string, buf []byte, size int64) (n int, sizeNow int64, err error) {
	return readSmallAt(d.fd, name, d.path+string(os.PathSeparator)+name, buf, size, true)
}

// ReadSmallStaged is ReadSmall of the file called name in d, for a file
// that staging has just looked at and found regular: it is opened without
// looking again, which spares a stat per file, and read only if what was
// opened is a regular file, else the error is a *NotRegularError.
// Opening never blocks and never takes a terminal (O_NONBLOCK, O_NOCTTY,
// O_NOFOLLOW), so a FIFO or a link put in the file's place since is
// refused without harm. A device node put there by anyone but root must
// never be opened (opening one can arm a watchdog or rewind a tape): the
// look is spared only on a filesystem mounted nodev (Sluice mounts drives
// so, as udisks2 does), where opening one fails, and on the system disk's,
// where only root can make one; elsewhere (a drive someone mounted by
// hand without nodev) the name is looked at first, as ReadSmall does.
func (d *Dir) ReadSmallStaged(name string, buf []byte, size int64) (n int, sizeNow int64, err error) {
	return readSmallAt(d.fd, name, d.path+string(os.PathSeparator)+name, buf, size, !d.noDevices)
}

// Close closes the folder.
func (d *Dir) Close() error { return unix.Close(d.fd) }

type fdReader struct{ fd int }

func (r fdReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(r.fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if err := unix.SetNonblock(r.fd, false); err != nil {
				return 0, err
			}
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// kindOfStat is KindOf for a raw st_mode.
func kindOfStat(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return ""
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a FIFO (named pipe)"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFDIR:
		return "a folder"
	}
	return "a special file"
}
