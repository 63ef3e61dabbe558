//go:build unix

package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// openSource opens a file to seal. os.Open registers every file with the
// network poller, which costs five system calls that fail for regular files;
// with tens of thousands of small files that is a tenth of the seal.
// O_NOFOLLOW: a path that became a symbolic link since staging is refused.
func openSource(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
