//go:build !linux

package transform

import (
	"fmt"
	"os"
	"os/exec"
)

// New refuses to run outside Linux; these only keep the package building
// for the other desktops.

func isolate(cmd *exec.Cmd) {}

func growPipe(w *os.File) {}

func signalled(ee *exec.ExitError) (string, bool) { return "", false }

// signalName is "signal N" where signals have no names here.
func signalName(n int) string { return fmt.Sprintf("signal %d", n) }
