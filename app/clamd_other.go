//go:build !unix

package app

import "os/exec"

func detach(cmd *exec.Cmd) {}
