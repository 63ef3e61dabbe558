package pdfcheck

import "golang.org/x/sys/unix"

// limitMemory caps this process's data segment, where Go's heap lives
// (private writable mappings count toward RLIMIT_DATA since Linux 4.7):
// past it, the runtime cannot grow the heap and the child dies with "out
// of memory", which the parent reports.
func limitMemory(n int64) error {
	return unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: uint64(n), Max: uint64(n)})
}
