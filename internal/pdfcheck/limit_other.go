//go:build !linux

package pdfcheck

import "os/exec"

// limitMemory has no portable equivalent of RLIMIT_DATA here: the child
// still keeps a hostile PDF away from the station's own process, and the
// deadline still applies, but its memory is bounded only by Go's soft
// limit.
func limitMemory(n int64) error { return nil }

// dieWithParent has no equivalent here: a child ends at its deadline or
// when its input closes.
func dieWithParent(cmd *exec.Cmd) {}
