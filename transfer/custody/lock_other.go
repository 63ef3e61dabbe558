//go:build !unix

package custody

import (
	"errors"
	"fmt"
	"os"
)

// lockFile creates path exclusively; a crash leaves it behind, and the error
// says to remove it.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w (if no Sluice is running, delete %s)", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("custody log: lock: %w", err)
	}
	return f, nil
}

func unlockFile(f *os.File) {
	name := f.Name()
	f.Close()
	os.Remove(name)
}
