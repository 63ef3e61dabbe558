// Package lockfile takes exclusive locks between Sluice processes (the CLI,
// the desktop app, a second copy of either) on one station: the custody
// log's writer, and the receive of one bundle.
package lockfile

import (
	"errors"
	"os"
	"time"
)

// ErrHeld is returned by TryLock when another process holds the lock.
var ErrHeld = errors.New("held by another process")

// Lock is a held lock; Unlock releases it.
type Lock struct{ f *os.File }

// TryLock takes an exclusive lock on path without waiting (creating the
// file if needed). On Unix it is flock(2): the kernel drops it when the
// process dies, so a crash never leaves it held. Elsewhere the file is
// created exclusively and a crash leaves it behind (the error says so).
func TryLock(path string) (*Lock, error) {
	f, err := lock(path)
	if err != nil {
		return nil, err
	}
	return &Lock{f}, nil
}

// LockWithin is TryLock retried for up to d: for locks held only for a
// moment (an append to the custody log), where a second process should
// wait its turn rather than fail.
func LockWithin(path string, d time.Duration) (*Lock, error) {
	deadline := time.Now().Add(d)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		l, err := TryLock(path)
		if !errors.Is(err, ErrHeld) || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(wait)
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		unlock(l.f)
		l.f = nil
	}
}
