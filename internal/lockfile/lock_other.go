//go:build !unix

package lockfile

import (
	"errors"
	"fmt"
	"os"
)

func lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w (if no Sluice is running, delete %s)", ErrHeld, path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	return f, nil
}

func unlock(f *os.File) {
	name := f.Name()
	f.Close()
	os.Remove(name)
}
