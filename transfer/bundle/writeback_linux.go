package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing [off, off+n) of f to the
// device now, without waiting. Sealing calls it behind the writer, so the
// medium is busy while the pipeline still encrypts, dirty pages do not pile
// up (a USB stick would otherwise take minutes to flush at eject), and the
// final fsync waits only for the tail.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
