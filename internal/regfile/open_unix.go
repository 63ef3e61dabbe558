//go:build unix

package regfile

import (
	"errors"
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
	if uint32(pre.Mode)&unix.S_IFMT != unix.S_IFREG {
		return nil, &NotRegularError{Path: path, Kind: kindOfMode(uint32(pre.Mode))}
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
		// EMLINK is FreeBSD's answer to O_NOFOLLOW on a link.
		return nil, &NotRegularError{Path: path, Kind: "a symbolic link"}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
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

func kindOfMode(m uint32) string {
	switch m & unix.S_IFMT {
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
