//go:build unix

package app

import (
	"os/exec"
	"syscall"
)

// detach starts cmd in a session of its own: Ctrl-C on the terminal that
// ran sluice does not stop it.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
