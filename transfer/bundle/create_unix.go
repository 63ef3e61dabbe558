//go:build unix

package bundle

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

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

// writeSmall creates the file base in d holding data, with mode and (if
// not zero) date mtime, and closes it; dateErr says why the date was not
// kept. On the bare descriptor it costs openat (with mode), write,
// utimensat, fstat (checks the date was kept, and the mode) and close: no
// fcntl, which wrapping the descriptor in an *os.File costs, and no fchmod
// unless the file was not created with mode. A umask takes bits from the
// mode openat asks for, and so does a default ACL on the folder, whatever
// the umask: fstat says which happened. Without a folder descriptor it is
// writeSmallFile.
func writeSmall(d *qfolder, base string, data []byte, mode fs.FileMode, mtime time.Time) (dateErr, err error) {
	if d.fd == nil {
		return writeSmallFile(d, base, data, mode, mtime)
	}
	perm := uint32(mode.Perm())
	var fd int
	for {
		fd, err = unix.Openat(int(d.fd.Fd()), base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: base, Err: err}
	}
	defer func() {
		if cerr := unix.Close(fd); err == nil && cerr != nil {
			err = &os.PathError{Op: "close", Path: base, Err: cerr}
		}
	}()
	for len(data) > 0 {
		n, werr := unix.Write(fd, data)
		if werr == unix.EINTR {
			continue
		}
		if werr != nil {
			return nil, &os.PathError{Op: "write", Path: base, Err: werr}
		}
		if n == 0 {
			return nil, &os.PathError{Op: "write", Path: base, Err: io.ErrShortWrite}
		}
		data = data[n:]
	}
	if !mtime.IsZero() {
		if err := setTimeFd(fd, mtime); err != nil {
			dateErr = fmt.Errorf("its date %s could not be set: %v", mtime.UTC().Format(time.DateOnly), err)
		}
	}
	var st unix.Stat_t
	serr := unix.Fstat(fd, &st)
	if serr != nil || uint32(st.Mode)&0o7777 != perm {
		// A chmod leaves the date as it is (only the change time moves).
		if err := unix.Fchmod(fd, perm); err != nil {
			return nil, &os.PathError{Op: "chmod", Path: base, Err: err}
		}
	}
	switch {
	case mtime.IsZero() || dateErr != nil:
	case serr != nil:
		dateErr = &os.PathError{Op: "stat", Path: base, Err: serr}
	default:
		dateErr = dateKept(mtime, int64(st.Mtim.Sec))
	}
	return dateErr, nil
}
