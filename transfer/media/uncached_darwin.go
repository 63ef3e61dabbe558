package media

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncToDevice flushes f through the drive's own cache too (F_FULLFSYNC):
// on macOS fsync alone leaves data in the drive's write cache.
func syncToDevice(f *os.File) error {
	if _, err := unix.FcntlInt(f.Fd(), unix.F_FULLFSYNC, 0); err != nil {
		return f.Sync()
	}
	return nil
}

// openUncached opens path with caching turned off (F_NOCACHE). macOS may
// still serve pages cached before; there is no unprivileged way to drop
// them, so this is best effort.
func openUncached(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	_, _ = unix.FcntlInt(f.Fd(), unix.F_NOCACHE, 1)
	return f, nil
}
