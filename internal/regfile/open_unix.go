//go:build unix

package regfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// open opens without following a last-component link (ELOOP, reported as
// such) and with O_NONBLOCK, so a FIFO or a device cannot hang the call;
// the flag is cleared again once the file is known to be regular. The
// descriptor is not registered with the network poller: for regular files
// that costs system calls and buys nothing.
func open(path string) (*os.File, error) {
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
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		if err := unix.SetNonblock(fd, false); err != nil {
			unix.Close(fd)
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
	return os.NewFile(uintptr(fd), path), nil
}
