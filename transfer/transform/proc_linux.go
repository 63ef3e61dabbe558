package transform

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// isolate puts a child in its own process group, killed whole when its
// context ends, and has the kernel kill it if the thread that started it
// ends (see internal/pdfcheck).
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// growPipe makes a pipe 1 MiB rather than 64 KiB, so a 6.5 MB page moves
// in fewer wake-ups of the reader and the renderer.
func growPipe(w *os.File) {
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 1<<20)
}

// signalled says which signal ended a child, if one did.
func signalled(ee *exec.ExitError) (string, bool) {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", false
	}
	return ws.Signal().String(), true
}

// signalName is signal n's name as signalled gives it ("killed").
func signalName(n int) string { return syscall.Signal(n).String() }
