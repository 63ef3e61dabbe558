//go:build unix

package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// openFolderFd opens the folder r is rooted at, for createIn.
func openFolderFd(r *os.Root) (*os.File, error) { return r.Open(".") }

// createIn creates the file base (one checked name, never "." or "..")
// in the folder d, for writing. It makes the openat os.Root makes
// (O_NOFOLLOW, and O_EXCL, so an existing name or link is refused), but
// wraps the descriptor with os.NewFile: os.Root.OpenFile tries to
// register a regular file with the poller, which costs four fcntls and
// a failed epoll_ctl per file.
func createIn(d *qfolder, base string) (*os.File, error) {
	if d.fd == nil {
		return d.root.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	for {
		fd, err := unix.Openat(int(d.fd.Fd()), base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "openat", Path: base, Err: err}
		}
		return os.NewFile(uintptr(fd), base), nil
	}
}
