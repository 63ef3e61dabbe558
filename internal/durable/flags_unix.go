//go:build unix

package durable

import "syscall"

// safeFlags keep a write from following a link planted at the name or
// blocking on a FIFO there (a FIFO with no reader fails at once, ENXIO).
const safeFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
