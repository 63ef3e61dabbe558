//go:build !linux

package app

import (
	"errors"
	"os"
)

// sealedFile needs Linux's sealed memory files; packages are installed
// with dpkg, on Debian, only.
func sealedFile(name string) (*os.File, func() error, error) {
	return nil, nil, errors.New("installing a package needs Linux (dpkg)")
}
