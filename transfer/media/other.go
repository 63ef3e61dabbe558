//go:build !linux && !darwin && !windows

package media

import "errors"

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
