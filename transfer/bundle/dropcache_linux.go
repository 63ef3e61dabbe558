package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropCache asks the kernel to forget f's cached pages, so the reads that
// follow come from the device, not from memory. f must have been fsynced
// (dirty pages are not dropped). Read-back after writing relies on it.
func dropCache(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
