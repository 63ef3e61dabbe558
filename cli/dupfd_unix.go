//go:build unix

package cli

import "golang.org/x/sys/unix"

// dupFD returns a new descriptor for the file fd names.
func dupFD(fd int) (int, error) { return unix.Dup(fd) }
