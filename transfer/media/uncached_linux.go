package media

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncToDevice flushes f to the device.
func syncToDevice(f *os.File) error { return f.Sync() }

// openUncached opens path for reading from the device rather than the page
// cache: its (clean, synced) cached pages are dropped first.
func openUncached(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	return f, nil
}
