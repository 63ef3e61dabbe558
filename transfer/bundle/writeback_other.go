//go:build !linux

package bundle

import "os"

// startWriteback is a no-op where the kernel offers no way to start
// writeback early; the final fsync does all the work.
func startWriteback(f *os.File, off, n int64) {}
