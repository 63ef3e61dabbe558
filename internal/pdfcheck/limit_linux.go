package pdfcheck

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// limitMemory caps this process's data segment, where Go's heap lives
// (private writable mappings count toward RLIMIT_DATA since Linux 4.7):
// past it, the runtime cannot grow the heap and the child dies with "out
// of memory", which the parent reports.
func limitMemory(n int64) error {
	return unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: uint64(n), Max: uint64(n)})
}

// dieWithParent has the kernel kill the child when the thread that
// started it ends (the station killed, say), so a child stuck in a
// parser loop does not outlive it. Go rarely ends a thread of its own
// (golang/go#27505); if it did, the child would die early and its PDF be
// held as not-checked: never passed.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
