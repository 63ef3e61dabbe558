//go:build !linux

package media

import (
	"context"
	"errors"
)

// ErrUnsupported: drive detection is implemented for Linux only so far.
var ErrUnsupported = errors.New("drive detection is not implemented on this system yet")

// System is where the kernel's views live (Linux only so far).
type System struct{}

// Host is the running system.
var Host = System{}

// Drives is not implemented here yet.
func (System) Drives(all bool) ([]Drive, error) { return nil, ErrUnsupported }

// Mounts is not implemented here yet.
func (System) Mounts() ([]Mount, error) { return nil, ErrUnsupported }

// MountOf is not implemented here yet.
func (System) MountOf(path string) (Mount, error) { return Mount{}, ErrUnsupported }

// SpaceOf is not implemented here yet.
func SpaceOf(path, fsType string) (Space, error) { return Space{}, ErrUnsupported }

// Eject is not implemented here yet.
func Eject(point string) (string, error) { return "", ErrUnsupported }

// MountDevice is not implemented here yet.
func MountDevice(dev string) (string, error) { return "", ErrUnsupported }

// CheckResult is what Check measured.
type CheckResult struct {
	Bytes                 int64
	WriteSpeed, ReadSpeed float64
	Fake                  bool
	BadBlock              int64
}

// Check is not implemented here yet.
func Check(ctx context.Context, point string, size int64) (CheckResult, error) {
	return CheckResult{}, ErrUnsupported
}
